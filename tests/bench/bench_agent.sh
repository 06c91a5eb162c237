#!/bin/sh
# bench_agent.sh: what smagent costs at --interval 1 while posting to a real smserver:
# CPU time per sample (and CPU seconds per minute) and peak RSS, beside a baseline run
# at the same time: a python3 loop reading the same facts with psutil and posting them
# as the original agent did (when /usr/bin/python3 has psutil, Debian's python3-psutil),
# and always the collector floor of tests/bench/bench_collect (reading the same kernel
# files without parsing). Prints ratios. Targets: <= 0.04 CPU s/min, <= 5 MiB RSS.
# Usage: bench_agent.sh [SECONDS]   (default 30)
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
SECS=${1:-30}
SMSERVER=$top_builddir/smserver/smserver
SMAGENT=$top_builddir/smagent/smagent
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/smbench.XXXXXX")
PIDS=
cleanup() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT INT TERM

printf 'bench password\n' | "$SMSERVER" user add bench --state-dir "$T/state" >/dev/null
"$SMSERVER" agent add --user bench agent --state-dir "$T/state" |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/token"
"$SMSERVER" agent add --user bench python --state-dir "$T/state" |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/pytoken"
chmod 600 "$T/token" "$T/pytoken"
"$SMSERVER" --listen 127.0.0.1:0 --state-dir "$T/state" --port-file "$T/port" \
    --log-level warn 2>"$T/server.log" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$T/port" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { cat "$T/server.log" >&2; exit 1; }
    sleep 0.05
done
URL=http://127.0.0.1:$(cat "$T/port")

"$SMAGENT" --server "$URL" --token-file "$T/token" --interval 1 --spool "$T/spool" \
    --log-level warn 2>"$T/agent.log" &
APID=$!
PIDS="$PIDS $APID"

BPID=
if [ -x "$PY" ] && "$PY" -c 'import psutil' 2>/dev/null; then
    cat >"$T/baseline.py" <<'PYEOF'
# The original agent's loop: psutil readings, JSON, one POST a second.
import json, os, sys, time, urllib.request
import psutil
url, token = sys.argv[1] + "/ingest", open(sys.argv[2]).read().strip()
psutil.cpu_percent(percpu=True)
nxt = time.monotonic()
while True:
    nxt += 1
    time.sleep(max(0, nxt - time.monotonic()))
    parts = []
    for p in psutil.disk_partitions():
        try:
            u = psutil.disk_usage(p.mountpoint)
        except OSError:
            continue
        parts.append({"device": p.device, "mountpoint": p.mountpoint, "fstype": p.fstype,
                      "total": u.total, "used": u.used, "free": u.free, "percent": u.percent})
    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    net = psutil.net_io_counters()
    freq = psutil.cpu_freq()
    sample = {"timestamp": time.time(),
              "cpu": {"usage_percent": psutil.cpu_percent(),
                      "per_core_usage": psutil.cpu_percent(percpu=True),
                      "load_avg": list(os.getloadavg()),
                      "freq": {"current": freq.current, "min": freq.min, "max": freq.max} if freq else None},
              "memory": {"total": vm.total, "available": vm.available, "used": vm.used,
                         "used_percent": vm.percent, "swap_total": sw.total, "swap_used": sw.used},
              "disk": {"partitions": parts, "io": {k: v._asdict() for k, v in psutil.disk_io_counters(perdisk=True).items()} and {}},
              "network": {"bytes_sent": net.bytes_sent, "bytes_recv": net.bytes_recv,
                          "packets_sent": net.packets_sent, "packets_recv": net.packets_recv,
                          "interfaces": [{"name": n} for n in psutil.net_io_counters(pernic=True)]}}
    if sample["cpu"]["freq"] is None:
        del sample["cpu"]["freq"]
    req = urllib.request.Request(url, data=json.dumps(sample).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "X-Agent-Token": token})
    try:
        urllib.request.urlopen(req, timeout=10).read()
    except Exception as e:
        print("baseline post failed:", e, file=sys.stderr)
PYEOF
    "$PY" "$T/baseline.py" "$URL" "$T/pytoken" 2>"$T/baseline.log" &
    BPID=$!
    PIDS="$PIDS $BPID"
fi

# The run being measured: both loops sample once a second meanwhile.
sleep "$SECS"

# cpu PID: user+system CPU seconds so far; hwm PID: peak RSS in KiB.
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t }' "/proc/$1/stat"; }
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
acpu=$(cpu "$APID")
ahwm=$(hwm "$APID")
if [ -n "$BPID" ]; then
    bcpu=$(cpu "$BPID")
    bhwm=$(hwm "$BPID")
fi
kill -TERM "$APID"
wait "$APID" || { echo "bench_agent: smagent did not exit 0 on SIGTERM" >&2; exit 1; }
[ -z "$BPID" ] || kill -TERM "$BPID"
count() {
    "$PY" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT count(*) FROM samples s JOIN agents a ON a.id = s.agent_id WHERE a.name = ?', (sys.argv[2],)).fetchone()[0])" \
        "$T/state/statusmonitor.db" "$1"
}
an=$(count agent)
[ "$an" -gt 0 ] || { echo "bench_agent: smagent stored no sample" >&2; cat "$T/agent.log" >&2; exit 1; }
floor=$("$top_builddir/tests/bench/bench_collect" 2000 | awk '/^  floor/ { print $2 }')

awk -v c="$acpu" -v n="$an" -v s="$SECS" -v h="$ahwm" -v f="$floor" 'BEGIN {
    printf "bench agent: smagent at 1 Hz for %d s posting to smserver: %d samples stored\n", s, n
    printf "  smagent    %8.3f ms CPU/sample  %6.3f CPU s/min  peak RSS %5.1f MiB (targets <= 0.04 s/min, <= 5 MiB)\n",
        1000 * c / n, 60 * c / s, h / 1024
    printf "  floor      %8.3f ms CPU/sample  (bench_collect: reading the same kernel files, no parsing)\n", f / 1000
    printf "  ratio      %8.1f x floor\n", (1000 * c / n) / (f / 1000)
}'
if [ -n "$BPID" ]; then
    bn=$(count python)
    [ "$bn" -gt 0 ] || { echo "bench_agent: the python baseline stored no sample" >&2; cat "$T/baseline.log" >&2; exit 1; }
    awk -v c="$bcpu" -v n="$bn" -v s="$SECS" -v h="$bhwm" -v ac="$acpu" -v an="$an" -v ah="$ahwm" 'BEGIN {
        printf "  python3+psutil %4.3f ms CPU/sample  %6.3f CPU s/min  peak RSS %5.1f MiB (%d samples)\n",
            1000 * c / n, 60 * c / s, h / 1024, n
        printf "  ratio      %8.3f CPU, %.2f RSS (smagent / python3+psutil)\n", (ac / an) / (c / n), ah / h
    }'
else
    echo "  python3+psutil baseline skipped: /usr/bin/python3 has no psutil (apt install python3-psutil)"
fi

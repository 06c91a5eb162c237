#!/bin/sh
# bench_agent.sh: what smagent costs at --interval 1 while posting to a real smserver:
# CPU time per sample (and CPU seconds per minute) and peak RSS, beside a baseline run
# at the same time: a python3 loop reading the same facts with psutil and posting them
# as the original agent did (when /usr/bin/python3 has psutil, Debian's python3-psutil),
# and always the collector floor of tests/bench/bench_collect (reading the same kernel
# files without parsing). Prints ratios. Targets: <= 0.04 CPU s/min, <= 5 MiB RSS.
# For information, then the same agent over https (libcurl loaded with dlopen) against
# tests/integration/fake_ingest.py with a private CA, when openssl is installed.
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

. "$(dirname "$0")/agent_lib.sh"
bench_server agent python

"$SMAGENT" --server "$URL" --token-file "$T/agent.token" --interval 1 --spool "$T/spool" \
    --log-level info 2>"$T/agent.log" &
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
    "$PY" "$T/baseline.py" "$URL" "$T/python.token" 2>"$T/baseline.log" &
    BPID=$!
    PIDS="$PIDS $BPID"
fi

# Steady state: start-up (libraries, TLS init, python imports) is left out by reading
# the CPU clocks after a warm-up; then both loops sample once a second for SECS.
sleep 5
a0=$(cpu "$APID")
[ -z "$BPID" ] || b0=$(cpu "$BPID")
sleep "$SECS"
a1=$(cpu "$APID")
[ -z "$BPID" ] || b1=$(cpu "$BPID")
acpu=$(awk -v a="$a0" -v b="$a1" 'BEGIN { print b - a }')
[ -z "$BPID" ] || bcpu=$(awk -v a="$b0" -v b="$b1" 'BEGIN { print b - a }')
ahwm=$(hwm "$APID")
# Memory of its own (heap, stack, data) apart from shared library pages.
apriv=$(awk '/^(Private_Dirty|Private_Clean):/ { s += $2 } END { print s }' "/proc/$APID/smaps_rollup")
[ -z "$BPID" ] || bhwm=$(hwm "$BPID")
kill -TERM "$APID"
wait "$APID" || { echo "bench_agent: smagent did not exit 0 on SIGTERM" >&2; exit 1; }
# smagent logs its own CPU time (getrusage) when it stops: the total with start-up.
atotal=$(sed -n 's/.*stopping after \([0-9]*\) samples.*; CPU \([0-9.]*\) s.*/\2 s for \1 samples/p' "$T/agent.log")
[ -z "$BPID" ] || kill -TERM "$BPID"
count() {
    "$PY" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT count(*) FROM samples s JOIN agents a ON a.id = s.agent_id WHERE a.name = ?', (sys.argv[2],)).fetchone()[0])" \
        "$T/state/statusmonitor.db" "$1"
}
an=$(count agent)
[ "$an" -gt 0 ] || { echo "bench_agent: smagent stored no sample" >&2; cat "$T/agent.log" >&2; exit 1; }
floor=$("$top_builddir/tests/bench/bench_collect" 2000 | awk '/^  floor/ { print $2 }')

awk -v c="$acpu" -v n="$SECS" -v s="$SECS" -v h="$ahwm" -v p="$apriv" -v f="$floor" -v tot="$atotal" 'BEGIN {
    printf "bench agent: smagent at 1 Hz posting to smserver, %d s measured after a 5 s warm-up\n", s
    printf "  smagent    %8.3f ms CPU/sample  %6.3f CPU s/min  peak RSS %5.1f MiB (targets <= 0.04 s/min, <= 5 MiB)\n",
        1000 * c / n, 60 * c / s, h / 1024
    printf "             private memory %.1f MiB (the rest of the RSS is shared library pages)\n", p / 1024
    printf "             whole run with start-up: CPU %s\n", tot
    printf "  floor      %8.3f ms CPU/sample  (bench_collect: reading the same kernel files, no parsing)\n", f / 1000
    printf "  ratio      %8.1f x floor\n", (1000 * c / n) / (f / 1000)
}'
if [ -n "$BPID" ]; then
    bn=$(count python)
    [ "$bn" -gt 0 ] || { echo "bench_agent: the python baseline stored no sample" >&2; cat "$T/baseline.log" >&2; exit 1; }
    awk -v c="$bcpu" -v n="$SECS" -v s="$SECS" -v h="$bhwm" -v ac="$acpu" -v an="$SECS" -v ah="$ahwm" -v bn="$bn" 'BEGIN {
        printf "  python3+psutil %4.3f ms CPU/sample  %6.3f CPU s/min  peak RSS %5.1f MiB (%d samples stored)\n",
            1000 * c / n, 60 * c / s, h / 1024, bn
        printf "  ratio      %8.3f CPU, %.2f RSS (smagent / python3+psutil)\n", (ac / an) / (c / n), ah / h
    }'
else
    echo "  python3+psutil baseline skipped: /usr/bin/python3 has no psutil (apt install python3-psutil)"
fi

# ---- https, for information: libcurl and its TLS library are loaded only for https.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
if command -v openssl >/dev/null 2>&1 && [ -x "$PY" ]; then
    . "$top_srcdir/tests/integration/tls_lib.sh"
    make_tls "$T"
    printf 'fake-token\n' >"$T/faketoken"
    chmod 600 "$T/faketoken"
    FAKE_TLS_CERT=$T/srv.pem FAKE_TLS_KEY=$T/srv.key "$PY" \
        "$top_srcdir/tests/integration/fake_ingest.py" ok "$T/tls.port" "$T/tls.req" &
    PIDS="$PIDS $!"
    i=0
    while [ ! -s "$T/tls.port" ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || { echo "bench_agent: no https responder" >&2; exit 1; }
        sleep 0.05
    done
    "$SMAGENT" --server "https://127.0.0.1:$(cat "$T/tls.port")" --ca-file "$T/ca.pem" \
        --token-file "$T/faketoken" --interval 1 --spool "$T/tlsspool" --log-level info \
        2>"$T/tlsagent.log" &
    SPID=$!
    PIDS="$PIDS $SPID"
    sleep 5
    s0=$(cpu "$SPID")
    sleep "$SECS"
    s1=$(cpu "$SPID")
    shwm=$(hwm "$SPID")
    kill -TERM "$SPID"
    wait "$SPID" || { echo "bench_agent: smagent (https) did not exit 0 on SIGTERM" >&2; exit 1; }
    sn=$(grep -c '"status": 200' "$T/tls.req" || true)
    [ "${sn:-0}" -gt 0 ] || { echo "bench_agent: nothing delivered over https" >&2; cat "$T/tlsagent.log" >&2; exit 1; }
    awk -v c0="$s0" -v c1="$s1" -v s="$SECS" -v h="$shwm" -v ah="$ahwm" -v ac="$acpu" -v n="$sn" 'BEGIN {
        printf "  https      %8.3f ms CPU/sample  %6.3f CPU s/min  peak RSS %5.1f MiB (%d posts; libcurl loaded)\n",
            1000 * (c1 - c0) / s, 60 * (c1 - c0) / s, h / 1024, n
        printf "  ratio      %8.2f CPU, %.2f RSS (http / https)\n", ac / (c1 - c0), ah / h
    }'
else
    echo "  https run skipped: openssl or /usr/bin/python3 is not installed"
fi

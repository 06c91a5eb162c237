#!/bin/sh
# bench_agent_depth.sh: what the host depth costs smagent at --interval 1, side by side
# in one run against one real smserver: an agent with processes = 10 and every other
# family on (the default), an agent with processes = 0 and every family off (the
# agent before issue 20), and htop refreshing at 1 s when it is installed. Prints CPU
# seconds per minute, peak RSS, and the bytes of the sample JSON each agent's server
# keeps (the latest sample). Usage: bench_agent_depth.sh [SECONDS]   (default 30)
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
SECS=${1:-30}
SMSERVER=$top_builddir/smserver/smserver
SMAGENT=$top_builddir/smagent/smagent
T=$(mktemp -d "${TMPDIR:-/tmp}/smbench.XXXXXX")
PIDS=
cleanup() {
    for p in $PIDS $HTOP; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
HTOP=
trap cleanup EXIT INT TERM

printf 'bench password\n' | "$SMSERVER" user add bench --state-dir "$T/state" >/dev/null
for a in on off; do
    "$SMSERVER" agent add --user bench "$a" --state-dir "$T/state" |
        sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/$a.token"
    chmod 600 "$T/$a.token"
done
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
printf 'processes = 10\n' >"$T/on.conf"
printf 'processes = 0\nsensors = no\npressure = no\ncgroups = no\ngpus = no\n' >"$T/off.conf"
for a in on off; do
    "$SMAGENT" --server "$URL" --token-file "$T/$a.token" --interval 1 --spool "$T/$a.spool" \
        -c "$T/$a.conf" --log-level info 2>"$T/$a.log" &
    eval "PID_$a=$!"
    PIDS="$PIDS $!"
done
HPID=
if command -v htop >/dev/null 2>&1 && command -v script >/dev/null 2>&1; then
    # A terminal that never types: stdin held open by a sleeping writer.
    sleep $((SECS + 30)) | TERM=xterm script -qfc "htop -d 10" /dev/null >/dev/null 2>&1 &
    HPID=$!
    PIDS="$PIDS $HPID"
fi
tck=$(getconf CLK_TCK)
cpu() {
    if [ -r "/proc/$1/sched" ] && grep -q sum_exec_runtime "/proc/$1/sched"; then
        awk '/^se.sum_exec_runtime/ { printf "%.6f\n", $3 / 1000 }' "/proc/$1/sched"
    else
        awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t }' "/proc/$1/stat"
    fi
}
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
sleep 5
on0=$(cpu "$PID_on")
off0=$(cpu "$PID_off")
HTOP=
[ -z "$HPID" ] || HTOP=$(pgrep -x -P "$HPID" htop | head -1) # ours, not another user's
[ -z "$HTOP" ] || h0=$(cpu "$HTOP")
sleep "$SECS"
on1=$(cpu "$PID_on")
off1=$(cpu "$PID_off")
[ -z "$HTOP" ] || h1=$(cpu "$HTOP")
nproc=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)
permin() { awk -v a="$1" -v b="$2" -v s="$SECS" 'BEGIN { printf "%.4f", (b - a) * 60 / s }'; }
con=$(permin "$on0" "$on1")
coff=$(permin "$off0" "$off1")
printf 'host: %s processes, %s s at 1 Hz\n' "$nproc" "$SECS"
printf 'smagent processes=10, all families: %s CPU s/min, peak RSS %s KiB\n' "$con" "$(hwm "$PID_on")"
printf 'smagent processes=0, no families:   %s CPU s/min, peak RSS %s KiB\n' "$coff" "$(hwm "$PID_off")"
awk -v a="$con" -v b="$coff" 'BEGIN { if (b > 0) printf "ratio on/off: %.2f\n", a / b }'
[ -z "$HTOP" ] || printf 'htop -d 10:                          %s CPU s/min\n' "$(permin "$h0" "$h1")"
kill -TERM "$PID_on" "$PID_off"
wait "$PID_on" "$PID_off" || true
if command -v python3 >/dev/null 2>&1; then
    python3 - "$T/state/statusmonitor.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for name, n, size in db.execute(
        "SELECT a.name, count(s.ts), length(l.sample) FROM agents a JOIN latest l ON l.agent_id = a.id"
        " LEFT JOIN samples s ON s.agent_id = a.id GROUP BY a.id ORDER BY a.name"):
    print("stored sample JSON (latest), agent %s: %d bytes; %d samples stored" % (name, size, n))
PY
fi

#!/bin/sh
# bench_agent_depth.sh: what the host depth costs smagent at --interval 1, side by side
# in one run against one real smserver, with about 200 processes on the host (sleeping
# children are started to get there): an agent with processes = 10 and every other
# family on (the default), an agent with processes = 0 and every family off (the
# agent before issue 20), and htop and btop refreshing at 1 s in a terminal that never
# types, when they are installed. Prints CPU seconds per minute, peak RSS, the ratios
# of the agent with processes to each of the others, and the bytes of the sample JSON
# each agent's server keeps (the latest sample). Target (issue 20): processes on, at
# most 0.08 CPU s/min and 5 MiB peak RSS. SMAGENT_BASE=PATH adds another smagent binary
# (a build of an earlier commit) with processes = 10, beside, for a before/after ratio.
# Usage: bench_agent_depth.sh [SECONDS]   (default 30)
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
SECS=${1:-30}
SMSERVER=$top_builddir/smserver/smserver
SMAGENT=$top_builddir/smagent/smagent
T=$(mktemp -d "${TMPDIR:-/tmp}/smbench.XXXXXX")
PIDS=
cleanup() {
    for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
. "$(dirname "$0")/agent_lib.sh"

BASE=${SMAGENT_BASE:-}
if [ -n "$BASE" ]; then bench_server on off base; else bench_server on off; fi
# About 200 processes, as in the issue's target.
n=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)
while [ "$n" -lt 200 ]; do
    sleep $((SECS + 60)) &
    PIDS="$PIDS $!"
    n=$((n + 1))
done
printf 'processes = 10\n' >"$T/on.conf"
printf 'processes = 0\nsensors = no\npressure = no\ncgroups = no\ngpus = no\n' >"$T/off.conf"
cp "$T/on.conf" "$T/base.conf"
PID_base=
for a in on off ${BASE:+base}; do
    bin=$SMAGENT
    [ "$a" != base ] || bin=$BASE
    "$bin" --server "$URL" --token-file "$T/$a.token" --interval 1 --spool "$T/$a.spool" \
        -c "$T/$a.conf" --log-level info 2>"$T/$a.log" &
    eval "PID_$a=$!"
    PIDS="$PIDS $!"
done
# A terminal that never types (stdin held open by a sleeping writer), and the viewer's
# own pid under it (ours, not another user's).
viewer() { # NAME COMMAND
    command -v "$1" >/dev/null 2>&1 && command -v script >/dev/null 2>&1 || return 0
    sleep $((SECS + 30)) | TERM=xterm LANG=C.UTF-8 XDG_CONFIG_HOME=$T/xdg HOME=$T \
        script -qfc "stty cols 160 rows 50; exec $2" /dev/null >/dev/null 2>&1 &
    PIDS="$PIDS $!"
    _w=$!
    _i=0
    while [ $_i -lt 50 ]; do
        _v=$(pgrep -x -P "$_w" "$1" | head -1 || true)
        [ -n "$_v" ] && break
        _v=$(for c in $(pgrep -P "$_w"); do pgrep -x -P "$c" "$1"; done | head -1 || true)
        [ -n "$_v" ] && break
        _i=$((_i + 1))
        sleep 0.1
    done
    [ -z "$_v" ] || { PIDS="$PIDS $_v"; eval "PID_$1=$_v"; }
}
PID_htop=
PID_btop=
viewer htop "htop -d 10"
mkdir -p "$T/xdg/btop"
printf 'update_ms = 1000\nshown_boxes = "cpu mem net proc"\n' >"$T/xdg/btop/btop.conf"
viewer btop "btop --utf-force"
sleep 5
on0=$(cpu "$PID_on")
off0=$(cpu "$PID_off")
[ -z "$PID_base" ] || base0=$(cpu "$PID_base")
[ -z "$PID_htop" ] || h0=$(cpu_all "$PID_htop")
[ -z "$PID_btop" ] || b0=$(cpu_all "$PID_btop")
sleep "$SECS"
on1=$(cpu "$PID_on")
off1=$(cpu "$PID_off")
[ -z "$PID_base" ] || base1=$(cpu "$PID_base")
[ -z "$PID_htop" ] || h1=$(cpu_all "$PID_htop")
[ -z "$PID_btop" ] || b1=$(cpu_all "$PID_btop")
nproc=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)
permin() { awk -v a="$1" -v b="$2" -v s="$SECS" 'BEGIN { printf "%.4f", (b - a) * 60 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
con=$(permin "$on0" "$on1")
coff=$(permin "$off0" "$off1")
hon=$(hwm "$PID_on")
printf 'bench agent depth: %s processes, %s s at 1 Hz after a 5 s warm-up\n' "$nproc" "$SECS"
printf '  smagent processes=10, all families %8s CPU s/min  peak RSS %5d KiB (target <= 0.08, <= 5120)\n' \
    "$con" "$hon"
printf '  smagent processes=0, no families   %8s CPU s/min  peak RSS %5d KiB\n' "$coff" "$(hwm "$PID_off")"
printf '  ratio on/off %s\n' "$(ratio "$con" "$coff")"
if [ -n "$PID_base" ]; then
    cbase=$(permin "$base0" "$base1")
    printf '  SMAGENT_BASE processes=10          %8s CPU s/min  peak RSS %5d KiB\n' "$cbase" \
        "$(hwm "$PID_base")"
    printf '  ratio on/base %s\n' "$(ratio "$con" "$cbase")"
fi
if [ -n "$PID_htop" ]; then
    ch=$(permin "$h0" "$h1")
    printf '  htop -d 10                         %8s CPU s/min  peak RSS %5d KiB\n' "$ch" "$(hwm "$PID_htop")"
    printf '  ratio on/htop %s\n' "$(ratio "$con" "$ch")"
else
    echo "  htop: not installed (or no script(1)), skipped"
fi
if [ -n "$PID_btop" ]; then
    cb=$(permin "$b0" "$b1")
    printf '  btop update_ms=1000                %8s CPU s/min  peak RSS %5d KiB\n' "$cb" "$(hwm "$PID_btop")"
    printf '  ratio on/btop %s\n' "$(ratio "$con" "$cb")"
else
    echo "  btop: not installed (or no script(1)), skipped"
fi
kill -TERM "$PID_on" "$PID_off" $PID_base
wait "$PID_on" "$PID_off" $PID_base || true
if command -v python3 >/dev/null 2>&1; then
    python3 - "$T/state/statusmonitor.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for name, n, size in db.execute(
        "SELECT a.name, count(s.ts), length(l.sample) FROM agents a JOIN latest l ON l.agent_id = a.id"
        " LEFT JOIN samples s ON s.agent_id = a.id GROUP BY a.id ORDER BY a.name"):
    print("  stored sample JSON (latest), agent %s: %d bytes; %d samples stored" % (name, size, n))
PY
fi

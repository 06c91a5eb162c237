#!/bin/sh
# bench_ingest.sh: durable ingest rate of a real smserver (8 keep-alive clients sending
# batches of 8-core samples), beside raw SQLite inserts of the same rows; prints both
# and the ratio. Target: >= 10000 samples/s. Then, in the same run, the same samples with
# 10 processes each (smagent's default host depth) against a second agent, with their
# rate beside today's and the bytes of sample JSON the server keeps for each. Last, a
# second server with process snapshots off (process_snapshots_max_mb = 0) runs the same
# two loads: the 10-process rate with snapshots on beside off, and the bytes per stored
# snapshot.
# Usage: bench_ingest.sh [SECONDS]
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
SECONDS_=${1:-5}
SMSERVER=$top_builddir/smserver/smserver
BENCH=$top_builddir/tests/bench/bench_ingest
T=$(mktemp -d "${TMPDIR:-/tmp}/smbench.XXXXXX")
PID=
cleanup() { [ -z "$PID" ] || kill -KILL "$PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT INT TERM

# setup STATE-DIR: a user and two agents (TOKEN, PTOKEN).
setup() {
    printf 'bench password\n' | "$SMSERVER" user add bench --state-dir "$1" >/dev/null
    TOKEN=$("$SMSERVER" agent add --user bench bench1 --state-dir "$1" |
        sed 's/.*"token":"\([^"]*\)".*/\1/')
    PTOKEN=$("$SMSERVER" agent add --user bench bench2 --state-dir "$1" |
        sed 's/.*"token":"\([^"]*\)".*/\1/')
}
# serve STATE-DIR [ARGS...]: start smserver on it (PID, port in $T/port).
serve() {
    rm -f "$T/port"
    _dir=$1
    shift
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$_dir" --port-file "$T/port" \
        --log-level warn "$@" 2>"$T/log" &
    PID=$!
    i=0
    while [ ! -s "$T/port" ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || { cat "$T/log" >&2; exit 1; }
        sleep 0.05
    done
}
setup "$T/state"
serve "$T/state"
"$BENCH" client "http://127.0.0.1:$(cat "$T/port")" "$TOKEN" 8 100 "$SECONDS_" | tee "$T/server"
BENCH_PROCS=1 "$BENCH" client "http://127.0.0.1:$(cat "$T/port")" "$PTOKEN" 8 100 "$SECONDS_" |
    tee "$T/procs"
kill -TERM "$PID"
wait "$PID" || true
PID=
"$BENCH" raw "$T/raw.db" "$T/state/statusmonitor.db" 100 "$SECONDS_" | tee "$T/raw"
s=$(sed -n 's/^server samples_per_s //p' "$T/server")
r=$(sed -n 's/^raw samples_per_s //p' "$T/raw")
awk -v s="$s" -v r="$r" 'BEGIN {
    printf "ingest: %d durable samples/s through smserver, %d raw SQLite: ratio %.2f (target >= 10000 samples/s)\n", s, r, s / r }'
p=$(sed -n 's/^server samples_per_s //p' "$T/procs")
awk -v s="$s" -v p="$p" 'BEGIN {
    printf "ingest with 10 processes per sample: %d samples/s beside %d without: ratio %.2f\n", p, s, p / s }'
if command -v python3 >/dev/null 2>&1; then
    python3 - "$T/state/statusmonitor.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for name, size in db.execute("SELECT a.name, length(l.sample) FROM agents a JOIN latest l"
                             " ON l.agent_id = a.id ORDER BY a.name"):
    print("latest sample JSON kept for %s: %d bytes" % (name, size))
n, total = db.execute("SELECT count(*), coalesce(sum(bytes), 0) FROM proc_snapshots").fetchone()
if n:
    print("process snapshots stored: %d, %.0f bytes each (10 processes)" % (n, total / n))
PY
fi

# Process snapshots on beside off: two fresh servers side by side, the 10-process load
# sent to each in turn, three rounds, in batches of 100 (a spool replay) and of 1 (an
# agent at its interval); the medians and their ratio.
kill_pair() { for p in $PID_ON $PID_OFF; do kill -KILL "$p" 2>/dev/null || true; done; }
trap 'kill_pair; cleanup' EXIT INT TERM
printf 'process_snapshots_max_mb = 0\n' >"$T/off.conf"
setup "$T/state_on"
TOK_ON=$PTOKEN
serve "$T/state_on"
PID_ON=$PID PORT_ON=$(cat "$T/port")
setup "$T/state_off"
TOK_OFF=$PTOKEN
serve "$T/state_off" --config "$T/off.conf"
PID_OFF=$PID PORT_OFF=$(cat "$T/port")
PID=
rate() { BENCH_PROCS=1 "$BENCH" client "http://127.0.0.1:$1" "$2" 8 "$3" "$SECONDS_" |
    sed -n 's/^server samples_per_s //p'; }
median() { sort -n | sed -n 2p; }
for batch in 100 1; do
    : >"$T/on.$batch"
    : >"$T/off.$batch"
    for round in 1 2 3; do
        rate "$PORT_ON" "$TOK_ON" "$batch" >>"$T/on.$batch"
        rate "$PORT_OFF" "$TOK_OFF" "$batch" >>"$T/off.$batch"
    done
    on=$(median <"$T/on.$batch")
    off=$(median <"$T/off.$batch")
    awk -v on="$on" -v off="$off" -v b="$batch" -v a="$(tr '\n' ' ' <"$T/on.$batch")" \
        -v o="$(tr '\n' ' ' <"$T/off.$batch")" 'BEGIN {
        printf "ingest, 10 processes, batches of %d: %d samples/s with process snapshots on, %d off (medians of [%s] and [%s]): ratio %.2f\n", b, on, off, a, o, on / off }'
done
kill -TERM "$PID_ON" "$PID_OFF"
wait "$PID_ON" || true
wait "$PID_OFF" || true
if command -v python3 >/dev/null 2>&1; then
    python3 - "$T/state_on/statusmonitor.db" "$T/state_off/statusmonitor.db" <<'PY'
import sqlite3, sys
for path, what in zip(sys.argv[1:], ("on", "off")):
    n, total = sqlite3.connect(path).execute(
        "SELECT count(*), coalesce(sum(bytes), 0) FROM proc_snapshots").fetchone()
    print("process snapshots %s: %d stored%s" % (what, n, ", %.0f bytes each (10 processes)" % (total / n) if n else ""))
PY
fi

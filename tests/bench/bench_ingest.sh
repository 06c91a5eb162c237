#!/bin/sh
# bench_ingest.sh: durable ingest rate of a real smserver (8 keep-alive clients sending
# batches of 8-core samples), beside raw SQLite inserts of the same rows; prints both
# and the ratio. Target: >= 10000 samples/s. Then, in the same run, the same samples with
# 10 processes each (smagent's default host depth) against a second agent, with their
# rate beside today's and the bytes of sample JSON the server keeps for each.
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

printf 'bench password\n' | "$SMSERVER" user add bench --state-dir "$T/state" >/dev/null
TOKEN=$("$SMSERVER" agent add --user bench bench1 --state-dir "$T/state" |
    sed 's/.*"token":"\([^"]*\)".*/\1/')
PTOKEN=$("$SMSERVER" agent add --user bench bench2 --state-dir "$T/state" |
    sed 's/.*"token":"\([^"]*\)".*/\1/')
"$SMSERVER" --listen 127.0.0.1:0 --state-dir "$T/state" --port-file "$T/port" \
    --log-level warn 2>"$T/log" &
PID=$!
i=0
while [ ! -s "$T/port" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { cat "$T/log" >&2; exit 1; }
    sleep 0.05
done
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
PY
fi

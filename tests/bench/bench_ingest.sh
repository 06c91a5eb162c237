#!/bin/sh
# bench_ingest.sh: durable ingest rate of a real smserver (8 keep-alive clients sending
# batches of 8-core samples), beside raw SQLite inserts of the same rows; prints both
# and the ratio. Target: >= 10000 samples/s. Usage: bench_ingest.sh [SECONDS]
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
kill -TERM "$PID"
wait "$PID" || true
PID=
"$BENCH" raw "$T/raw.db" "$T/state/statusmonitor.db" 100 "$SECONDS_" | tee "$T/raw"
s=$(sed -n 's/^server samples_per_s //p' "$T/server")
r=$(sed -n 's/^raw samples_per_s //p' "$T/raw")
awk -v s="$s" -v r="$r" 'BEGIN {
    printf "ingest: %d durable samples/s through smserver, %d raw SQLite: ratio %.2f (target >= 10000 samples/s)\n", s, r, s / r }'

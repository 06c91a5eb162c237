#!/bin/sh
# bench_ingest_pg.sh: durable ingest rate of a real smserver on PostgreSQL (a private
# cluster, tests/integration/pg_lib.sh, fsync on) beside the same smserver on SQLite, in
# one run: 8 keep-alive clients sending batches of 8-core samples (bench_ingest client)
# to each in turn; prints both rates and their ratio (goal: PostgreSQL >= 0.5 of
# SQLite), and the bytes each backend uses per stored point.
# With BENCH_PG_BASELINE=PATH (another build's smserver), that build runs on PostgreSQL
# too, alternating with this one (old, new, old, new: each on a database of its own in
# the same cluster), and the rates are printed side by side as a ratio.
# Usage: bench_ingest_pg.sh [SECONDS]
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg_lib.sh"
SECONDS_=${1:-5}
BENCH=$top_builddir/tests/bench/bench_ingest
SM_STORE_PG_TEST=1
export SM_STORE_PG_TEST
PID=
_kill() { [ -z "$PID" ] || kill -KILL "$PID" 2>/dev/null || true; }
at_exit _kill
# No PostgreSQL server installed: nothing to compare, and not a failure of `make bench`.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || {
    echo "ingest on PostgreSQL: skipped (no PostgreSQL server: apt-get install postgresql)"
    exit 0
}
pg_start

# run NAME DB [SMSERVER]: a user, an agent and a server on DB; the client's rate in
# $T/NAME.
run() {
    bin=${3:-$SMSERVER}
    printf 'bench password\n' | "$bin" user add bench --db "$2" >/dev/null
    token=$("$bin" agent add --user bench "bench-$1" --db "$2" |
        sed 's/.*"token":"\([^"]*\)".*/\1/')
    rm -f "$T/port"
    mkdir -p "$T/state-$1"
    "$bin" --listen 127.0.0.1:0 --state-dir "$T/state-$1" --db "$2" --port-file "$T/port" \
        --log-level warn 2>"$T/log-$1" &
    PID=$!
    i=0
    while [ ! -s "$T/port" ]; do
        i=$((i + 1))
        [ $i -lt 400 ] || { cat "$T/log-$1" >&2; exit 1; }
        sleep 0.05
    done
    "$BENCH" client "http://127.0.0.1:$(cat "$T/port")" "$token" 8 100 "$SECONDS_" >"$T/rate-$1" ||
        { grep -v 'not implemented' "$T/rate-$1" "$T/log-$1" | tail -5 >&2; }
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
    sed -n "s/^server clients/$1: clients/p" "$T/rate-$1" >&2
    sed -n 's/^server samples_per_s //p' "$T/rate-$1"
}
mkdir -p "$T/state-sqlite"
sq=$(run sqlite "$T/state-sqlite/statusmonitor.db")
pgr=$(run pg "$PG_CONNINFO")
awk -v p="$pgr" -v s="$sq" 'BEGIN {
    printf "ingest on PostgreSQL: %d durable samples/s, on SQLite %d in the same run: ratio %.2f (goal >= 0.50)\n", p, s, p / s }'
if [ -n "${BENCH_PG_BASELINE:-}" ]; then
    # Databases of their own, so that neither run finds the other's samples.
    for k in 1 2; do
        for b in old new; do
            "$PG_BIN/createdb" -h "$PG_SOCK" -U smtest "sm_$b$k"
        done
    done
    o1=$(run old1 "host=$PG_SOCK port=5432 user=smtest dbname=sm_old1" "$BENCH_PG_BASELINE")
    n1=$(run new1 "host=$PG_SOCK port=5432 user=smtest dbname=sm_new1")
    o2=$(run old2 "host=$PG_SOCK port=5432 user=smtest dbname=sm_old2" "$BENCH_PG_BASELINE")
    n2=$(run new2 "host=$PG_SOCK port=5432 user=smtest dbname=sm_new2")
    awk -v o1="$o1" -v o2="$o2" -v n1="$n1" -v n2="$n2" 'BEGIN {
        printf "ingest on PostgreSQL, this build %d and %d samples/s, baseline build %d and %d, alternating: ratio %.2f\n", n1, n2, o1, o2, (n1 + n2) / (o1 + o2) }'
fi

# Bytes per point: PostgreSQL's samples partitions (heap, TOAST, indexes) over its
# points; SQLite's file over its points.
pgb=$(psql -XAtq -c "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits
    WHERE inhparent = 'samples'::regclass")
pgn=$(psql -XAtq -c "SELECT sum(cardinality(sids)) FROM samples")
sqb=$(stat -c %s "$T/state-sqlite/statusmonitor.db")
sqn=$(python3 "$top_srcdir/tests/integration/smdb.py" "$T/state-sqlite/statusmonitor.db" \
    "SELECT count(*) FROM raw_points" 2>/dev/null || echo 0)
awk -v pb="$pgb" -v pn="$pgn" -v sb="$sqb" -v sn="$sqn" 'BEGIN {
    if (pn > 0 && sn > 0)
        printf "bytes per point: PostgreSQL %.1f (%d points), SQLite %.1f (%d points): ratio %.2f\n", pb / pn, pn, sb / sn, sn, (pb / pn) / (sb / sn) }'

#!/bin/sh
# bench_ingest_pg.sh: durable ingest rate of real smservers on PostgreSQL (a private
# cluster, tests/integration/pg_lib.sh, fsync on) beside the same smserver on SQLite, in
# one run: 8 keep-alive clients, each the agent of its own of 8 agents, sending batches
# of 8-core samples (bench_ingest client) to
#   - one smserver on SQLite (the baseline),
#   - one smserver on PostgreSQL (PG x1),
#   - two smserver processes on one PostgreSQL database (PG x2), the clients split
#     between their ports (4 agents each),
# in turn, BENCH_PG_ROUNDS times (default 2; each run on a database of its own). Prints
# each rate and the ratios PG x1 / SQLite (goal >= 0.5) and PG x2 / PG x1 (goal > 1),
# and the bytes each backend uses per stored point.
# With BENCH_PG_BASELINE=PATH (another build's smserver), that build runs on PostgreSQL
# too, alternating with this one (old, new, old, new: each on a database of its own in
# the same cluster), and the rates are printed side by side as a ratio.
# BENCH_PG_ONLY=sqlite|x1|x2 runs that one alone (for a profiler: no ratios then).
# Usage: bench_ingest_pg.sh [SECONDS]
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg_lib.sh"
SECONDS_=${1:-5}
ROUNDS=${BENCH_PG_ROUNDS:-2}
CLIENTS=8
BENCH=$top_builddir/tests/bench/bench_ingest
SM_STORE_PG_TEST=1
export SM_STORE_PG_TEST
PIDS=
_kill() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done; }
at_exit _kill
# No PostgreSQL server installed: nothing to compare, and not a failure of `make bench`.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || {
    echo "ingest on PostgreSQL: skipped (no PostgreSQL server: apt-get install postgresql)"
    exit 0
}
pg_start

# run NAME DB INSTANCES [SMSERVER]: a user, $CLIENTS agents and INSTANCES servers on DB;
# the clients split between the servers' ports; prints the acknowledged samples/s.
run() {
    bin=${4:-$SMSERVER}
    printf 'bench password\n' | "$bin" user add bench --db "$2" >/dev/null
    # The day partitions of the clients' timestamps (the last 6 days), as a server that
    # has run through those days has them, so that the first round's figures do not
    # include making them (the writer makes a missing one before its group commit).
    case $2 in /*) ;; *)
        psql -XAtq -d "$2" -c "SELECT count(sm_samples_day(d)) FROM generate_series(
            extract(epoch FROM now())::bigint / 86400 - 7,
            extract(epoch FROM now())::bigint / 86400) AS d" >/dev/null ;;
    esac
    tokens=
    for c in $(seq 1 $CLIENTS); do
        tk=$("$bin" agent add --user bench "bench-$1-$c" --db "$2" |
            sed 's/.*"token":"\([^"]*\)".*/\1/')
        tokens=${tokens:+$tokens,}$tk
    done
    urls=
    for k in $(seq 1 "$3"); do
        s=$T/state-$1-$k
        mkdir -p "$s"
        rm -f "$s.port"
        "$bin" --listen 127.0.0.1:0 --state-dir "$s" --db "$2" --port-file "$s.port" \
            --log-level warn 2>"$s.log" &
        PIDS="$PIDS $!"
        i=0
        while [ ! -s "$s.port" ]; do
            i=$((i + 1))
            [ $i -lt 400 ] || { cat "$s.log" >&2; exit 1; }
            sleep 0.05
        done
        urls=${urls:+$urls,}http://127.0.0.1:$(cat "$s.port")
    done
    "$BENCH" client "$urls" "$tokens" $CLIENTS 100 "$SECONDS_" >"$T/rate-$1" ||
        { grep -v 'not implemented' "$T/rate-$1" "$T"/state-"$1"-*.log | tail -5 >&2; }
    for p in $PIDS; do kill -TERM "$p"; done
    for p in $PIDS; do wait "$p" || true; done
    PIDS=
    sed -n "s/^server clients/$1: clients/p" "$T/rate-$1" >&2
    sed -n 's/^server samples_per_s //p' "$T/rate-$1"
}
# pgdb NAME: a new database NAME in the cluster; prints its connection string.
pgdb() {
    "$PG_BIN/createdb" -h "$PG_SOCK" -U smtest "$1"
    pg_db_conninfo "$1"
}

case ${BENCH_PG_ONLY:-} in
sqlite) run sqlite "$T/statusmonitor.db" 1; exit 0 ;;
x1) run pgx1 "$(pgdb sm_x1)" 1; exit 0 ;;
x2) run pgx2 "$(pgdb sm_x2)" 2; exit 0 ;;
esac
sq=0 p1=0 p2=0
for r in $(seq 1 "$ROUNDS"); do
    mkdir -p "$T/sqlite$r"
    a=$(run "sqlite$r" "$T/sqlite$r/statusmonitor.db" 1)
    b=$(run "pgx1r$r" "$(pgdb "sm_x1_$r")" 1)
    c=$(run "pgx2r$r" "$(pgdb "sm_x2_$r")" 2)
    awk -v r="$r" -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
        printf "  round %d: SQLite %d, PG x1 %d, PG x2 %d samples/s\n", r, a, b, c }'
    sq=$((sq + a)) p1=$((p1 + b)) p2=$((p2 + c))
done
awk -v n="$ROUNDS" -v s="$sq" -v p="$p1" -v q="$p2" -v c=$CLIENTS 'BEGIN {
    printf "ingest, %d clients as %d agents, batches of 100, mean of %d rounds: SQLite %d, PostgreSQL x1 %d, x2 %d durable samples/s\n", c, c, n, s / n, p / n, q / n
    printf "ingest on PostgreSQL: x1 / SQLite %.2f (goal >= 0.50), x2 / x1 %.2f (goal > 1)\n", p / s, q / p }'
if [ -n "${BENCH_PG_BASELINE:-}" ]; then
    # Databases of their own, so that neither run finds the other's samples.
    o1=$(run old1 "$(pgdb sm_old1)" 1 "$BENCH_PG_BASELINE")
    n1=$(run new1 "$(pgdb sm_new1)" 1)
    o2=$(run old2 "$(pgdb sm_old2)" 1 "$BENCH_PG_BASELINE")
    n2=$(run new2 "$(pgdb sm_new2)" 1)
    awk -v o1="$o1" -v o2="$o2" -v n1="$n1" -v n2="$n2" 'BEGIN {
        printf "ingest on PostgreSQL, this build %d and %d samples/s, baseline build %d and %d, alternating: ratio %.2f\n", n1, n2, o1, o2, (n1 + n2) / (o1 + o2) }'
fi

# Bytes per point, on the first round's PG x1 and SQLite databases: PostgreSQL's
# samples partitions (heap, TOAST, indexes) over its points; SQLite's file over its
# points.
pgb=$(psql -XAtq -d sm_x1_1 -c "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits
    WHERE inhparent = 'samples'::regclass")
pgn=$(psql -XAtq -d sm_x1_1 -c "SELECT sum(cardinality(sids)) FROM samples")
sqb=$(stat -c %s "$T/sqlite1/statusmonitor.db")
sqn=$(python3 "$top_srcdir/tests/integration/smdb.py" "$T/sqlite1/statusmonitor.db" \
    "SELECT count(*) FROM raw_points" 2>/dev/null || echo 0)
awk -v pb="$pgb" -v pn="$pgn" -v sb="$sqb" -v sn="$sqn" 'BEGIN {
    if (pn > 0 && sn > 0)
        printf "bytes per point: PostgreSQL %.1f (%d points), SQLite %.1f (%d points): ratio %.2f\n", pb / pn, pn, sb / sn, sn, (pb / pn) / (sb / sn) }'

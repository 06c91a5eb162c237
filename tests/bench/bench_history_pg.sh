#!/bin/sh
# bench_history_pg.sh: history query latency on PostgreSQL (a private cluster,
# tests/integration/pg_lib.sh) beside SQLite on the same data, in one run: a week of
# samples for BENCH_HISTORY_AGENTS agents (default 100) of BENCH_HISTORY_SERIES series
# (default 8) every BENCH_HISTORY_STEP_S seconds (default 60: every minute of the week
# has its points), written through each backend's own write code and rolled up as the
# server's maintenance does (tests/bench/bench_history.c), then -1h, -24h, -7d
# (points=500, the minute tier) and -7d/150 (the hour tier) asked of each agent in turn.
# Prints p50 and p95 on both and the ratio PostgreSQL / SQLite; issue 21's goal is -7d
# p50 <= 50 ms on PostgreSQL.
# With BENCH_HISTORY_BASELINE=PATH (another build's bench_history), that build loads and
# asks a PostgreSQL database of its own too, before this one, and the two are printed
# side by side as a ratio.
# With BENCH_HISTORY_EXPLAIN=1, the plan of the -7d minute-tier read of one series is
# printed too (EXPLAIN ANALYZE, BUFFERS), on the data just measured.
# Usage: bench_history_pg.sh [REPEATS]
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg_lib.sh"
REPEATS=${1:-200}
BENCH=$top_builddir/tests/bench/bench_history
: "${BENCH_HISTORY_AGENTS:=100}" "${BENCH_HISTORY_SERIES:=8}" "${BENCH_HISTORY_STEP_S:=60}"
export BENCH_HISTORY_AGENTS BENCH_HISTORY_SERIES BENCH_HISTORY_STEP_S
# No PostgreSQL server installed: nothing to compare, and not a failure of `make bench`.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || {
    echo "history on PostgreSQL: skipped (no PostgreSQL server: apt-get install postgresql)"
    exit 0
}
pg_start
"$PG_BIN/createdb" -h "$PG_SOCK" -U smtest sm_history
BENCH_HISTORY_DB= BENCH_HISTORY_SETTLE= "$BENCH" "$REPEATS" >"$T/out-sqlite" || { cat "$T/out-sqlite" >&2; exit 1; }
# Between the rollups and the queries, what autovacuum does over a week of running:
# statistics for the planner and the visibility map (BENCH_HISTORY_SETTLE= skips it).
: "${BENCH_HISTORY_SETTLE=psql -XAq -c 'VACUUM (ANALYZE)'}"
export BENCH_HISTORY_SETTLE
if [ -n "${BENCH_HISTORY_BASELINE:-}" ]; then
    "$PG_BIN/createdb" -h "$PG_SOCK" -U smtest sm_history_old
    PGDATABASE=sm_history_old BENCH_HISTORY_DB=$(pg_db_conninfo sm_history_old) "$BENCH_HISTORY_BASELINE" "$REPEATS" \
        >"$T/out-old" || { cat "$T/out-old" >&2; exit 1; }
fi
PGDATABASE=sm_history BENCH_HISTORY_DB=$(pg_db_conninfo sm_history) "$BENCH" "$REPEATS" >"$T/out-pg" ||
    { cat "$T/out-pg" >&2; exit 1; }
grep -v '^result' "$T/out-sqlite"
grep -v '^result' "$T/out-pg"
if [ -n "${BENCH_HISTORY_BASELINE:-}" ]; then
    echo "baseline build:"
    grep -v '^result' "$T/out-old"
    awk '
        FNR == NR && $1 == "result" { o50[$2] = $4; o95[$2] = $6; next }
        $1 == "result" {
            printf "history %-7s PostgreSQL, this build p50 %8.3f ms p95 %8.3f ms, baseline build p50 %8.3f ms p95 %8.3f ms: ratio p50 %.2f\n", $2, $4, $6, o50[$2], o95[$2], $4 / o50[$2]
        }' "$T/out-old" "$T/out-pg"
fi
awk '
    FNR == NR && $1 == "result" { s50[$2] = $4; s95[$2] = $6; next }
    $1 == "result" { p50[$2] = $4; p95[$2] = $6; order[++n] = $2 }
    END {
        for (i = 1; i <= n; i++) {
            r = order[i]
            printf "history %-7s PostgreSQL p50 %8.3f ms p95 %8.3f ms, SQLite p50 %8.3f ms p95 %8.3f ms: ratio p50 %.2f\n", r, p50[r], p95[r], s50[r], s95[r], p50[r] / s50[r]
        }
        printf "history -7d on PostgreSQL: p50 %.1f ms (goal <= 50 ms): %s\n", p50["-7d"], p50["-7d"] <= 50 ? "met" : "NOT met"
    }' "$T/out-sqlite" "$T/out-pg"
if [ -n "${BENCH_HISTORY_EXPLAIN:-}" ]; then
    # The statement of store_pg_history.c's minute read, for the first agent's cpu.usage
    # over the last 7 days in 500 buckets.
    psql -XAq -d sm_history <<'EOF'
SELECT s.id AS sid, (extract(epoch FROM now()) * 1000)::bigint AS now_ms FROM series s
    WHERE s.name = 'cpu.usage' ORDER BY s.id LIMIT 1 \gset
\set lo '(:now_ms - 604800000)'
EXPLAIN (ANALYZE, BUFFERS)
SELECT (bucket * 60000 - :lo) / 1209600, sum(n), sum(sum), min(min), max(max), count(*)
    FROM rollup_1m WHERE series_id = :sid AND bucket >= :lo / 60000 AND bucket < :now_ms / 60000
    GROUP BY 1;
EOF
fi

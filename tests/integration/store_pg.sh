#!/bin/sh
# store_pg.sh: the store cases of tests/unit/test_store_pg against a private PostgreSQL
# cluster (pg_lib.sh) as well as SQLite (users, tokens, agents, ingest, history,
# retention), and the day partitions left in the cluster. Skips when PostgreSQL is not installed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
pg_start
SM_TEST_PG=$PG_CONNINFO "$top_builddir/tests/unit/test_store_pg" >"$T/tap" 2>&1 || {
    cat "$T/tap" >&2
    fail "test_store_pg failed against PostgreSQL"
}
# Process snapshots: test_store_procs's cases on a database of their own.
"$PG_BIN/createdb" -h "$PG_SOCK" -U smtest smprocs || fail "createdb smprocs failed"
SM_TEST_PG_PROCS="host=$PG_SOCK port=5432 user=smtest dbname=smprocs" \
    "$top_builddir/tests/unit/test_store_procs" >"$T/tap_procs" 2>&1 || {
    cat "$T/tap_procs" >&2
    fail "test_store_procs failed against PostgreSQL"
}
grep -q '^ok [0-9]* - postgresql: its snapshots went with it' "$T/tap_procs" ||
    fail "the PostgreSQL process snapshot cases did not run"
pass "process snapshots: $(grep -c '^ok' "$T/tap_procs") checks passed on SQLite and PostgreSQL"
grep -q '^ok [0-9]* - postgresql: its name is free again' "$T/tap" ||
    fail "the PostgreSQL cases did not run"
grep -q '^ok [0-9]* - postgresql: the hour rollups outlive the raw points' "$T/tap" ||
    fail "the PostgreSQL history cases did not run"
# The day partitions: the ingest case wrote on two days, retention dropped the older.
parts=$(psql -XAtq -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'samples'::regclass") ||
    fail "psql failed"
[ "$parts" -ge 3 ] || fail "expected the day partitions made ahead, found $parts"
# The day past retention was dropped, then made again for the sample sent after.
[ "$(psql -XAtq -c "SELECT count(*) FROM samples WHERE ts < 1800000000000 - 2 * 86400000")" = 1 ] ||
    fail "expected the one sample sent after retention in the old day"
sed -n 's/^ok [0-9]* - \(postgresql: .*rollup.*\)/ok: \1/p' "$T/tap"
grep -c '^ok' "$T/tap" | sed 's/^/ok: /; s/$/ store checks passed on SQLite and PostgreSQL/'

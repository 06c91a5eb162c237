#!/bin/sh
# store_pg.sh: the store cases of tests/unit/test_store_pg against a private PostgreSQL
# cluster (pg_lib.sh) as well as SQLite. Skips when PostgreSQL is not installed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
pg_start
SM_TEST_PG=$PG_CONNINFO "$top_builddir/tests/unit/test_store_pg" >"$T/tap" 2>&1 || {
    cat "$T/tap" >&2
    fail "test_store_pg failed against PostgreSQL"
}
grep -q '^ok [0-9]* - postgresql: its name is free again' "$T/tap" ||
    fail "the PostgreSQL cases did not run"
grep -c '^ok' "$T/tap" | sed 's/^/ok: /; s/$/ store checks passed on SQLite and PostgreSQL/'

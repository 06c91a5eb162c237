#!/bin/sh
# fault_db_locked.sh: another process holds the database's write lock for longer than
# the server's busy timeout. An ingest meanwhile is refused with 503 and Retry-After
# (never a hang, never a 200 for a sample that is not stored); once the lock is gone the
# same sample is accepted and stored exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

printf 'pw-123456\n' | "$SMSERVER" user add u --state-dir "$SM_STATE" >/dev/null
TOKEN=$("$SMSERVER" agent add --user u a1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/')
start_server
TS=$(date +%s)
BODY="{\"cpu\":{\"percent\":12.5},\"memory\":{\"percent\":40},\"disk\":{\"percent\":3},\"timestamp\":$TS}"

# Hold the write lock for 12 s (the server waits 5 s for it).
"$PY" -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(12)
c.execute("ROLLBACK")
' "$SM_STATE/statusmonitor.db" "$T/locked" &
LOCKER=$!
_kill_locker() { kill "$LOCKER" 2>/dev/null || true; }
at_exit _kill_locker
i=0
while [ ! -e "$T/locked" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "the locker did not take the lock"
    sleep 0.1
done

CASE="ingest while the database is locked"
req POST /ingest -H "X-Agent-Token: $TOKEN" -H 'Content-Type: application/json' \
    --max-time 30 -d "$BODY"
[ -e "$T/locked" ] || fail "$CASE: lock gone too early"
expect 503
grep -qi '^retry-after: [1-9]' "$T/headers" || fail "$CASE: 503 without Retry-After: $(cat "$T/headers")"
[ "$(sql "SELECT count(*) FROM samples")" = 0 ] || fail "$CASE: a refused sample was stored"
pass "$CASE: 503 with Retry-After"

wait "$LOCKER"
CASE="ingest after the lock is released"
req POST /ingest -H "X-Agent-Token: $TOKEN" -H 'Content-Type: application/json' -d "$BODY"
expect 200
[ "$(sql "SELECT count(*) FROM samples")" = 1 ] || fail "$CASE: sample not stored once"
pass "$CASE"
stop_server

#!/bin/sh
# pg_migrate.sh: smserver migrate --from PATH.db --to POSTGRESQL against a private
# cluster (pg_lib.sh). A SQLite server's users, agents, refresh tokens, channels and
# rules, made through the API, are copied with counts and checksums per table; a second
# run copies nothing and still matches; a PostgreSQL server then logs the user in with
# the old password, rotates the old refresh token, and lists the agent, the channel
# and the rule (with the channel). A target that holds other rows is refused naming the
# table; usage errors exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need curl
pg_start
J='Content-Type: application/json'

# ---- usage errors: exit 2 with the usage line; a missing file exits 1 naming it.
for args in "" "--from $T/x.db" "--to $PG_CONNINFO" "--from $T/x.db --to $T/y.db" \
    "--from postgresql://h/db --to postgresql://h/db2" "--from $T/x.db --to postgresql://h/db extra" "--bogus"; do
    rc=0
    # shellcheck disable=SC2086
    "$SMSERVER" migrate $args >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -eq 2 ] || fail "migrate $args: exit $rc, expected 2: $(cat "$T/err")"
    grep -q "usage: smserver migrate\|--from: \|--to: " "$T/err" || fail "migrate $args: $(cat "$T/err")"
done
rc=0
"$SMSERVER" migrate --from "$T/none.db" --to "$PG_CONNINFO" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "none.db: no such database file" "$T/err" ||
    fail "a missing source: exit $rc: $(cat "$T/err")"
[ ! -e "$T/none.db" ] || fail "a missing source was created"
pass "usage errors exit 2; a missing source exits 1 naming it, and is not created"

# ---- a SQLite server with data made through the API.
printf 'webhook_allow_private = 127.0.0.0/8\n' >"$T/server.conf"
start_server --config "$T/server.conf"
register alice 'correct horse battery'
register bob 'another password here'
login alice 'correct horse battery'
OLD_REFRESH=$REFRESH
AA="Authorization: Bearer $ACCESS"
add_agent "$AA" web1
AGENT=$AGENT_ID
add_agent "$AA" db1
req POST /alerts/channels -H "$AA" -H "$J" -d '{"name":"hook","type":"webhook","url":"http://127.0.0.1:9/hook"}'
expect 201 '"secret":"'
CH=$(field id)
req POST /alerts -H "$AA" -H "$J" \
    -d "{\"name\":\"hot\",\"metric\":\"cpu.usage\",\"op\":\">\",\"threshold\":90.125,\"agent_id\":$AGENT,\"channel_id\":$CH}"
expect 201
RULE=$(field id)
stop_server
DB=$SM_STATE/statusmonitor.db

"$SMSERVER" migrate --from "$DB" --to "$PG_CONNINFO" >"$T/m1" 2>"$T/err" ||
    fail "migrate failed: $(cat "$T/err") $(cat "$T/m1")"
cat "$T/m1"
for l in "users: 2 rows, 2 copied, 0 already there" "agents: 2 rows, 2 copied" \
    "refresh_tokens: 1 rows, 1 copied" "alert_channels: 1 rows, 1 copied" \
    "alert_rules: 1 rows, 1 copied" "every table matches"; do
    grep -q "$l" "$T/m1" || fail "first run lacks '$l': $(cat "$T/m1")"
done
[ "$(grep -c 'checksum [0-9a-f]* matches' "$T/m1")" = 5 ] || fail "not five matching checksums"
pass "first run: every table copied, counted and its checksum matches"

"$SMSERVER" migrate --from "$DB" --to "$PG_CONNINFO" >"$T/m2" 2>"$T/err" ||
    fail "second run failed: $(cat "$T/err")"
grep -q "users: 2 rows, 0 copied, 2 already there" "$T/m2" &&
    grep -q "alert_rules: 1 rows, 0 copied, 1 already there" "$T/m2" ||
    fail "second run: $(cat "$T/m2")"
[ "$(psql -XAtc 'select count(*) from users')" = 2 ] || fail "the second run duplicated users"
pass "a second run copies nothing and still matches"

# ---- a server on PostgreSQL with the same signing key.
mkdir -m 0700 "$T/pgstate"
cp -p "$SM_STATE/secret.key" "$T/pgstate/secret.key"
SM_STATE=$T/pgstate
start_server --config "$T/server.conf" --db "$PG_CONNINFO"
login alice 'correct horse battery'
AA="Authorization: Bearer $ACCESS"
req GET /agents -H "$AA"
expect 200 '"web1"'
grep -q '"db1"' "$T/body" || fail "agents: $(cat "$T/body")"
req GET "/alerts/$RULE" -H "$AA"
expect 200 '"threshold":90.125'
grep -q "\"channel_id\":$CH" "$T/body" || fail "the rule lost its channel: $(cat "$T/body")"
req GET "/alerts/channels/$CH" -H "$AA"
expect 200 '"name":"hook"'
req POST /refresh -H "$J" -d "{\"refresh_token\":\"$OLD_REFRESH\"}"
expect 200 refresh_token
pass "on PostgreSQL: the old password, the old refresh token, the agents, the rule with its channel"
# New rows get ids past the copied ones.
add_agent "$AA" web2
[ "$AGENT_ID" -gt 2 ] || fail "a new agent reused id $AGENT_ID"
stop_server
pass "new rows on PostgreSQL get new ids"

# ---- a target that has other rows now: refused, naming the table.
rc=0
"$SMSERVER" migrate --from "$DB" --to "$PG_CONNINFO" >"$T/m3" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "agents: PostgreSQL holds 3 rows" "$T/err" && grep -q "agents: .* DIFFERS" "$T/m3" ||
    fail "a changed target: exit $rc: $(cat "$T/err") $(cat "$T/m3")"
psql -XAtc "update users set pwhash = 'x' where name = 'bob'" >/dev/null
rc=0
"$SMSERVER" migrate --from "$DB" --to "$PG_CONNINFO" >"$T/m4" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "users: .* DIFFERS" "$T/m4" || fail "a changed row: exit $rc: $(cat "$T/m4")"
pass "a target whose rows differ is refused, naming the table (rows counted, checksums compared)"

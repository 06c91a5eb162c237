#!/bin/sh
# server_agents.sh: /agents CRUD, token shown once, object-level authorisation.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server
J='Content-Type: application/json'
register alice 'alice password'
login alice 'alice+password'
A_ALICE=$ACCESS
register bob 'bob password!'
login bob 'bob+password%21'
A_BOB=$ACCESS
AA="Authorization: Bearer $A_ALICE"
AB="Authorization: Bearer $A_BOB"

CASE="list empty" req GET /agents -H "$AA"
CASE="list empty" expect 200 '[]'
CASE="create" req POST /agents -H "$AA" -H "$J" -d '{"name":"web1"}'
CASE="create" expect 200 '"name":"web1"'
ID=$(field id)
TOKEN=$(field token)
[ ${#TOKEN} -eq 43 ] || fail "agent token is not 43 base64url characters: $TOKEN"
CASE="create same name" req POST /agents -H "$AA" -H "$J" -d '{"name":"web1"}'
CASE="create same name" expect 409 name
CASE="create no name" req POST /agents -H "$AA" -H "$J" -d '{}'
CASE="create no name" expect 400 'name: field required'
CASE="create name type" req POST /agents -H "$AA" -H "$J" -d '{"name":["x"]}'
CASE="create name type" expect 400 'name: must be a string'
CASE="create long name" req POST /agents -H "$AA" -H "$J" \
    -d '{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}'
CASE="create long name" expect 400 name
CASE="create without token" req POST /agents -H "$J" -d '{"name":"web2"}'
CASE="create without token" expect 401
CASE="list" req GET /agents -H "$AA"
CASE="list" expect 200 '"name":"web1"'
grep -q '"token"' "$T/body" && fail "list shows the agent token"
CASE="get" req GET "/agents/$ID" -H "$AA"
CASE="get" expect 200 '"online":false'
grep -q '"token"' "$T/body" && fail "get shows the agent token"
pass "create, list, get"

# Another user's agent does not exist for bob.
CASE="bob list" req GET /agents -H "$AB"
CASE="bob list" expect 200 '[]'
CASE="bob get" req GET "/agents/$ID" -H "$AB"
CASE="bob get" expect 404
CASE="bob regenerate" req POST "/agents/$ID/regenerate-token" -H "$AB"
CASE="bob regenerate" expect 404
CASE="bob delete" req DELETE "/agents/$ID" -H "$AB"
CASE="bob delete" expect 404
CASE="missing agent" req GET /agents/999 -H "$AA"
CASE="missing agent" expect 404
CASE="bad id" req GET /agents/abc -H "$AA"
CASE="bad id" expect 404
CASE="zero id" req GET /agents/0 -H "$AA"
CASE="zero id" expect 404
pass "another user's agent is 404"

# The token works for /ingest until it is regenerated.
S='{"cpu":{"percent":12.5},"memory":{"percent":40.1}}'
CASE="ingest" req POST /ingest -H "X-Agent-Token: $TOKEN" -H "$J" -d "$S"
CASE="ingest" expect 200 '"stored":1'
CASE="regenerate" req POST "/agents/$ID/regenerate-token" -H "$AA"
CASE="regenerate" expect 200 '"token"'
NEW=$(field token)
[ "$NEW" != "$TOKEN" ] || fail "regenerate returned the same token"
CASE="old token" req POST /ingest -H "X-Agent-Token: $TOKEN" -H "$J" -d "$S"
CASE="old token" expect 401
CASE="new token" req POST /ingest -H "X-Agent-Token: $NEW" -H "$J" \
    -d '{"timestamp":1700000000,"cpu":{"percent":1}}'
CASE="new token" expect 200 '"stored":1'
CASE="seen" req GET "/agents/$ID" -H "$AA"
CASE="seen" expect 200 '"online":true'
pass "regenerate"

CASE="delete" req DELETE "/agents/$ID" -H "$AA"
CASE="delete" expect 200
CASE="get deleted" req GET "/agents/$ID" -H "$AA"
CASE="get deleted" expect 404
CASE="ingest deleted" req POST /ingest -H "X-Agent-Token: $NEW" -H "$J" -d "$S"
CASE="ingest deleted" expect 401
[ "$(sql 'select count(*) from samples')" = 0 ] || fail "samples left after delete"
[ "$(sql 'select count(*) from raw_points')" = 0 ] || fail "points left after delete"
[ "$(sql 'select count(*) from series')" = 0 ] || fail "series left after delete"
pass delete

# The admin CLI sees the same data (the server may be running).
CASE="admin agent add" "$SMSERVER" agent add --user bob --state-dir "$SM_STATE" db1 >"$T/body" ||
    fail "agent add failed"
grep -q '"name":"db1","token":"' "$T/body" || fail "agent add printed $(cat "$T/body")"
CASE="admin-made agent" req GET /agents -H "$AB"
CASE="admin-made agent" expect 200 '"name":"db1"'
stop_server

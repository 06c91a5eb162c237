#!/bin/sh
# alerts_cli.sh: `smserver alert add` and `alert delete` against the database of a
# running smserver, which picks the change up without a restart; deleting a firing
# rule (through the CLI or the API) is announced on the live stream at once, so clients
# drop its alert; bad input to the CLI is refused with exit 2 and writes nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
J='Content-Type: application/json'

start_server
register alice 'alice password'
login alice 'alice+password'
AA="Authorization: Bearer $ACCESS"
printf '%s' "$ACCESS" >"$T/atoken"
register bob 'bob password!'
login bob 'bob+password%21'
AB="Authorization: Bearer $ACCESS"
add_agent "$AA" web1
TOKEN=$AGENT_TOKEN
add_agent "$AB" bobhost
BOB_AGENT=$AGENT_ID

"$PY" "$top_srcdir/tests/integration/wsclient.py" "ws://127.0.0.1:$PORT/ws" \
    --token-file "$T/atoken" --subscribe all --seconds 300 >"$T/ws" 2>&1 &
WS=$!
stop_ws() { kill "$WS" 2>/dev/null || true; }
at_exit stop_ws
wait_for "the stream" grep -q '"type": "snapshot"' "$T/ws"

# Samples of alice's agent, one second apart, from five minutes ago on.
TS=$(($(date +%s) - 300))
sample() {
    TS=$((TS + 1))
    CODE=$(curl -s -o "$T/sbody" -w '%{http_code}' -H "X-Agent-Token: $TOKEN" -H "$J" \
        -d "{\"timestamp\":$TS,\"cpu\":{\"usage_percent\":$1}}" "$URL/ingest")
    [ "$CODE" = 200 ] || fail "ingest at $TS: $CODE $(cat "$T/sbody")"
}
# streamed RULE STATE: the stream carried that state of that rule.
streamed() {
    "$PY" -c "
import json,sys
for line in open(sys.argv[1]):
    m=json.loads(line)
    if m.get('type')=='alert' and m.get('rule_id')==int(sys.argv[2]) and m.get('state')==sys.argv[3]:
        sys.exit(0)
sys.exit(1)" "$T/ws" "$1" "$2"
}
# fires_on RULE: post a hot sample until the stream says RULE fires (the server reads
# the rules the CLI wrote every few seconds).
fires_on() { sample 90; streamed "$1" firing; }
rules() { sql "select count(*) from alert_rules"; }

# ---- alert add: the body POST /alerts takes, on stdin; the server picks it up.
echo '{"name":"cli cpu","metric":"cpu.usage","op":">","threshold":50,"severity":"critical"}' |
    "$SMSERVER" alert add --user alice --state-dir "$SM_STATE" >"$T/out" 2>"$T/err" ||
    fail "alert add failed: $(cat "$T/err")"
RULE=$(json "$T/out" "j['id']")
[ "$(json "$T/out" "j['severity'], j['op'], j['threshold']")" = "critical > 50" ] ||
    fail "alert add printed $(cat "$T/out")"
req GET "/alerts/$RULE" -H "$AA"
expect 200 '"name":"cli cpu"'
WAIT_TRIES=300 wait_for "the running server to judge the CLI's rule" fires_on "$RULE"
pass "alert add: the running server judges the new rule"

# ---- alert delete: the firing alert resolves on the stream, the rule judges no more.
"$SMSERVER" alert delete --user alice "$RULE" --state-dir "$SM_STATE" 2>"$T/err" ||
    fail "alert delete failed: $(cat "$T/err")"
req GET "/alerts/$RULE" -H "$AA"
expect 404
WAIT_TRIES=300 wait_for "the deletion on the stream" streamed "$RULE" resolved
req GET /alerts/active -H "$AA"
expect 200
[ "$(body "len(j)")" = 0 ] || fail "still active after delete: $(cat "$T/body")"
pass "alert delete: the firing alert resolves on the stream"

# ---- a rule deleted through the API is announced at once (pending ones go inactive).
req POST /alerts -H "$AA" -H "$J" \
    -d '{"name":"api cpu","metric":"cpu.usage","op":">","threshold":50,"for_seconds":3600}'
expect 201
API_RULE=$(field id)
pending() { sample 95; streamed "$API_RULE" pending; }
wait_for "the API rule pending" pending
req DELETE "/alerts/$API_RULE" -H "$AA"
expect 200
wait_for "the API deletion on the stream" streamed "$API_RULE" inactive
log_has "$SM_LOG" "recording a state change failed" &&
    fail "the deleted rule's last change was logged as a failure"
pass "DELETE /alerts/{id} ends its alerts on the stream"

# ---- bad input: exit 2, a message naming the problem, nothing written.
N=$(rules)
cli_refuses() { # WHAT EXPECTED-MESSAGE INPUT ARGS...
    what=$1 msg=$2 input=$3
    shift 3
    rc=0
    printf '%s' "$input" | "$SMSERVER" alert "$@" --state-dir "$SM_STATE" >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -eq 2 ] || fail "$what: exit $rc, $(cat "$T/err")"
    grep -q -- "$msg" "$T/err" || fail "$what: stderr $(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "$what: printed $(cat "$T/out")"
}
GOOD='{"name":"x","metric":"cpu.usage","op":">","threshold":1}'
cli_refuses "no --user" "--user NAME is required" "$GOOD" add
cli_refuses "empty stdin" "JSON object on standard input" "" add --user alice
cli_refuses "not JSON" "alert add: " "{name" add --user alice
cli_refuses "an array" "must be a JSON object" "[1]" add --user alice
cli_refuses "trailing garbage" "alert add: " "$GOOD x" add --user alice
cli_refuses "unknown field" "colour: unknown field" \
    '{"name":"x","metric":"cpu.usage","op":">","threshold":1,"colour":"red"}' add --user alice
cli_refuses "bad op" "op: must be" '{"name":"x","metric":"cpu.usage","op":"=","threshold":1}' \
    add --user alice
cli_refuses "no threshold" "threshold: field required" '{"name":"x","metric":"cpu.usage","op":">"}' \
    add --user alice
cli_refuses "another user's agent" "agent_id: no such agent" \
    "{\"name\":\"x\",\"metric\":\"cpu.usage\",\"op\":\">\",\"threshold\":1,\"agent_id\":$BOB_AGENT}" \
    add --user alice
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big"
rc=0
"$SMSERVER" alert add --user alice --state-dir "$SM_STATE" <"$T/big" >/dev/null 2>"$T/err" || rc=$?
[ $rc -eq 2 ] && grep -q "at most 65536 bytes" "$T/err" || fail "oversized rule: $rc $(cat "$T/err")"
cli_refuses "a rule id that is not a number" "ID: a rule id" "" delete --user alice 1x
cli_refuses "a rule id too long" "ID: a rule id" "" delete --user alice 99999999999999999
cli_refuses "delete without --user" "--user NAME is required" "" delete 1
cli_refuses "delete without an id" "usage: smserver alert delete" "" delete --user alice
[ "$(rules)" = "$N" ] || fail "bad input changed the rules: $N -> $(rules)"
pass "bad input to alert add and delete: exit 2, nothing written"

# ---- another user's rule, or none: exit 1, and it stays.
req POST /alerts -H "$AB" -H "$J" -d '{"name":"bob cpu","metric":"cpu.usage","op":">","threshold":1}'
expect 201
BOB_RULE=$(field id)
rc=0
"$SMSERVER" alert delete --user alice "$BOB_RULE" --state-dir "$SM_STATE" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "alice has no alert rule $BOB_RULE" "$T/err" ||
    fail "deleting bob's rule as alice: $rc $(cat "$T/err")"
req GET "/alerts/$BOB_RULE" -H "$AB"
expect 200
rc=0
echo "$GOOD" | "$SMSERVER" alert add --user nobody --state-dir "$SM_STATE" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "alert add --user nobody exited $rc"
pass "alert delete of another user's rule: exit 1, the rule stays"

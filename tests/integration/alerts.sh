#!/bin/sh
# alerts.sh: alert rules against a real smserver and a real local webhook receiver: a
# rule fires after its for-duration and not before, resolves, does not flap, the
# webhook is signed, notifications are retried while the receiver is down, agent
# offline rules, Telegram, isolation between users, bad input, the admin CLI.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
J='Content-Type: application/json'
RLOG=$T/received
: >"$RLOG"
RPID=

# The receiver: started on a free port, then restarted on the same one.
start_receiver() {
    rm -f "$T/rport"
    "$PY" "$top_srcdir/tests/integration/webhook_receiver.py" "$RLOG" --port-file "$T/rport" \
        ${1:+--port "$1"} &
    RPID=$!
    i=0
    while [ ! -s "$T/rport" ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || fail "the webhook receiver did not start"
        sleep 0.1
    done
    RPORT=$(cat "$T/rport")
}
stop_receiver() {
    [ -z "$RPID" ] || { kill "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; }
    RPID=
}
at_exit stop_receiver


# sample TS CPU [TOKEN]: post one sample of alice's agent (or TOKEN's).
sample() {
    CODE=$(curl -s -o "$T/sbody" -w '%{http_code}' -H "X-Agent-Token: ${3:-$TOKEN}" -H "$J" \
        -d "{\"timestamp\":$1,\"cpu\":{\"usage_percent\":$2}}" "$URL/ingest")
    [ "$CODE" = 200 ] || fail "ingest at $1: $CODE $(cat "$T/sbody")"
}

# history RULE: its events oldest first, "state@seconds-after-BASE" separated by spaces
# (as alice, or as the user of $HIST_AUTH).
history() {
    req GET "/alerts/$1/events" -H "${HIST_AUTH:-$AA}"
    expect 200
    "$PY" -c "import json,sys; ev=json.load(open(sys.argv[1])); print(' '.join('%s@%d' % (e['state'], round(e['timestamp'] - int(sys.argv[2]))) for e in reversed(ev)))" "$T/body" "$BASE"
}
has_history() { [ "$(history "$1")" = "$2" ]; }

# received FILTER: how many received requests match a python expression on r (the
# request) and b (its JSON body).
received() {
    "$PY" -c "
import json,sys
n=0
for line in open(sys.argv[1]):
    r=json.loads(line); b=json.loads(r['body'])
    if eval(sys.argv[2]): n+=1
print(n)" "$RLOG" "$1"
}
received_at_least() { [ "$(received "$1")" -ge "$2" ]; }

# signed_ok SECRET: every webhook request carries a valid HMAC-SHA256 of its body.
signed_ok() {
    "$PY" -c "
import hmac,hashlib,json,sys
n=0
for line in open(sys.argv[1]):
    r=json.loads(line)
    if not r['path'].startswith('/hook'): continue
    h={k.lower():v for k,v in r['headers'].items()}
    want='sha256='+hmac.new(sys.argv[2].encode(), r['body'].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(h.get('x-statusmonitor-signature',''), want):
        sys.exit('bad signature on %s' % r['body'])
    n+=1
if n == 0: sys.exit('no webhook request')
" "$RLOG" "$1"
}

start_receiver
printf 'telegram_api_base = http://127.0.0.1:%s/tg/\nwebhook_allow_private = 127.0.0.0/8\n' "$RPORT" >"$T/server.conf"
start_server --config "$T/server.conf" --log-level debug
register alice 'alice password'
login alice 'alice+password'
AA="Authorization: Bearer $ACCESS"
ACCESS_ALICE=$ACCESS
register bob 'bob password!'
login bob 'bob+password%21'
AB="Authorization: Bearer $ACCESS"
ACCESS_BOB=$ACCESS
add_agent "$AA" web1
AGENT=$AGENT_ID
TOKEN=$AGENT_TOKEN
add_agent "$AB" bobhost
BOB_AGENT=$AGENT_ID
BOB_TOKEN=$AGENT_TOKEN

# ---- channels: the signing secret is shown once, stored sealed, never listed.
req POST /alerts/channels -H "$AA" -H "$J" \
    -d "{\"name\":\"hook\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$RPORT/hook\"}"
expect 201 '"secret":"'
CH=$(field id)
SECRET=$(field secret)
[ ${#SECRET} -ge 32 ] || fail "webhook secret too short: $SECRET"
req GET "/alerts/channels/$CH" -H "$AA"
expect 200 '"type":"webhook"'
grep -q secret "$T/body" && fail "GET shows the channel secret"
req GET /alerts/channels -H "$AA"
expect 200 '"name":"hook"'
grep -q secret "$T/body" && fail "the channel list shows the secret"
[ "$(sql "select count(*) from alert_channels where instr(secret, '$SECRET') > 0" \
    "select count(*) from alert_channels where position(convert_to('$SECRET', 'UTF8') in secret) > 0")" = 0 ] ||
    fail "the channel secret is stored in the clear"
req POST "/alerts/channels/$CH/test" -H "$AA"
expect 202
wait_for "the test notification" received_at_least "b.get('test') is True" 1
signed_ok "$SECRET" || fail "the test notification's signature does not verify"
pass "webhook channel: secret shown once, sealed; test notification signed"

# ---- a rule: fires on the sample that completes its for-duration, not before.
req POST /alerts -H "$AA" -H "$J" -d "{\"name\":\"cpu high\",\"metric\":\"cpu.usage\",\"op\":\">\",
    \"threshold\":50,\"for_seconds\":5,\"severity\":\"critical\",\"channel_id\":$CH}"
expect 201 '"resolve_seconds":5'
RULE=$(field id)
BASE=$(($(date +%s) - 300))
for t in 0 1 2 3 4; do sample $((BASE + t)) 80; done
wait_for "pending" has_history "$RULE" "pending@0"
for t in 5 6; do sample $((BASE + t)) 80; done
wait_for "firing after 5 s" has_history "$RULE" "pending@0 firing@5"
wait_for "the firing notification" received_at_least "b.get('state') == 'firing'" 1
[ "$(received "b.get('state') == 'firing' and b['rule']['id'] == $RULE and round(b['timestamp']) == $((BASE + 5)) and b['agent']['name'] == 'web1' and b['value'] == 80")" = 1 ] ||
    fail "the firing notification is not the sample at +5 s: $(cat "$RLOG")"
signed_ok "$SECRET" || fail "the firing notification's signature does not verify"
pass "fires after for_seconds, not before; notified and signed"

# No flapping: a dip shorter than resolve_seconds keeps it firing; then it resolves.
sample $((BASE + 7)) 40
sample $((BASE + 8)) 80
for t in 9 10 11 12 13; do sample $((BASE + t)) 40; done
sample $((BASE + 14)) 30
wait_for "resolved after 5 s below" has_history "$RULE" "pending@0 firing@5 resolved@14"
wait_for "the resolved notification" received_at_least "b.get('state') == 'resolved'" 1
# A condition that holds for less than for_seconds never fires.
for t in 15 17 19; do sample $((BASE + t)) 90; sample $((BASE + t + 1)) 10; done
sample $((BASE + 21)) 10
wait_for "pending and back" has_history "$RULE" \
    "pending@0 firing@5 resolved@14 pending@15 inactive@16 pending@17 inactive@18 pending@19 inactive@20"
# Old samples (a resend, or older than the last judged) change nothing.
sample $((BASE + 3)) 99
[ "$(received "b.get('state') == 'firing'")" = 1 ] || fail "a flapping value notified again"
[ "$(received "b.get('state') == 'resolved'")" = 1 ] || fail "more than one resolve notification"
pass "resolves after resolve_seconds; no flapping"

# ---- retries: the receiver is down when the rule fires, then comes back.
stop_receiver
for t in 30 31 32 33 34 35; do sample $((BASE + t)) 95; done
wait_for "firing again" has_history "$RULE" \
    "pending@0 firing@5 resolved@14 pending@15 inactive@16 pending@17 inactive@18 pending@19 inactive@20 pending@30 firing@35"
metric_retried() {
    req GET /metrics
    grep -q '^statusmonitor_notifications_total{outcome="retried"} [1-9]' "$T/body"
}
wait_for "a failed delivery to be retried" metric_retried
metric_firing() {
    req GET /metrics
    grep -q '^statusmonitor_alerts{state="firing"} 1$' "$T/body"
}
wait_for "metrics to show one firing alert" metric_firing
req GET /alerts/active -H "$AA"
expect 200 '"state":"firing"'
req GET "/alerts/$RULE" -H "$AA"
expect 200 '"active":[{'
# It resolves while the receiver is still down: the resolve must not overtake the firing.
for t in 36 37 38 39 40 41; do sample $((BASE + t)) 10; done
wait_for "resolved while the receiver is down" has_history "$RULE" \
    "pending@0 firing@5 resolved@14 pending@15 inactive@16 pending@17 inactive@18 pending@19 inactive@20 pending@30 firing@35 resolved@41"
start_receiver "$RPORT"
WAIT_TRIES=400 wait_for "the retried notifications" \
    received_at_least "b.get('state') == 'resolved' and round(b['timestamp']) == $((BASE + 41))" 1
"$PY" -c "
import json,sys
s=[json.loads(json.loads(l)['body']).get('state') for l in open(sys.argv[1])]
s=[x for x in s if x in ('firing','resolved')]
sys.exit(0 if s == ['firing','resolved','firing','resolved'] else 'order: %s' % s)" "$RLOG" ||
    fail "notifications out of order"
[ "$(received "b.get('state') == 'firing' and round(b['timestamp']) == $((BASE + 35))")" = 1 ] ||
    fail "the retried firing notification was not delivered once"
signed_ok "$SECRET" || fail "the retried notifications' signatures do not verify"
pass "retried with backoff while the receiver was down, then delivered in order"

# ---- the live stream carries alert changes to the agent's subscribers only.
printf '%s' "$ACCESS_ALICE" >"$T/atoken"
printf '%s' "$ACCESS_BOB" >"$T/btoken"
"$PY" "$top_srcdir/tests/integration/wsclient.py" "ws://127.0.0.1:$PORT/ws" \
    --token-file "$T/atoken" --subscribe all --seconds 120 >"$T/ws_alice" 2>&1 &
WS_A=$!
"$PY" "$top_srcdir/tests/integration/wsclient.py" "ws://127.0.0.1:$PORT/ws" \
    --token-file "$T/btoken" --subscribe all --seconds 120 >"$T/ws_bob" 2>&1 &
WS_B=$!
stop_ws() { kill "$WS_A" "$WS_B" 2>/dev/null || true; }
at_exit stop_ws
wait_for "alice's stream" grep -q '"type": "snapshot"' "$T/ws_alice"
wait_for "bob's stream" grep -q '"type": "snapshot"' "$T/ws_bob"

# ---- labels: a rule on one mount judges that series only.
req POST /alerts -H "$AA" -H "$J" -d '{"name":"root full","metric":"fs.used_percent{mount=/}",
    "op":">","threshold":90}'
expect 201 '"metric":"fs.used_percent{mount=/}"'
FSRULE=$(field id)
curl -s -o /dev/null -H "X-Agent-Token: $TOKEN" -H "$J" -d "{\"timestamp\":$((BASE + 42)),
    \"disk\":{\"partitions\":[{\"device\":\"a\",\"mountpoint\":\"/boot\",\"fstype\":\"ext4\",
    \"total\":100,\"used\":99,\"free\":1,\"percent\":99.0},{\"device\":\"b\",\"mountpoint\":\"/\",
    \"fstype\":\"ext4\",\"total\":100,\"used\":95,\"free\":5,\"percent\":95.0}]}}" "$URL/ingest"
wait_for "the root mount firing" has_history "$FSRULE" "pending@42 firing@42"
req GET "/alerts/$FSRULE/events" -H "$AA"
grep -q '"labels":"mount=/boot"' "$T/body" && fail "a rule on mount=/ judged /boot"
stream_alert() { grep -q "\"type\": \"alert\", \"agent_id\": $AGENT, \"rule_id\": $FSRULE, .*\"state\": \"firing\"" "$T/ws_alice"; }
wait_for "the alert on alice's stream" stream_alert
pass "label match; the change reaches the live stream"

# ---- update and delete.
req PUT "/alerts/$FSRULE" -H "$AA" -H "$J" -d '{"name":"root full","metric":"fs.used_percent{mount=/}",
    "op":">","threshold":97,"severity":"info"}'
expect 200 '"threshold":97'
req GET "/alerts/$FSRULE" -H "$AA"
expect 200 '"severity":"info"'
req DELETE "/alerts/$FSRULE" -H "$AA"
expect 200
req GET "/alerts/$FSRULE" -H "$AA"
expect 404
req GET "/alerts/$FSRULE/events" -H "$AA"
expect 404
pass "update and delete"

# ---- isolation: bob sees none of alice's rules or channels, and her samples never
# judge his rules.
req POST /alerts -H "$AB" -H "$J" -d '{"name":"bob cpu","metric":"cpu.usage","op":">","threshold":1}'
expect 201
BOB_RULE=$(field id)
for m in GET DELETE; do
    req $m "/alerts/$RULE" -H "$AB"
    expect 404
done
req PUT "/alerts/$RULE" -H "$AB" -H "$J" -d '{"name":"x","metric":"cpu.usage","op":">","threshold":1}'
expect 404
req GET "/alerts/$RULE/events" -H "$AB"
expect 404
req GET "/alerts/channels/$CH" -H "$AB"
expect 404
req POST "/alerts/channels/$CH/test" -H "$AB"
expect 404
req DELETE "/alerts/channels/$CH" -H "$AB"
expect 404
req GET /alerts -H "$AB"
expect 200
grep -q '"cpu high"' "$T/body" && fail "bob lists alice's rule"
req GET /alerts/channels -H "$AB"
expect 200 '[]'
req GET /alerts/active -H "$AB"
expect 200 '[]'
req POST /alerts -H "$AB" -H "$J" -d "{\"name\":\"x\",\"metric\":\"cpu.usage\",\"op\":\">\",\"threshold\":1,\"agent_id\":$AGENT}"
expect 400 'agent_id: no such agent'
req POST /alerts -H "$AB" -H "$J" -d "{\"name\":\"x\",\"metric\":\"cpu.usage\",\"op\":\">\",\"threshold\":1,\"channel_id\":$CH}"
expect 400 'channel_id: no such channel'
sample $((BASE + 50)) 99
sample $((BASE + 51)) 99 "$BOB_TOKEN"
HIST_AUTH=$AB wait_for "bob's rule on bob's agent" has_history "$BOB_RULE" "pending@51 firing@51"
bob_stream() { grep -q "\"type\": \"alert\", \"agent_id\": $BOB_AGENT, .*\"state\": \"firing\"" "$T/ws_bob"; }
wait_for "bob's alert on his stream" bob_stream
grep -q "\"agent_id\": $AGENT," "$T/ws_bob" && fail "bob's stream carries alice's agent"
stop_ws
pass "isolation between users"

# Deleting an agent ends its alerts: nothing stays active for an agent that is gone.
req GET /alerts/active -H "$AB"
expect 200 "\"agent_id\":$BOB_AGENT"
req DELETE "/agents/$BOB_AGENT" -H "$AB"
expect 200
req GET /alerts/active -H "$AB"
expect 200 '[]'
req GET "/alerts/$BOB_RULE" -H "$AB"
expect 200 '"active":[]'
pass "a deleted agent's alerts go with it"

# ---- bad input names the field.
bad() {
    req POST /alerts -H "$AA" -H "$J" -d "$1"
    CASE="bad rule $1" expect 400 "$2"
}
R='"name":"r","metric":"cpu.usage"'
bad '{"metric":"cpu.usage","op":">","threshold":1}' 'name: field required'
bad '{"name":"r","op":">","threshold":1}' 'metric: field required'
bad '{"name":"r","metric":"cpu usage","op":">","threshold":1}' 'metric:'
bad '{"name":"r","metric":"fs.used_percent{mount=/","op":">","threshold":1}' 'metric:'
bad '{"name":"r","metric":"fs.used_percent{=/}","op":">","threshold":1}' 'metric:'
bad '{"name":"r","metric":"fs.used_percent{a=1,b=2}","op":">","threshold":1}' 'metric:'
bad '{"name":"r","metric":"agent.offline{a=1}"}' 'metric:'
bad "{$R,\"threshold\":1}" 'op: field required'
bad "{$R,\"op\":\"=\",\"threshold\":1}" 'op:'
bad "{$R,\"op\":\">\"}" 'threshold: field required'
bad "{$R,\"op\":\">\",\"threshold\":\"x\"}" 'threshold:'
bad "{$R,\"op\":\">\",\"threshold\":1,\"for_seconds\":-1}" 'for_seconds:'
bad "{$R,\"op\":\">\",\"threshold\":1,\"for_seconds\":1.5}" 'for_seconds:'
bad "{$R,\"op\":\">\",\"threshold\":1,\"for_seconds\":86401}" 'for_seconds:'
bad "{$R,\"op\":\">\",\"threshold\":1,\"resolve_seconds\":\"5\"}" 'resolve_seconds:'
bad "{$R,\"op\":\">\",\"threshold\":1,\"severity\":\"loud\"}" 'severity:'
bad "{$R,\"op\":\">\",\"threshold\":1,\"agent_id\":0}" 'agent_id:'
bad "{$R,\"op\":\">\",\"threshold\":1,\"channel_id\":999}" 'channel_id:'
bad "{$R,\"op\":\">\",\"threshold\":1,\"for_second\":5}" 'for_second: unknown field'
bad '{"name":"","metric":"cpu.usage","op":">","threshold":1}' 'name:'
bad '[1]' 'body:'
bad '{"name":' 'body:'
req PUT "/alerts/$RULE" -H "$AA" -H "$J" -d '{"name":"r"}'
expect 400 'metric: field required'
req GET "/alerts/$RULE/events?limit=0" -H "$AA"
expect 400 'limit:'
req GET "/alerts/$RULE/events?limit=x" -H "$AA"
expect 400 'limit:'
badch() {
    req POST /alerts/channels -H "$AA" -H "$J" -d "$1"
    CASE="bad channel $1" expect 400 "$2"
}
badch '{"name":"c","type":"email"}' 'type:'
badch '{"name":"c","type":"webhook"}' 'url: field required'
badch '{"name":"c","type":"webhook","url":"ftp://127.0.0.1/x"}' 'url:'
badch '{"name":"c","type":"webhook","url":"http://a b/"}' 'url:'
badch '{"name":"c","type":"telegram","chat_id":"1"}' 'bot_token: field required'
badch '{"name":"c","type":"telegram","chat_id":"1","bot_token":"a/b"}' 'bot_token:'
badch '{"type":"webhook","url":"http://127.0.0.1/x"}' 'name: field required'
req POST /alerts/channels -H "$AA" -H "$J" -d '{"name":"hook","type":"webhook","url":"http://127.0.0.1:1/x"}'
expect 409 'name:'
req POST /alerts -H "$J" -d '{}'
expect 401
pass "bad input is 400 naming the field"

# ---- Telegram: sendMessage under the configured API base; the bot token stays secret.
BOT="123456:ABC-secret_bot_token"
req POST /alerts/channels -H "$AA" -H "$J" \
    -d "{\"name\":\"tg\",\"type\":\"telegram\",\"chat_id\":\"-10042\",\"bot_token\":\"$BOT\"}"
expect 201 '"type":"telegram"'
TG=$(field id)
grep -q "$BOT" "$T/body" && fail "the bot token is returned"
grep -q '"secret"' "$T/body" && fail "a telegram channel returns a secret"
req POST "/alerts/channels/$TG/test" -H "$AA"
expect 202
wait_for "the telegram message" received_at_least \
    "r['path'] == '/tg/bot$BOT/sendMessage' and b['chat_id'] == '-10042' and 'test' in b['text']" 1
pass "telegram channel"

# ---- at most 20 channels per user; a deleted channel is gone.
i=0
while [ $i -lt 18 ]; do
    req POST /alerts/channels -H "$AA" -H "$J" \
        -d "{\"name\":\"c$i\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$RPORT/hook\"}"
    expect 201
    i=$((i + 1))
done
LAST=$(field id)
req POST /alerts/channels -H "$AA" -H "$J" -d '{"name":"one too many","type":"webhook","url":"http://127.0.0.1:1/x"}'
expect 409 'at most 20'
req DELETE "/alerts/channels/$LAST" -H "$AA"
expect 200
req GET "/alerts/channels/$LAST" -H "$AA"
expect 404
req POST "/alerts/channels/$LAST/test" -H "$AA"
expect 404
pass "channel cap and delete"

# A new signing secret: shown once, the old one no longer signs (alice's 3rd test).
req POST "/alerts/channels/$CH/regenerate-secret" -H "$AB"
expect 404
req POST "/alerts/channels/$TG/regenerate-secret" -H "$AA"
expect 400 'type:'
req POST "/alerts/channels/$CH/regenerate-secret" -H "$AA"
expect 200 '"secret":"'
OLD_SECRET=$SECRET
SECRET=$(field secret)
[ "$SECRET" != "$OLD_SECRET" ] || fail "regenerate-secret returned the same secret"
: >"$RLOG"
req POST "/alerts/channels/$CH/test" -H "$AA"
expect 202
wait_for "a test signed with the new secret" received_at_least "b.get('test') is True" 1
signed_ok "$SECRET" || fail "the new secret does not verify"
signed_ok "$OLD_SECRET" 2>/dev/null && fail "the old secret still verifies"
pass "regenerate a webhook secret"

# Test notifications are limited per user (alice has sent 3).
i=0
while [ $i -lt 7 ]; do
    req POST "/alerts/channels/$TG/test" -H "$AA"
    expect 202
    i=$((i + 1))
done
req POST "/alerts/channels/$TG/test" -H "$AA"
expect 429 'Too many test notifications'
grep -qi '^retry-after: [1-9]' "$T/headers" || fail "no Retry-After on 429"
req POST "/alerts/channels/$TG/test" -H "$AB"
expect 404
pass "test notifications are rate limited"

# ---- agent offline: fires for_seconds after the hub marks the agent offline, resolves
# when it reports again. (The hub needs at least 10 s of silence.)
req POST /alerts -H "$AA" -H "$J" -d "{\"name\":\"web1 down\",\"metric\":\"agent.offline\",
    \"for_seconds\":1,\"agent_id\":$AGENT,\"channel_id\":$CH}"
expect 201 '"op":null'
OFF=$(field id)
offline_fired() { history "$OFF" | grep -q 'pending@.* firing@'; }
WAIT_TRIES=400 wait_for "the offline rule to fire" offline_fired
sample $(date +%s) 10
offline_resolved() { history "$OFF" | grep -q 'firing@.* resolved@'; }
wait_for "the offline rule to resolve" offline_resolved
wait_for "the offline notification" received_at_least \
    "b.get('state') == 'firing' and b['rule']['metric'] == 'agent.offline'" 1
pass "agent offline fires and resolves"

# ---- the admin CLI lists the rules, of one user or all.
"$SMSERVER" alert list --state-dir "$SM_STATE" >"$T/list" || fail "alert list failed"
grep -q 'cpu high *cpu.usage > 50' "$T/list" || fail "alert list: $(cat "$T/list")"
grep -q 'bob cpu' "$T/list" || fail "alert list lacks bob's rule"
"$SMSERVER" alert list --user bob --state-dir "$SM_STATE" >"$T/list" || fail "alert list --user failed"
grep -q 'cpu high' "$T/list" && fail "alert list --user bob shows alice's rule"
rc=0
"$SMSERVER" alert list --user nobody --state-dir "$SM_STATE" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "alert list --user nobody exited $rc"
rc=0
"$SMSERVER" alert frob --state-dir "$SM_STATE" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "alert frob exited $rc"
pass "admin CLI"

# ---- a firing state survives a restart (no second notification), and secrets were
# never logged.
NOW=$(date +%s)
for t in 1 2 3 4 5 6; do sample $((NOW + t)) 99; done
wait_for "firing again" received_at_least "b.get('state') == 'firing' and round(b['timestamp']) == $((NOW + 6))" 1
n=$(received "b.get('state') == 'firing'")
stop_server
start_server --config "$T/server.conf" --log-level debug
# Restored as firing: more values over the threshold change nothing, and the next
# change is its resolve (without the restore it would be pending, firing again).
for v in 7:99 13:99 20:10 26:10; do sample $((NOW + ${v%:*})) "${v#*:}"; done
last_two() {
    req GET "/alerts/$RULE/events?limit=2" -H "$AA"
    "$PY" -c "import json,sys; print(' '.join('%s@%d' % (e['state'], round(e['timestamp']) - int(sys.argv[2])) for e in json.load(open(sys.argv[1]))))" "$T/body" "$NOW"
}
resolved_after_restart() { [ "$(last_two)" = "resolved@26 firing@6" ]; }
wait_for "the resolve after the restart (got $(last_two))" resolved_after_restart
[ "$(received "b.get('state') == 'firing'")" = "$n" ] || fail "a restart notified a firing alert again"
stop_server
grep -qF "$SECRET" "$SM_LOG" && fail "the webhook secret is in the log"
grep -qF "$OLD_SECRET" "$SM_LOG" && fail "the old webhook secret is in the log"
grep -qF "$BOT" "$SM_LOG" && fail "the bot token is in the log"
pass "state kept across a restart; no secret in the log"

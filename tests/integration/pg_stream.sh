#!/bin/sh
# pg_stream.sh: the live stream and the alerts across two smserver instances on one
# private PostgreSQL cluster (pg_lib.sh), through LISTEN/NOTIFY. Agents post to
# instance a; a viewer on b receives every sample once, and a viewer on a receives
# each once too (not its own again from the database); the latency from a's reply to
# each viewer is printed (tests/bench/bench_pg_stream.sh measures it at 200 agents:
# PG_STREAM_AGENTS, PG_STREAM_SECONDS, and PG_STREAM_REPORT, a file for the figures).
# Instance b leads the alerts: a rule fires on b from samples posted to a, and its
# notification reaches the webhook receiver once. An agent deleted and a logout on a
# reach b's viewers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need curl
pg_start
J='Content-Type: application/json'
NAGENTS=${PG_STREAM_AGENTS:-20}
SECONDS_RUN=${PG_STREAM_SECONDS:-3}

RLOG=$T/received.jsonl
: >"$RLOG"
"$PY" "$top_srcdir/tests/integration/webhook_receiver.py" "$RLOG" --port-file "$T/rport" &
RPID=$!
_kill_insts() {
    for p in ${a_PID:-} ${b_PID:-} ${RPID:-}; do kill -KILL "$p" 2>/dev/null || true; done
}
at_exit _kill_insts
i=0
while [ ! -s "$T/rport" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "the webhook receiver did not start"
    sleep 0.1
done
printf 'webhook_allow_private = 127.0.0.0/8\n' >"$T/server.conf"
on() { eval "URL=http://127.0.0.1:\$${1}_PORT"; }

# b first: it leads the alerts; a only ingests.
start_inst b --config "$T/server.conf"
wait_for "b to lead the alerts" log_has "$T/b/log" "this instance evaluates the alert rules"
start_inst a --config "$T/server.conf"
wait_for "a to leave the alerts to b" log_has "$T/a/log" "another instance evaluates the alert rules"

on a
register alice 'correct horse battery'
login alice 'correct horse battery'
AA="Authorization: Bearer $ACCESS"
printf '%s' "$ACCESS" >"$T/alice.tok"
: >"$T/agents"
for k in $(seq 1 "$NAGENTS"); do
    add_agent "$AA" "host$k"
    printf '%s' "$AGENT_TOKEN" >"$T/agent$k.tok"
    printf '%s %s\n' "$AGENT_ID" "$T/agent$k.tok" >>"$T/agents"
done

# ---- the live stream: every sample posted to a reaches b's viewer once, and a's once.
"$PY" "$top_srcdir/tests/integration/pg_stream.py" "http://127.0.0.1:$a_PORT" \
    "ws://127.0.0.1:$a_PORT/ws" "ws://127.0.0.1:$b_PORT/ws" "$T/alice.tok" "$T/agents" \
    --seconds "$SECONDS_RUN" >"$T/stream.json" || fail "pg_stream.py failed: $(cat "$T/stream.json")"
r=$(cat "$T/stream.json")
[ -z "${PG_STREAM_REPORT:-}" ] || cp "$T/stream.json" "$PG_STREAM_REPORT"
want=$((NAGENTS * SECONDS_RUN))
"$PY" - "$T/stream.json" "$want" <<'PYEOF' || fail "stream across instances: $r (want $want of each)"
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
ok = r["sent"] == n and r["errors"] == 0
for v in ("a", "b"):
    ok = ok and r[v]["received"] == n and r[v]["duplicated"] == 0
sys.exit(0 if ok else 1)
PYEOF
lat() { json "$T/stream.json" "'p50 %s ms, p99 %s ms, max %s ms' % (j['$1']['p50_ms'], j['$1']['p99_ms'], j['$1']['max_ms'])"; }
pass "$want samples posted to a: each reached b's viewer once ($(lat b)) and a's once ($(lat a))"

# Bad input on the channel: anyone who may connect can NOTIFY it. A payload that is not
# the stream's, one too long for its fields, and one naming an agent that does not
# exist are ignored; the listeners go on (the next case streams through b's).
for p in 'garbage' 'ffffffffffffffff 1 2 3' "ffffffffffffffff 1 2 3 4 5" \
    "$(printf 'x%.0s' $(seq 1 300)) 1 2 3 4" 'ffffffffffffffff 999999 0 0 0'; do
    psql -XAtq -c "SELECT pg_notify('sm_samples', '$p')" >/dev/null || fail "psql failed"
done
# A viewer that subscribes by id on b, to an agent b has seen only through a.
AID=$(head -1 "$T/agents" | cut -d' ' -f1)
ATOK=$(cat "$T/agent1.tok")
$PY "$top_srcdir/tests/integration/wsclient.py" "ws://127.0.0.1:$b_PORT/ws" --token-file "$T/alice.tok" \
    --subscribe "$AID" --count 1 --count-type sample --seconds 10 >"$T/ws1.out" &
WSPID=$!
wait_for "the viewer's snapshot" grep -qs '"type": "snapshot"' "$T/ws1.out"
NOW=$(date +%s)
CODE=$(curl -s -o "$T/sbody" -w '%{http_code}' -H "X-Agent-Token: $ATOK" -H "$J" \
    -d "{\"timestamp\":$NOW.25,\"cpu\":{\"usage_percent\":12}}" "http://127.0.0.1:$a_PORT/ingest")
[ "$CODE" = 200 ] || fail "ingest: $CODE $(cat "$T/sbody")"
wait "$WSPID" || true
grep -q "\"type\": \"sample\", \"agent_id\": $AID" "$T/ws1.out" && grep -q "$NOW.25" "$T/ws1.out" ||
    fail "b's viewer of agent $AID did not receive the sample posted to a: $(cat "$T/ws1.out")"
kill -0 "$a_PID" && kill -0 "$b_PID" || fail "an instance died"
pass "foreign payloads on the channel ignored; a viewer subscribed by id on b receives the agent's sample posted to a"

# ---- the alerts: a rule made on b (the leader) fires from samples posted to a; one
# notification, from b only.
on b
req POST /alerts/channels -H "$AA" -H "$J" \
    -d "{\"name\":\"hook\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$(cat "$T/rport")/hook\"}"
expect 201
CH=$(field id)
req POST /alerts -H "$AA" -H "$J" -d "{\"name\":\"cpu high\",\"metric\":\"cpu.usage\",\"op\":\">\",
    \"threshold\":50,\"for_seconds\":2,\"agent_id\":$AID,\"channel_id\":$CH}"
expect 201
RULE=$(field id)
NOW=$(date +%s)
for t in 4 3 2 1 0; do
    CODE=$(curl -s -o "$T/sbody" -w '%{http_code}' -H "X-Agent-Token: $ATOK" -H "$J" \
        -d "{\"timestamp\":$((NOW - t)),\"cpu\":{\"usage_percent\":80}}" "http://127.0.0.1:$a_PORT/ingest")
    [ "$CODE" = 200 ] || fail "ingest: $CODE $(cat "$T/sbody")"
done
firing() { "$PY" -c "
import json, sys
n = 0
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)['body'])
    n += b.get('state') == 'firing' and b['rule']['id'] == $RULE
print(n)" "$RLOG"; }
fired() { [ "$(firing)" -ge 1 ]; }
wait_for "the firing notification from b" fired
sleep 3 # time for a second notification, were there one
[ "$(firing)" = 1 ] || fail "the notification was sent $(firing) times: $(cat "$RLOG")"
on b
req GET "/alerts/$RULE/events" -H "$AA"
expect 200 '"firing"'
pass "a rule on b (the leader) fired from samples posted to a; notified once"

# agent.offline on b judges the agents that report to a: agent 2 (silent since the
# stream case, seen by b only through a) is offline on b, so its rule fires; a sample
# posted to a brings it back on b and the alert resolves. One notification each.
AID2=$(sed -n 2p "$T/agents" | cut -d' ' -f1)
req POST /alerts -H "$AA" -H "$J" -d "{\"name\":\"host2 down\",\"metric\":\"agent.offline\",
    \"for_seconds\":1,\"agent_id\":$AID2,\"channel_id\":$CH}"
expect 201
OFF=$(field id)
notes() { "$PY" -c "
import json, sys
n = 0
for line in open(sys.argv[1]):
    b = json.loads(json.loads(line)['body'])
    n += b.get('state') == sys.argv[2] and b['rule']['id'] == $OFF
print(n)" "$RLOG" "$1"; }
off_fired() { [ "$(notes firing)" -ge 1 ]; }
WAIT_TRIES=400 wait_for "the offline rule to fire on b" off_fired
CODE=$(curl -s -o "$T/sbody" -w '%{http_code}' -H "X-Agent-Token: $(cat "$T/agent2.tok")" -H "$J" \
    -d "{\"timestamp\":$(date +%s),\"cpu\":{\"usage_percent\":5}}" "http://127.0.0.1:$a_PORT/ingest")
[ "$CODE" = 200 ] || fail "ingest: $CODE $(cat "$T/sbody")"
off_resolved() { [ "$(notes resolved)" -ge 1 ]; }
wait_for "the offline rule to resolve on b" off_resolved
sleep 2
[ "$(notes firing)" = 1 ] && [ "$(notes resolved)" = 1 ] ||
    fail "offline notifications: $(notes firing) firing, $(notes resolved) resolved: $(cat "$RLOG")"
pass "agent.offline on b (the leader) fires for an agent of a and resolves when it posts to a; notified once each"

# The listeners' sessions end (as when PostgreSQL restarts or a proxy drops them): each
# listener connects and LISTENs again, and the stream goes on.
n=$(psql -XAtq -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE query LIKE 'LISTEN sm_samples%' OR query LIKE 'SELECT n.ts, s.name%'
       OR query LIKE 'SELECT a.user_id, a.name, a.host%'") || fail "psql failed"
[ "$n" -ge 2 ] || fail "expected two listener sessions, terminated $n"
wait_for "b to listen again" log_has "$T/b/log" "listening to the other instances again"
$PY "$top_srcdir/tests/integration/wsclient.py" "ws://127.0.0.1:$b_PORT/ws" --token-file "$T/alice.tok" \
    --subscribe "$AID" --count 1 --count-type sample --seconds 10 >"$T/ws2.out" &
WSPID=$!
wait_for "the viewer's snapshot" grep -qs '"type": "snapshot"' "$T/ws2.out"
NOW=$(date +%s)
CODE=$(curl -s -o "$T/sbody" -w '%{http_code}' -H "X-Agent-Token: $ATOK" -H "$J" \
    -d "{\"timestamp\":$NOW.75,\"cpu\":{\"usage_percent\":12}}" "http://127.0.0.1:$a_PORT/ingest")
[ "$CODE" = 200 ] || fail "ingest: $CODE $(cat "$T/sbody")"
wait "$WSPID" || true
grep -q "$NOW.75" "$T/ws2.out" || fail "no sample on b after its listener reconnected: $(cat "$T/ws2.out")"
pass "the listeners' sessions terminated: both LISTEN again ($n sessions) and b streams a's samples"
# The FATAL each terminated session was sent reaches libpq as a notice: in the log with
# smserver's prefix, not a bare line of libpq's on stderr.
! grep -h '^FATAL' "$T/a/log" "$T/b/log" || fail "libpq's notice bare on stderr"
grep -q "warning: postgresql: FATAL: .*terminating connection" "$T/b/log" ||
    fail "no notice of the terminated session in b's log: $(tail -5 "$T/b/log")"
pass "the terminated sessions' notices in the log: $(grep -m1 'postgresql: FATAL' "$T/b/log")"

# ---- an agent deleted and a logout on a reach b's viewers: b's viewer of every agent
# gets the removal notice, and the logout closes its stream ("access revoked"), as a
# viewer on a would. Payloads on sm_events that are not ours are ignored first.
for p in 'garbage' 'ffffffffffffffff logout 1' 'ffffffffffffffff shutdown 1 0' \
    'ffffffffffffffff logout x 0' "ffffffffffffffff agent-removed 1 $AID extra"; do
    psql -XAtq -c "SELECT pg_notify('sm_events', '$p')" >/dev/null || fail "psql failed"
done
ALAST=$(tail -1 "$T/agents" | cut -d' ' -f1)
$PY "$top_srcdir/tests/integration/wsclient.py" "ws://127.0.0.1:$b_PORT/ws" --token-file "$T/alice.tok" \
    --subscribe all --seconds 20 >"$T/ws3.out" &
WSPID=$!
wait_for "the viewer's snapshot" grep -qs '"type": "snapshot"' "$T/ws3.out"
on a
req DELETE "/agents/$ALAST" -H "$AA"
expect 200
wait_for "b's viewer to hear that agent $ALAST was deleted on a" \
    grep -qs "\"type\": \"removed\", \"agent_id\": $ALAST" "$T/ws3.out"
! grep -q '"closed"' "$T/ws3.out" || fail "b closed its stream early: $(cat "$T/ws3.out")"
req POST /logout -H "$J" -d "{\"refresh_token\":\"$REFRESH\"}"
expect 200
wait_for "b to close its stream after the logout on a" grep -qs '"closed": 1008' "$T/ws3.out"
wait "$WSPID" || true
grep -q 'access revoked' "$T/ws3.out" || fail "b's stream closed for another reason: $(cat "$T/ws3.out")"
pass "an agent deleted and a logout on a: b's viewer gets the removal notice, then its stream ends"

# SIGTERM: each instance stops its listener with its other threads and exits 0 (under
# the sanitizers: nothing leaked, no error).
for n in a b; do
    eval "p=\$${n}_PID"
    kill -TERM "$p"
    rc=0
    wait "$p" || rc=$?
    eval "${n}_PID="
    [ $rc = 0 ] || fail "instance $n exited $rc on SIGTERM: $(tail -20 "$T/$n/log")"
    ! grep -q "Sanitizer\|runtime error" "$T/$n/log" || fail "instance $n: $(cat "$T/$n/log")"
done
pass "both instances stop on SIGTERM and exit 0"

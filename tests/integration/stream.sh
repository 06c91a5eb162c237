#!/bin/sh
# stream.sh: the live stream with a WebSocket client that is not ours (python3-websockets):
# auth by message and by subprotocol, refusals, isolation, snapshot, samples, status,
# lag for a stuck client, removal, logout, reconnect after a server restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
WS="/usr/bin/python3 $(dirname "$0")/wsclient.py"
/usr/bin/python3 -c 'import websockets' 2>/dev/null || skip "python3-websockets is not installed"

start_server
register alice alice-password-1
login alice alice-password-1
printf '%s' "$ACCESS" >"$T/alice.tok"
A_REFRESH=$REFRESH
register bob bob-password-12
login bob bob-password-12
printf '%s' "$ACCESS" >"$T/bob.tok"

# agent NAME TOKENFILE: create an agent for the owner of TOKENFILE; prints id, saves token.
agent() {
    req POST /agents -H "Authorization: Bearer $(cat "$2")" -H 'Content-Type: application/json' \
        -d "{\"name\":\"$1\"}"
    expect 200
    field token >"$T/$1.agent"
    field id
}
A1=$(agent web1 "$T/alice.tok")
B1=$(agent bobhost "$T/bob.tok")
# ingest NAME: post a fresh sample of this machine as agent NAME.
ingest() {
    "$SMAGENT" --once >"$T/once.json"
    req POST /ingest -H "X-Agent-Token: $(cat "$T/$1.agent")" -H 'Content-Type: application/json' \
        --data-binary @"$T/once.json"
    expect 200
}
ingest web1
ingest bobhost
WSURL=ws://127.0.0.1:$PORT/ws

# wait_subscribed FILE: wait until the client writing FILE has its snapshot (is subscribed).
wait_subscribed() {
    i=0
    until grep -q '"type": "snapshot"' "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 200 ] || fail "no snapshot for a client: $(cat "$1")"
        sleep 0.1
    done
}
# msgs FILE: the message types received, in order, space separated.
types() { "$PY" -c "import json,sys; print(' '.join(str(json.loads(l).get('type', 'closed:%s' % json.loads(l).get('closed'))) for l in open(sys.argv[1])))" "$1"; }

# 1. Auth by first message, subscribe all: ready, snapshot with alice's agent only.
$WS "$WSURL" --token-file "$T/alice.tok" --subscribe all --count 2 --seconds 5 >"$T/a.out"
[ "$(types "$T/a.out")" = "ready snapshot closed:1000" ] || fail "message auth: $(types "$T/a.out")"
"$PY" - "$T/a.out" "$A1" <<'PY' || fail "snapshot content"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
snap = msgs[1]
ids = [a["agent_id"] for a in snap["agents"]]
assert ids == [int(sys.argv[2])], ids
a = snap["agents"][0]
assert a["name"] == "web1" and a["online"] is True, a
assert a["sample"]["cpu"]["per_core_usage"], a["sample"]
assert a["host"]["hostname"], a["host"]
PY
pass "auth by message; snapshot has the user's agent, its host facts, latest sample, online"

# 2. Auth by subprotocol ("sm, bearer.TOKEN").
$WS "$WSURL" --auth protocol --token-file "$T/alice.tok" --subscribe all --count 2 --seconds 5 >"$T/p.out"
[ "$(types "$T/p.out")" = "ready snapshot closed:1000" ] || fail "subprotocol auth: $(cat "$T/p.out")"
pass "auth by Sec-WebSocket-Protocol"

# 3. Refusals: no auth within 5 s, another first message, bad token, token in the query
#    string, another origin, a bad path. Nothing is sent before the close.
$WS "$WSURL" --auth none --seconds 8 >"$T/n.out"
[ "$(types "$T/n.out")" = "closed:1008" ] || fail "no auth: $(cat "$T/n.out")"
$WS "$WSURL" --first '{"type":"subscribe","agents":"all"}' --seconds 5 >"$T/f.out"
[ "$(types "$T/f.out")" = "closed:1008" ] || fail "subscribe before auth: $(cat "$T/f.out")"
printf 'not-a-token' >"$T/bad.tok"
$WS "$WSURL" --token-file "$T/bad.tok" --seconds 5 >"$T/b.out"
[ "$(types "$T/b.out")" = "closed:1008" ] || fail "bad token: $(cat "$T/b.out")"
$WS "$WSURL" --auth protocol --token-file "$T/bad.tok" --seconds 5 >"$T/bp.out"
grep -q refused "$T/bp.out" || fail "bad subprotocol token accepted: $(cat "$T/bp.out")"
$WS "$WSURL?token=$(cat "$T/alice.tok")" --token-file "$T/alice.tok" --seconds 5 >"$T/q.out"
grep -q refused "$T/q.out" || fail "token in the query string accepted: $(cat "$T/q.out")"
$WS "$WSURL" --origin http://evil.example --token-file "$T/alice.tok" --seconds 5 >"$T/o.out"
grep -q refused "$T/o.out" || fail "foreign origin accepted: $(cat "$T/o.out")"
$WS "$WSURL" --origin "http://127.0.0.1:$PORT" --token-file "$T/alice.tok" --count 1 --seconds 5 >"$T/oo.out"
[ "$(types "$T/oo.out")" = "ready closed:1000" ] || fail "own origin refused: $(cat "$T/oo.out")"
$WS "ws://127.0.0.1:$PORT/wsx" --token-file "$T/alice.tok" --seconds 5 >"$T/x.out"
grep -q refused "$T/x.out" || fail "bad path accepted: $(cat "$T/x.out")"
big=$("$PY" -c 'print("x" * 20000)')
$WS "$WSURL" --token-file "$T/alice.tok" --send "$big" --seconds 5 >"$T/big.out"
grep -q '"closed": 1009' "$T/big.out" || fail "oversized message: $(cat "$T/big.out")"
pass "refused: no auth (1008), other first message, bad token, query token, origin, path, 1009"

# Invalid UTF-8 closes with 1007, a binary message with 1003, a flood with 1008.
$WS "$WSURL" --token-file "$T/alice.tok" --send-raw 'c328ff' --seconds 5 >"$T/utf.out"
grep -q '"closed": 1007' "$T/utf.out" || fail "invalid UTF-8: $(cat "$T/utf.out")"
$WS "$WSURL" --token-file "$T/alice.tok" --send-binary '{"type":"ping"}' --seconds 5 >"$T/bin.out"
grep -q '"closed": 1003' "$T/bin.out" || fail "binary message: $(cat "$T/bin.out")"
flood=""
for i in $(seq 60); do flood="$flood --send {\"type\":\"ping\"}"; done
# shellcheck disable=SC2086
$WS "$WSURL" --token-file "$T/alice.tok" $flood --seconds 5 >"$T/flood.out"
# The server answers at most its rate (20 a second) and closes the connection: 1008, or
# 1006 when the close frame is lost to the reset of a client still sending.
grep -Eq '"closed": (1008|1006)' "$T/flood.out" || fail "flood not closed: $(tail -n 2 "$T/flood.out")"
[ "$(grep -c '"type": "pong"' "$T/flood.out")" -le 20 ] || fail "flood answered beyond the rate"
# The same server still serves a well-behaved client.
$WS "$WSURL" --token-file "$T/alice.tok" --subscribe all --count 2 --seconds 5 >"$T/after.out"
[ "$(types "$T/after.out")" = "ready snapshot closed:1000" ] || fail "after abuse: $(types "$T/after.out")"
pass "invalid UTF-8 (1007), binary (1003) and floods (1008) close only the offender"

# 4. Isolation: bob cannot subscribe to alice's agent; alice gets only her samples.
$WS "$WSURL" --token-file "$T/bob.tok" --subscribe "$A1" --count 2 --seconds 5 >"$T/iso.out"
grep -q '"type": "error"' "$T/iso.out" || fail "bob subscribed to alice's agent: $(cat "$T/iso.out")"
grep -q "\"agent_id\": $A1" "$T/iso.out" && fail "bob saw alice's agent"
$WS "$WSURL" --token-file "$T/alice.tok" --subscribe all --count-type sample --count 1 --seconds 10 >"$T/live.out" &
wsp=$!
wait_subscribed "$T/live.out"
ingest bobhost
ingest web1
wait $wsp
"$PY" - "$T/live.out" "$A1" <<'PY' || fail "live samples: $(cat "$T/live.out")"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
samples = [m for m in msgs if m.get("type") == "sample"]
assert samples, msgs
assert all(m["agent_id"] == int(sys.argv[2]) for m in samples), samples
assert "cpu" in samples[0]["sample"]
PY
pass "samples stream to their owner only"

# 4b. An agent the admin CLI creates while the server runs streams like any other.
"$SMSERVER" agent add --user alice cli1 --state-dir "$SM_STATE" >"$T/cli1.json" 2>/dev/null ||
    fail "smserver agent add while the server runs"
C1=$(json "$T/cli1.json" 'j["id"]')
json "$T/cli1.json" 'j["token"]' >"$T/cli1.agent"
$WS "$WSURL" --token-file "$T/alice.tok" --subscribe all --count-type sample --count 1 --seconds 10 >"$T/cli.out" &
wsp=$!
wait_subscribed "$T/cli.out"
ingest cli1
wait $wsp
grep -q "\"type\": \"sample\", \"agent_id\": $C1" "$T/cli.out" ||
    fail "no live sample from an agent added by the CLI: $(types "$T/cli.out")"
pass "an agent added with the admin CLI while the server runs streams its samples"

# 5. A stuck client (tiny receive buffer, reads nothing) loses the oldest messages and is
#    told how many; the other clients and ingestion are not slowed.
"$PY" "$(dirname "$0")/stuck_client.py" 127.0.0.1 "$PORT" "$T/alice.tok" "$T/go" 3 >"$T/lag.json" &
stuckp=$!
$WS "$WSURL" --token-file "$T/alice.tok" --subscribe all --count 10000 --seconds 30 >"$T/fast.out" &
fastp=$!
wait_subscribed "$T/fast.out"
"$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/web1.agent" 400 --ifaces 100 >/dev/null ||
    fail "posting samples failed while a client was stuck"
touch "$T/go"
wait $stuckp || fail "stuck client: $(cat "$T/lag.json")"
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["lag"] and j["dropped"] > 0 else 1)' \
    "$T/lag.json" || fail "no lag notice for a stuck client: $(cat "$T/lag.json")"
kill $fastp 2>/dev/null; wait $fastp 2>/dev/null || true
n=$(grep -c '"type": "sample"' "$T/fast.out" || true)
[ "$n" -ge 390 ] || fail "a reading client got only $n of 400 samples while another was stuck"
pass "a stuck client is told it lost $(json "$T/lag.json" 'j["dropped"]') messages; a reading one got $n of 400"

# 6. Deleting an agent tells subscribers; logout closes the user's streams.
$WS "$WSURL" --token-file "$T/alice.tok" --subscribe all --seconds 6 >"$T/del.out" &
wsp=$!
wait_subscribed "$T/del.out"
req DELETE "/agents/$A1" -H "Authorization: Bearer $(cat "$T/alice.tok")"
expect 200
sleep 0.5
req POST /logout -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$A_REFRESH\"}"
expect 200
wait $wsp || true
grep -q '"type": "removed"' "$T/del.out" || fail "no removal notice: $(types "$T/del.out")"
grep -q '"closed": 1008' "$T/del.out" || fail "logout did not close the stream: $(types "$T/del.out")"
pass "agent removal notice; logout closes the stream"

# 7. A server restart: a new connection works against the restarted server.
stop_server
start_server
login bob bob-password-12
printf '%s' "$ACCESS" >"$T/bob2.tok"
$WS "ws://127.0.0.1:$PORT/ws" --token-file "$T/bob2.tok" --subscribe all --count 2 --seconds 5 >"$T/r.out"
grep -q "\"agent_id\": $B1" "$T/r.out" || fail "after restart: $(cat "$T/r.out")"
pass "reconnect after a restart: the snapshot comes from the database"
stop_server

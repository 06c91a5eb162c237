#!/bin/sh
# procs_history.sh: process snapshots ("time travel", issue 20) through a real server:
# samples with processes posted for past minutes; GET /history/{id}/processes answers
# the busiest sample's list of the minute at or before `at`, 404 for an empty span and
# for another user's agent, 400 naming the field for bad parameters; snapshots past
# their retention go at the next maintenance round; process_snapshots_max_mb = 0 keeps
# none (and removes those stored); bad settings stop the start with exit 2 naming the key. Prints the bytes of a
# stored 10-process snapshot.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
J='Content-Type: application/json'

start_server
register tina 'tina password 1'
login tina 'tina+password+1'
AUTH="Authorization: Bearer $ACCESS"
add_agent "$AUTH" web1
ID=$AGENT_ID
TOK=$AGENT_TOKEN
register otto 'otto password 1'
login otto 'otto+password+1'
OAUTH="Authorization: Bearer $ACCESS"
add_agent "$OAUTH" db1
OID=$AGENT_ID

# M: the start of a minute half an hour ago. Minute M: three samples of 10 processes,
# the second the busiest (its top process is "hotproc"); minute M+3: one sample; and
# one sample 25 hours ago (past the default retention of 24 hours).
M=$("$PY" -c 'import time; print(int(time.time()) // 60 * 60 - 1800)')
"$PY" - "$M" >"$T/batch.json" <<'PY'
import json, sys
m = int(sys.argv[1])
def sample(ts, top, cpu):
    procs = [{"pid": 100 + k, "ppid": 1, "user": "www-data", "state": "S",
              "name": top if k == 0 else "worker%02d" % k,
              "cmdline": "/usr/sbin/%s --config /etc/worker.conf" % (top if k == 0 else "worker%02d" % k),
              "cpu_percent": cpu if k == 0 else 1.0, "rss_bytes": 52428800 + k, "threads": 4,
              "start_time": 1765000000.0 + k} for k in range(10)]
    return {"timestamp": ts, "cpu": {"usage_percent": 10.0}, "processes": procs}
print(json.dumps({"samples": [sample(m + 5, "calmproc", 3.0), sample(m + 25, "hotproc", 97.5),
                              sample(m + 45, "warmproc", 40.0), sample(m + 180 + 10, "laterproc", 5.0),
                              sample(m - 25 * 3600, "oldproc", 5.0),
                              {"timestamp": m + 600, "cpu": {"usage_percent": 1.0}}]}))
PY
req POST /ingest -H "X-Agent-Token: $TOK" -H "$J" --data-binary @"$T/batch.json"
expect 200 '"stored":6'

# The busiest sample of minute M answers anywhere in that minute and up to `window` after.
req GET "/history/$ID/processes?at=$((M + 30))" -H "$AUTH"
expect 200
[ "$(body 'j["processes"][0]["name"]')" = hotproc ] || fail "minute M: $(cat "$T/body")"
[ "$(body 'len(j["processes"])')" = 10 ] || fail "minute M: not 10 processes: $(cat "$T/body")"
[ "$(body 'int(j["ts"])')" = $((M + 25)) ] || fail "minute M: ts: $(cat "$T/body")"
[ "$(body 'j["agent_id"]')" = "$ID" ] || fail "agent_id: $(cat "$T/body")"
[ "$(body 'j["processes"][0]["cmdline"]')" = "/usr/sbin/hotproc --config /etc/worker.conf" ] ||
    fail "cmdline: $(cat "$T/body")"
req GET "/history/$ID/processes?at=$M" -H "$AUTH"
expect 200 '"hotproc"'
pass "a past minute's snapshot is its busiest sample's process list"

req GET "/history/$ID/processes?at=$((M + 150))" -H "$AUTH"
expect 200 '"hotproc"'
req GET "/history/$ID/processes?at=$((M + 200))" -H "$AUTH"
expect 200 '"laterproc"'
req GET "/history/$ID/processes?at=$((M + 170))&window=60" -H "$AUTH"
expect 404 '"detail"'
req GET "/history/$ID/processes?at=$((M - 60))" -H "$AUTH"
expect 404 'no process snapshot'
req GET "/history/$ID/processes?at=$((M + 900))" -H "$AUTH"
expect 404 'no process snapshot'
req GET "/history/$ID/processes" -H "$AUTH"
expect 404 'no process snapshot'
pass "at or before, within the window; an empty span is 404"

iso=$("$PY" -c 'import sys, datetime; print(datetime.datetime.fromtimestamp(int(sys.argv[1]) + 40, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$M")
req GET "/history/$ID/processes?at=$iso" -H "$AUTH"
expect 200 '"hotproc"'
req GET "/history/$ID/processes?at=-28m" -H "$AUTH"
expect 200 '"processes"'
pass "at takes the time grammar of start and stop"

for q in 'at=yesterday-ish' 'at=' 'at=1e400' "at=$M&at=$M" 'window=-1' 'window=3601' \
    'window=5x' 'window=1&window=2' 'when=now' 'at'; do
    CASE="bad query $q" req GET "/history/$ID/processes?$q" -H "$AUTH"
    CASE="bad query $q" expect 400 '"detail"'
    case $q in
    at*) grep -q '"detail":"[^"]*at' "$T/body" || fail "$q: detail does not name at: $(cat "$T/body")" ;;
    window*) grep -q '"detail":"window' "$T/body" || fail "$q: detail does not name window: $(cat "$T/body")" ;;
    when*) grep -q '"detail":"when' "$T/body" || fail "$q: detail does not name when: $(cat "$T/body")" ;;
    esac
done
pass "bad parameters are 400 naming the field"

req GET "/history/$OID/processes?at=$((M + 30))" -H "$AUTH"
expect 404 'Agent not found'
req GET "/history/$ID/processes?at=$((M + 30))" -H "$OAUTH"
expect 404 'Agent not found'
req GET "/history/999999/processes?at=$((M + 30))" -H "$AUTH"
expect 404 'Agent not found'
req GET "/history/$ID/processes?at=$((M + 30))"
expect 401
pass "another user's agent is 404; no token is 401"

bytes=$(sql "SELECT bytes FROM proc_snapshots WHERE agent_id = $ID AND minute = $((M / 60))")
echo "figure: a stored 10-process snapshot takes $bytes bytes (its JSON)"
[ "$bytes" -gt 500 ] && [ "$bytes" -lt 4000 ] || fail "snapshot size $bytes"
[ "$(sql "SELECT count(*) FROM proc_snapshots WHERE agent_id = $ID")" -ge 2 ] ||
    fail "snapshots: $(sql "SELECT count(*) FROM proc_snapshots")"

# Retention: the 25-hour-old snapshot goes at the first maintenance round of a restart.
stop_server
start_server
i=0
while [ "$(sql "SELECT count(*) FROM proc_snapshots WHERE ts < $(((M - 3600) * 1000))")" != 0 ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "the 25-hour-old snapshot was not removed"
    sleep 0.1
done
[ "$(sql "SELECT count(*) FROM proc_snapshots WHERE agent_id = $ID")" = 2 ] ||
    fail "retention removed younger snapshots"
req GET "/history/$ID/processes?at=$((M + 30))" -H "$AUTH"
expect 200 '"hotproc"'
pass "retention removes what is past 24 hours, and nothing younger"
stop_server

# Off: process_snapshots_max_mb = 0 keeps none: a new agent's samples are stored without
# them, and the maintenance round removes those stored before.
printf 'process_snapshots_max_mb = 0\n' >"$T/off.conf"
start_server --config "$T/off.conf"
login tina 'tina+password+1'
AUTH="Authorization: Bearer $ACCESS"
add_agent "$AUTH" web2
req POST /ingest -H "X-Agent-Token: $AGENT_TOKEN" -H "$J" --data-binary @"$T/batch.json"
expect 200 '"stored":6'
[ "$(sql "SELECT count(*) FROM proc_snapshots WHERE agent_id = $AGENT_ID")" = 0 ] ||
    fail "snapshots written while off"
req GET "/history/$AGENT_ID/processes?at=$((M + 30))" -H "$AUTH"
expect 404 'no process snapshot'
i=0
while [ "$(sql "SELECT count(*) FROM proc_snapshots")" != 0 ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "the stored snapshots were not removed with a cap of 0"
    sleep 0.1
done
stop_server
pass "process_snapshots_max_mb = 0 stores none and removes those stored"

# Bad settings: exit 2, naming the key.
for kv in 'process_snapshots_max_mb = -1' 'process_snapshots_max_mb = lots' \
    'process_snapshots_max_mb = 2000000' 'process_snapshots_retention_hours = 0' \
    'process_snapshots_retention_hours = 9000' 'process_snapshots_retention_hours = 1d'; do
    printf '%s\n' "$kv" >"$T/bad.conf"
    rc=0
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --config "$T/bad.conf" \
        >"$T/bad.out" 2>&1 || rc=$?
    [ $rc = 2 ] || fail "$kv: exit $rc, not 2"
    grep -q "${kv%% *}" "$T/bad.out" || fail "$kv: the message does not name the key: $(cat "$T/bad.out")"
done
pass "bad settings stop the start with exit 2 naming the key"

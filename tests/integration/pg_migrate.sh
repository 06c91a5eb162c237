#!/bin/sh
# pg_migrate.sh: smserver migrate --from PATH.db --to POSTGRESQL against a private
# cluster (pg_lib.sh). A SQLite server's users, agents, refresh tokens, channels, rules
# and alert events, made through the API, and its samples (three days back-filled by
# two agents, sealed into chunks by the server, late samples in a sealed window, a real
# smagent --once sample, process snapshots) with their rollups, are copied with counts
# and checksums per table (the samples' points counted apart by smdb.py's own decoder);
# a second run copies nothing and still matches; a run killed (SIGKILL) during the
# samples and run again ends with exactly the rows of an uninterrupted one. A
# PostgreSQL server then answers /history (-1h, -24h, -7d, raw around the late
# samples, per-core and summary), the processes of a past minute and the alert events
# exactly as the SQLite server did, logs the user in with the old password, rotates the
# old refresh token, and lists the agent, the channel and the rule (with the channel).
# A target that holds other rows or one changed value is refused naming the table;
# usage errors exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need curl
pg_start
J='Content-Type: application/json'

# ---- usage errors: exit 2 with the usage line; a missing file exits 1 naming it.
for args in "" "--from $T/x.db" "--to $PG_CONNINFO" "--from $T/x.db --to $T/y.db" \
    "--from postgresql://h/db --to postgresql://h/db2" "--from $T/x.db --to postgresql://h/db extra" "--bogus" \
    "--from $T/x.db --to postgresql://h/db --batch 0" "--from $T/x.db --to postgresql://h/db --batch 1x" \
    "--from $T/x.db --to postgresql://h/db --batch 100001"; do
    rc=0
    # shellcheck disable=SC2086
    "$SMSERVER" migrate $args >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -eq 2 ] || fail "migrate $args: exit $rc, expected 2: $(cat "$T/err")"
    case $args in
    *--batch*) want="--batch: expected a number of samples from 1 to 100000" ;;
    *) want="usage: smserver migrate\|--from: \|--to: " ;;
    esac
    grep -q -- "$want" "$T/err" || fail "migrate $args: $(cat "$T/err")"
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
printf '%s\n' "$AGENT_TOKEN" >"$T/web1.tok"
WEB1_TOKEN=$AGENT_TOKEN
add_agent "$AA" db1
req POST /alerts/channels -H "$AA" -H "$J" -d '{"name":"hook","type":"webhook","url":"http://127.0.0.1:9/hook"}'
expect 201 '"secret":"'
CH=$(field id)
req POST /alerts -H "$AA" -H "$J" \
    -d "{\"name\":\"hot\",\"metric\":\"cpu.usage\",\"op\":\">\",\"threshold\":90.125,\"agent_id\":$AGENT,\"channel_id\":$CH}"
expect 201
RULE=$(field id)
printf '%s\n' "$AGENT_TOKEN" >"$T/db1.tok"
DB1=$AGENT_ID
DB=$SM_STATE/statusmonitor.db
# q QUERY: one value from the SQLite database (python's sqlite3, read-only use).
q() { "$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1], timeout=10).execute(sys.argv[2]).fetchone()[0])' "$DB" "$1"; }

# ---- samples: three days back-filled (past day boundaries) by web1 every 20 s with
# four interfaces, and by db1 every 60 s with three processes; a real smagent sample
# of web1; a live sample over the rule's threshold, which fires it.
NOW=$("$PY" -c 'import time; print(int(time.time()))')
START=$((NOW - 3 * 86400 - 3600))
"$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/web1.tok" 13140 --start "$START" --step 20 \
    --ifaces 4 --batch 200 >/dev/null || fail "web1's back-fill failed"
"$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/db1.tok" 4380 --start "$START" --step 60 \
    --procs 3 --batch 200 >/dev/null || fail "db1's back-fill failed"
[ "$(post_once "$WEB1_TOKEN")" = 200 ] || fail "smagent --once sample not accepted"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "X-Agent-Token: $WEB1_TOKEN" -H "$J" \
    -d '{"cpu":{"usage_percent":95}}' "$URL/ingest")
[ "$code" = 200 ] || fail "live sample: $code $(cat "$T/body")"
fired() {
    req GET "/alerts/$RULE/events" -H "$AA"
    [ "$CODE" = 200 ] && grep -q '"firing"' "$T/body"
}
wait_for "the rule to fire" fired
# The maintenance thread seals every closed window (all but the newest) and, once the
# back-fill (behind the watermark) has been quiet for 30 s, rolls up its minutes.
sealed() {
    [ "$(q "SELECT count(*) FROM samples WHERE ts < ($NOW - 3 * 7200) * 1000")" = 0 ] 2>/dev/null &&
        [ "$(q 'SELECT count(*) FROM chunk_samples')" -gt 60 ] 2>/dev/null &&
        [ "$(q 'SELECT count(*) FROM rollup_dirty')" = 0 ] 2>/dev/null
}
WAIT_TRIES=3000 wait_for "every closed window sealed and rolled up" sealed

# answers DIR: the SQLite or PostgreSQL server's answers to the same questions, one file
# each (absolute times, so that both ask for the same buckets).
answers() {
    mkdir -p "$1"
    n=0
    for path in "/history/$AGENT/cpu?start=$((NOW - 3600))&stop=$NOW&points=360" \
        "/history/$AGENT/cpu?start=$((NOW - 86400))&stop=$NOW" \
        "/history/$AGENT/cpu?start=$((NOW - 7 * 86400))&stop=$NOW" \
        "/history/$AGENT/memory?start=$((NOW - 86400))&stop=$NOW" \
        "/history/$AGENT/network?start=$((NOW - 7 * 86400))&stop=$NOW&points=100" \
        "/history/$AGENT/series?name=cpu.core.usage&core=1&start=$((NOW - 7 * 86400))&stop=$NOW" \
        "/history/$AGENT/series?name=cpu.usage&start=$((LATE - 600))&stop=$((LATE + 1200))&points=1800" \
        "/history/$AGENT/summary?start=$((NOW - 7 * 86400))&stop=$NOW" \
        "/history/$AGENT/series" \
        "/history/$DB1/cpu?start=$((NOW - 7 * 86400))&stop=$NOW&points=2000" \
        "/history/$DB1/processes?at=$((NOW - 43200))" \
        "/alerts/$RULE/events"; do
        n=$((n + 1))
        req GET "$path" -H "$AA"
        CASE="$path" expect 200
        printf '%s\n' "$path" >"$1/$n.path"
        cp "$T/body" "$1/$n.json"
    done
}

# Late samples inside a sealed window (rows beside its chunks until the next seal, and
# dirty minutes), then the answers, then the server stops; again if a seal merged them
# first.
LATE=$((START + 86400 + 1807))
for try in 1 2 3; do
    "$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/web1.tok" 30 --start "$((LATE + try))" \
        --step 20 --batch 30 >/dev/null || fail "late samples refused"
    answers "$T/a_sqlite"
    stop_server
    mixed=$(q "SELECT count(*) FROM samples s WHERE s.ts < ($NOW - 3 * 7200) * 1000 AND EXISTS
        (SELECT 1 FROM chunk_samples c WHERE c.agent_id = s.agent_id AND c.t0 / 7200000 = s.ts / 7200000)")
    [ "$mixed" -gt 0 ] && break
    [ $try -lt 3 ] || fail "the late samples were sealed before the server stopped, three times"
    start_server --config "$T/server.conf"
done
# SQLite packs the minute tier by the hour (rollup_1m_hours, 60 minutes a row).
[ "$(q 'SELECT count(*) FROM rollup_1m_hours')" -gt 100 ] && [ "$(q 'SELECT count(*) FROM proc_snapshots')" -gt 100 ] &&
    [ "$(q 'SELECT count(*) FROM alert_events')" -gt 0 ] && [ "$(q 'SELECT count(*) FROM latest')" = 2 ] ||
    fail "the SQLite database lacks rollups, snapshots, events or newest samples: $(q "SELECT (SELECT count(*) FROM rollup_1m_hours) || ' ' || (SELECT count(*) FROM proc_snapshots) || ' ' || (SELECT count(*) FROM alert_events) || ' ' || (SELECT count(*) FROM latest)")"
# Half the sample rows rewritten in point blob version 1, as an smserver before version 2
# wrote them (same points): migrate reads a database that holds both.
"$PY" "$(dirname "$0")/smdb.py" to-v1 "$DB" >"$T/tov1" || fail "smdb.py to-v1: $(cat "$T/tov1")"
v1=$(q "SELECT count(*) FROM samples WHERE substr(data, 1, 1) = x'01'")
v2=$(q "SELECT count(*) FROM samples WHERE substr(data, 1, 1) = x'02'")
[ "$v1" -gt 20 ] && [ "$v2" -gt 20 ] || fail "not a mix of blob versions: $v1 v1, $v2 v2 ($(cat "$T/tov1"))"
echo "SQLite: $v1 sample rows in blob version 1, $v2 in version 2"
# Every stored sample and point, through smdb.py's own decoders of rows and chunks.
WANT_SAMPLES=$(sql 'SELECT count(*) FROM raw_samples')
WANT_POINTS=$(sql 'SELECT count(*) FROM raw_points')
echo "SQLite: $WANT_SAMPLES samples, $WANT_POINTS points, $mixed late rows in sealed windows," \
    "$(q 'SELECT count(*) FROM rollup_dirty') dirty minutes, $(q 'SELECT count(*) FROM chunks') chunks"
[ "$WANT_SAMPLES" -gt 17000 ] || fail "only $WANT_SAMPLES samples stored"
pass "SQLite: three days of two agents' samples, sealed chunks with late rows, rollups, snapshots, events"

"$SMSERVER" migrate --from "$DB" --to "$PG_CONNINFO" >"$T/m1" 2>"$T/err" ||
    fail "migrate failed: $(cat "$T/err") $(cat "$T/m1")"
cat "$T/m1"
grep "points copied in" "$T/err" || fail "no final progress line: $(cat "$T/err")"
for l in "users: 2 rows, 2 copied, 0 already there" "agents: 2 rows, 2 copied" \
    "refresh_tokens: 1 rows, 1 copied" "alert_channels: 1 rows, 1 copied" \
    "alert_rules: 1 rows, 1 copied" "latest: 2 rows, 2 copied" \
    "samples: $WANT_SAMPLES rows ($WANT_POINTS points), $WANT_SAMPLES copied, 0 already there" \
    "every table matches"; do
    grep -qF "$l" "$T/m1" || fail "first run lacks '$l': $(cat "$T/m1")"
done
[ "$(grep -c 'checksum [0-9a-f]* matches' "$T/m1")" = 14 ] || fail "not 14 matching checksums"
[ "$(psql -XAtc 'SELECT count(*), sum(cardinality(sids)) FROM samples')" = "$WANT_SAMPLES|$WANT_POINTS" ] ||
    fail "PostgreSQL holds $(psql -XAtc 'SELECT count(*), sum(cardinality(sids)) FROM samples')"
[ "$(psql -XAtc "SELECT count(*) FROM pg_inherits WHERE inhparent = 'samples'::regclass")" -ge 4 ] ||
    fail "fewer than four day partitions"
for t in series rollup_1h rollup_dirty proc_snapshots alert_events; do
    [ "$(psql -XAtc "SELECT count(*) FROM $t")" = "$(q "SELECT count(*) FROM $t")" ] ||
        fail "$t: counts differ"
done
# The minute rows: as many on PostgreSQL as migrate unpacked from SQLite's hours (its
# checksum above covers their values), and more than a row an hour.
m1m=$(psql -XAtc "SELECT count(*) FROM rollup_1m")
grep -qF "rollup_1m: $m1m rows, $m1m copied" "$T/m1" && [ "$m1m" -gt "$(q 'SELECT count(*) FROM rollup_1m_hours')" ] ||
    fail "rollup_1m: PostgreSQL has $m1m minute rows; migrate said $(grep rollup_1m: "$T/m1")"
pass "first run: every table and every sample copied, counted and its checksum matches"

"$SMSERVER" migrate --from "$DB" --to "$PG_CONNINFO" >"$T/m2" 2>"$T/err" ||
    fail "second run failed: $(cat "$T/err")"
grep -q "users: 2 rows, 0 copied, 2 already there" "$T/m2" &&
    grep -q "alert_rules: 1 rows, 0 copied, 1 already there" "$T/m2" ||
    fail "second run: $(cat "$T/m2")"
[ "$(psql -XAtc 'select count(*) from users')" = 2 ] || fail "the second run duplicated users"
grep -qF "samples: $WANT_SAMPLES rows ($WANT_POINTS points), 0 copied, $WANT_SAMPLES already there" "$T/m2" ||
    fail "second run, samples: $(cat "$T/m2")"
pass "a second run copies nothing and still matches"

# ---- killed during the samples (SIGKILL, small batches), then run again: the same rows.
"$PG_BIN/createdb" -h "$PG_SOCK" -U smtest smtest2 || fail "createdb smtest2"
PG2="host=$PG_SOCK port=5432 user=smtest dbname=smtest2"
p2() { psql -XAtq -d smtest2 -c "$1"; }
"$SMSERVER" migrate --from "$DB" --to "$PG2" --batch 40 >"$T/k1" 2>&1 &
MPID=$!
some() { [ "$(p2 'SELECT count(*) FROM samples' 2>/dev/null)" -gt 0 ] 2>/dev/null; }
WAIT_TRIES=1200 wait_for "the first samples in smtest2" some
kill -KILL $MPID
wait $MPID 2>/dev/null || true
got=$(p2 'SELECT count(*) FROM samples')
echo "killed with $got of $WANT_SAMPLES samples copied"
[ "$got" -gt 0 ] && [ "$got" -lt "$WANT_SAMPLES" ] || fail "not killed part way: $got of $WANT_SAMPLES"
"$SMSERVER" migrate --from "$DB" --to "$PG2" >"$T/k2" 2>"$T/err" || fail "the run after the kill: $(cat "$T/err") $(cat "$T/k2")"
grep -qF "samples: $WANT_SAMPLES rows ($WANT_POINTS points), $((WANT_SAMPLES - got)) copied, $got already there" "$T/k2" ||
    fail "after the kill: $(cat "$T/k2")"
# The same rows as the uninterrupted run: every table's line the same but for the copy counts.
sed 's/, [0-9]* copied, [0-9]* already there//' "$T/m1" >"$T/m1.sums"
sed 's/, [0-9]* copied, [0-9]* already there//' "$T/k2" >"$T/k2.sums"
cmp -s "$T/m1.sums" "$T/k2.sums" || fail "after the kill, the tables differ: $(diff "$T/m1.sums" "$T/k2.sums")"
[ "$(p2 'SELECT count(*), sum(cardinality(sids)) FROM samples')" = "$WANT_SAMPLES|$WANT_POINTS" ] ||
    fail "smtest2 holds $(p2 'SELECT count(*), sum(cardinality(sids)) FROM samples')"
pass "killed during the samples ($got copied) and run again: the same counts and checksums, no duplicate"

# ---- one value changed on PostgreSQL: the samples' checksum differs, naming the table.
p2 "UPDATE samples SET vals[1] = vals[1] + 0.5 WHERE (agent_id, ts) = (SELECT agent_id, ts FROM samples
    WHERE cardinality(vals) > 0 ORDER BY ts LIMIT 1)" >/dev/null
rc=0
"$SMSERVER" migrate --from "$DB" --to "$PG2" >"$T/k3" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "samples: $WANT_SAMPLES rows .* DIFFERS" "$T/k3" &&
    grep -q "samples: PostgreSQL holds $WANT_SAMPLES rows ($WANT_POINTS points, checksum" "$T/err" ||
    fail "a changed value: exit $rc: $(cat "$T/k3") $(cat "$T/err")"
pass "one changed value on PostgreSQL: exit 1, the samples' checksum differs"

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
# The same questions, the same answers.
answers "$T/a_pg"
"$PY" - "$T/a_sqlite" "$T/a_pg" <<'PY' || fail "the PostgreSQL server answers differently"
import json, os, sys
a, b = sys.argv[1], sys.argv[2]
n = len([f for f in os.listdir(a) if f.endswith(".json")])
assert n == 12, n
buckets = 0
for i in range(1, n + 1):
    x = json.load(open("%s/%d.json" % (a, i)))
    y = json.load(open("%s/%d.json" % (b, i)))
    path = open("%s/%d.path" % (a, i)).read().strip()
    if x != y:
        sys.exit("%s:\n sqlite %s\n postgresql %s" % (path, json.dumps(x)[:600], json.dumps(y)[:600]))
    if isinstance(x, dict) and isinstance(x.get("data"), list):
        buckets += len(x["data"])
assert buckets > 1000, buckets
print("%d answers, %d buckets, the same on both" % (n, buckets))
PY
pass "on PostgreSQL: history (-1h raw, -24h, -7d, late samples, per core, summary), processes and alert events answer exactly as on SQLite"

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

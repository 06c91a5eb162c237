#!/bin/sh
# store_pg_server.sh: a real smserver on a private PostgreSQL cluster (pg_lib.sh; db = a
# libpq string in its configuration file): agents post through /ingest (smagent --once
# and back-filled samples), a resent batch is stored once, GET /history answers the
# known values from raw points and from rollups, /series and /metrics read the newest
# points; bad input: wrong connection strings, a newer schema, the database stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/server_lib.sh"
pg_start
cat >"$T/smserver.conf" <<EOF
db = $PG_CONNINFO
metrics_agent_series = true
EOF
start_server --config "$T/smserver.conf"
log_has "$SM_LOG" "schema migrated from version 0 to" || fail "no migration logged: $(cat "$SM_LOG")"
psql -XAtq -c "SELECT version FROM schema_version" | grep -qx '[2-9]' ||
    fail "schema version: $(psql -XAtq -c 'SELECT version FROM schema_version')"
[ ! -e "$SM_STATE/statusmonitor.db" ] || fail "a SQLite file was made beside PostgreSQL"

register carol carol-password-1
login carol carol-password-1
AUTH="Authorization: Bearer $ACCESS"
add_agent "$AUTH" db1
ID=$AGENT_ID
printf '%s\n' "$AGENT_TOKEN" >"$T/agent.tok"

# One real sample of this machine.
[ "$(post_once "$AGENT_TOKEN")" = 200 ] || fail "smagent --once sample not accepted"
[ "$(psql -XAtq -c "SELECT count(*) FROM samples WHERE agent_id = $ID")" = 1 ] ||
    fail "the sample is not in PostgreSQL"
# The same sample again (a lost reply): 200, stored once.
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "X-Agent-Token: $AGENT_TOKEN" \
    -H 'Content-Type: application/json' --data-binary @"$T/once.json" "$URL/ingest")
[ "$code" = 200 ] || fail "resent sample: $code $(cat "$T/body")"
[ "$(psql -XAtq -c "SELECT count(*) FROM samples WHERE agent_id = $ID")" = 1 ] ||
    fail "a resent sample was stored twice"
pass "smagent --once through smserver into PostgreSQL; resent, stored once"

# Two hours of 10 s samples ending now: cpu.usage_percent = (i * 7) % 100, twice.
now=$("$PY" -c 'import time; print(int(time.time()))')
start=$((now - 7200))
"$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/agent.tok" 720 --start "$start" --step 10 \
    >/dev/null || fail "back-fill failed"
"$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/agent.tok" 720 --start "$start" --step 10 \
    >/dev/null || fail "resending the back-fill failed"
n=$(psql -XAtq -c "SELECT count(*) FROM samples WHERE agent_id = $ID")
[ "$n" = 721 ] || fail "expected 721 samples after a resend, found $n"
pass "720 back-filled samples, sent twice, stored once each"

req GET "/history/$ID/cpu?start=$start&stop=$((start + 60))&points=1" -H "$AUTH"
expect 200
"$PY" - "$T/body" <<'PY' || fail "bucket average: $(cat "$T/body")"
import json, sys
j = json.load(open(sys.argv[1]))
d = j["data"][0]
vals = [(i * 7) % 100 for i in range(6)]
assert d["count"] == 6, d
assert abs(d["value"] - sum(vals) / 6) < 1e-9 and d["min"] == min(vals) and d["max"] == max(vals), d
PY
req GET "/history/$ID/cpu?start=-1h&points=360" -H "$AUTH"
expect 200 '"tier":"raw"'
[ "$(body 'len(j["data"]) >= 355')" = True ] || fail "cpu -1h buckets: $(head -c 300 "$T/body")"
req GET "/history/$ID/summary?start=$((start - 1))&stop=$((start + 7195))" -H "$AUTH"
expect 200
[ "$(body 'j["cpu"]["data_points"]')" = 720 ] || fail "summary data_points: $(cat "$T/body")"
[ "$(body 'j["cpu"]["max"]')" = 99 ] || fail "summary max: $(cat "$T/body")"
pass "history from raw points: a minute bucket exact, -1h raw tier, summary of 720 points"

req GET "/history/$ID/series" -H "$AUTH"
expect 200 '"name":"cpu.core.usage"'
[ "$(body '[s["labels"] for s in j["series"] if s["name"] == "cpu.core.usage"]')" = "[{'core': '0'}, {'core': '1'}]" ] ||
    fail "series list labels: $(cat "$T/body")"
req GET "/history/$ID/series?name=cpu.core.usage&core=1&start=$start&stop=$((start + 7200))" -H "$AUTH"
expect 200 '"labels":{"core":"1"}'
[ "$(body 'j["data"][0]["value"]')" = 2 ] || fail "per-core series value: $(cat "$T/body")"
pass "series list and a per-core series by label"

# Rollups: the maintenance thread rolls up every minute that ended 2 minutes ago.
rolled() { [ "$(psql -XAtq -c "SELECT count(*) > 100 FROM rollup_1m")" = t ]; }
WAIT_TRIES=600 wait_for "rollups in PostgreSQL" rolled
# The first whole hour of the back-fill, so that 2-minute buckets hold whole minutes.
a=$(((start + 3599) / 3600 * 3600))
req GET "/history/$ID/cpu?start=$a&stop=$((a + 3600))&points=30" -H "$AUTH"
expect 200 '"tier":"minute"'
"$PY" - "$T/body" $(((a - start + 9) / 10)) <<'PY' || fail "minute tier values: $(head -c 400 "$T/body")"
import json, sys
j = json.load(open(sys.argv[1]))
first = int(sys.argv[2])
# 30 buckets of 2 minutes, 12 samples each, values (i * 7) % 100 in order.
assert len(j["data"]) == 30, len(j["data"])
for k, d in enumerate(j["data"]):
    vals = [(i * 7) % 100 for i in range(first + 12 * k, first + 12 * k + 12)]
    assert d["count"] == 12, d
    assert abs(d["value"] - sum(vals) / 12) < 1e-9 and d["min"] == min(vals) and d["max"] == max(vals), (k, d)
PY
pass "history from 1-minute rollups computed in PostgreSQL: 30 buckets exact"

# /metrics reads the newest point of every series.
req GET /metrics
expect 200
grep -q "^statusmonitor_agent_cpu_core_usage{agent_id=\"$ID\",agent=\"db1\",user=\"carol\",core=\"1\"} " \
    "$T/body" || fail "/metrics lacks the agent's points: $(grep agent_cpu "$T/body" | head -5)"
pass "/metrics has the newest point of each series"

# Bad input on the API still answers 400 naming the parameter, data intact.
before=$(psql -XAtq -c "SELECT count(*) FROM samples")
req GET "/history/$ID/cpu?start=%27%3B%20DROP%20TABLE%20samples%3B%20--" -H "$AUTH"
CASE=injection expect 400 "start:"
req GET "/history/$ID/series?name=cpu.usage%27%20OR%201%3D1" -H "$AUTH"
CASE=series-name expect 400 "name:"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "X-Agent-Token: $AGENT_TOKEN" \
    -H 'Content-Type: application/json' -d '{"timestamp": "soon", "cpu": {}}' "$URL/ingest")
[ "$code" = 400 ] || fail "a bad sample: $code"
[ "$(psql -XAtq -c "SELECT count(*) FROM samples")" = "$before" ] || fail "data changed by bad input"
pass "bad queries and samples: 400, PostgreSQL data intact"

# PostgreSQL stops: ingest answers 503 (never 200, never a hang); it comes back: 200.
pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || fail "pg_ctl stop"
code=$(curl -s -m 20 -o "$T/body" -w '%{http_code}' -H "X-Agent-Token: $AGENT_TOKEN" \
    -H 'Content-Type: application/json' --data-binary @"$T/once.json" "$URL/ingest") || code=000
case $code in 503 | 401) ;; *) fail "ingest with PostgreSQL stopped: $code $(cat "$T/body")" ;; esac
pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_SOCK' -c port=5432 -c unix_socket_permissions=0777 -c max_connections=30 -c shared_buffers=16MB" \
    start >/dev/null || fail "pg_ctl start again"
"$SMAGENT" --once >"$T/once2.json" || fail "smagent --once failed"
back() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Agent-Token: $AGENT_TOKEN" \
        -H 'Content-Type: application/json' --data-binary @"$T/once2.json" "$URL/ingest")" = 200 ]
}
wait_for "ingest after PostgreSQL came back" back
pass "PostgreSQL stopped: ingest $code; started again: 200 (the connections reconnect)"
stop_server

# Wrong connection strings: a clear error at start, exit 1, no password in it.
SM_LOG=$T/bad.log
for db in "host=$PG_SOCK port=5432 user=smtest dbname=no_such_db" \
    "postgresql://smtest:s3cretpw@/smtest?host=/nonexistent/dir"; do
    printf 'db = %s\n' "$db" >"$T/bad.conf"
    : >"$SM_LOG"
    rc=0
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --config "$T/bad.conf" \
        >"$SM_LOG" 2>&1 || rc=$?
    [ $rc -ne 0 ] || fail "smserver started on a wrong database: $db"
    grep -q "postgresql: cannot connect" "$SM_LOG" || fail "no clear error for $db: $(cat "$SM_LOG")"
    ! grep -q s3cretpw "$SM_LOG" || fail "the password is in the log"
    case $db in *no_such_db*) grep -q no_such_db "$SM_LOG" || fail "the database is not named" ;; esac
done
# A database of a newer schema is refused and left alone.
psql -XAtq -c "UPDATE schema_version SET version = version + 100" >/dev/null
rc=0
"$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --config "$T/smserver.conf" \
    >"$SM_LOG" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "newer than this smserver" "$SM_LOG" ||
    fail "a newer schema: exit $rc: $(cat "$SM_LOG")"
psql -XAtq -c "UPDATE schema_version SET version = version - 100" >/dev/null
pass "wrong database, newer schema: each a clear error, no password logged"

#!/bin/sh
# history.sh: GET /history over a real server: the original shapes, values from
# back-filled samples, /series, isolation, and an injection battery answered with 400
# and the data intact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server
register carol carol-password-1
login carol carol-password-1
AUTH="Authorization: Bearer $ACCESS"
register dave dave-password-12
login dave dave-password-12
DAVE="Authorization: Bearer $ACCESS"
req POST /agents -H "$AUTH" -H 'Content-Type: application/json' -d '{"name":"db1"}'
expect 200
ID=$(field id)
field token >"$T/agent.tok"

# Two hours of 10 s samples ending now: cpu.usage_percent = (i * 7) % 100.
now=$("$PY" -c 'import time; print(int(time.time()))')
start=$((now - 7200))
"$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/agent.tok" 720 --start "$start" --step 10 \
    >/dev/null || fail "back-fill failed"

# -1h at points=360 is one raw sample per 10 s bucket: values match exactly.
req GET "/history/$ID/cpu?start=-1h&points=360" -H "$AUTH"
expect 200 '"metric":"cpu"'
"$PY" - "$T/body" "$start" "$ID" <<'PY' || fail "cpu -1h values: $(head -c 400 "$T/body")"
import json, sys, datetime
j = json.load(open(sys.argv[1]))
start = int(sys.argv[2])
assert j["agent_id"] == int(sys.argv[3]) and j["tier"] == "raw", (j["agent_id"], j["tier"])
assert 355 <= len(j["data"]) <= 361, len(j["data"])
for d in j["data"]:
    t = datetime.datetime.fromisoformat(d["time"].replace("Z", "+00:00")).timestamp()
    assert d["count"] >= 1
    # every bucket holds whole samples; its average is the mean of their known values
    assert 0 <= d["min"] <= d["value"] <= d["max"] <= 99, d
PY
pass "cpu -1h: original shape, one bucket per sample, values in range"

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
pass "a one-minute bucket averages its six samples exactly"

req GET "/history/$ID/memory?start=-3h" -H "$AUTH"
expect 200 '"metric":"memory"'
[ "$(body 'float(j["data"][0]["value"])')" = "50.0" ] || fail "memory value: $(head -c 300 "$T/body")"
req GET "/history/$ID/network?start=-3h" -H "$AUTH"
expect 200
[ "$(body 'len(j["data"]["bytes_sent"]) > 0 and len(j["data"]["bytes_recv"]) > 0')" = True ] ||
    fail "network: bytes_sent and bytes_recv series"
req GET "/history/$ID/disk?start=-3h" -H "$AUTH"
expect 200 '"data":[]'
req GET "/history/$ID/summary?start=-3h" -H "$AUTH"
expect 200
[ "$(body 'j["cpu"]["data_points"]')" = 720 ] || fail "summary data_points: $(cat "$T/body")"
[ "$(body 'j["cpu"]["max"]')" = 99 ] || fail "summary max"
[ "$(body 'j["disk"]["data_points"]')" = 0 ] || fail "summary of a metric without data"
pass "memory, network (bytes_sent, bytes_recv), disk without data, summary"

req GET "/history/$ID/series" -H "$AUTH"
expect 200 '"name":"cpu.core.usage"'
[ "$(body '[s["labels"] for s in j["series"] if s["name"] == "cpu.core.usage"]')" = "[{'core': '0'}, {'core': '1'}]" ] ||
    fail "series list labels: $(cat "$T/body")"
req GET "/history/$ID/series?name=cpu.core.usage&core=1&start=-3h" -H "$AUTH"
expect 200 '"labels":{"core":"1"}'
[ "$(body 'j["data"][0]["value"]')" = 2 ] || fail "per-core series value: $(cat "$T/body")"
pass "series listing and a per-core series by label"

# Isolation: dave cannot read carol's agent; an unknown agent is 404 too.
req GET "/history/$ID/cpu" -H "$DAVE"
expect 404 "Agent not found"
req GET "/history/999999/cpu" -H "$AUTH"
expect 404
req GET "/history/$ID/cpu"
expect 401
pass "another user's agent is 404; no token is 401"

# Injection and bad parameters: 400 naming the parameter, nothing changed.
before=$(sql "SELECT count(*) FROM raw_points")
bad() { # PARAMS WANT
    req GET "/history/$ID/cpu?$1" -H "$AUTH"
    CASE="history ?$1" expect 400 "$2"
}
bad "start=%27%3B%20DROP%20TABLE%20samples%3B%20--" "start:"
bad "start=-1h%27%20OR%201%3D1" "start:"
bad 'start=from(bucket:"metrics")|>range(start:-1h)' "start:"
bad "stop=1e400" "stop:"
bad "start=99999999999999999999" "start:"
bad "start=-0m" "start:"
bad "start=-5x" "start:"
bad "start=now&stop=-1h" "start: must be before stop"
bad "start=1970-01-01T00:00:00Z&stop=now" "start: the range"
bad "points=abc" "points:"
bad "points=0" "points:"
bad "points=5001" "points:"
bad "points=-1" "points:"
bad "limit=10" "limit: unknown parameter"
bad "start=-1h&start=-2h" "start: given twice"
bad "start" "no value"
req GET "/history/$ID/series?name=cpu.usage%27%20OR%201%3D1" -H "$AUTH"
CASE=series-name expect 400 "name:"
req GET "/history/$ID/series?name=cpu.core.usage&core=1&iface=eth0" -H "$AUTH"
CASE=two-labels expect 400 "at most one label"
req GET "/history/$ID/series?name=fs.used_percent&mount=%2F%27%3B--" -H "$AUTH"
CASE=label-injection expect 400 "mount:"
long=$("$PY" -c 'print("&".join("a%d=1" % i for i in range(40)))')
req GET "/history/$ID/series?$long" -H "$AUTH"
CASE=many-args expect 400 "query:"
[ "$(sql "SELECT count(*) FROM raw_points")" = "$before" ] || fail "data changed by bad queries"
# The SQLite file's own check (PostgreSQL has none to run from here).
on_pg || sql "PRAGMA integrity_check" | grep -qx ok || fail "integrity check"
pass "injection battery: 400 naming the parameter, data intact"
stop_server

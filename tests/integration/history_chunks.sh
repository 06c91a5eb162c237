#!/bin/sh
# history_chunks.sh: raw points sealed into chunks by a real server's maintenance
# (history.h, "Chunks"): a raw query across the last sealed window and the open rows, a
# resent sealed sample stored once, the points identical through smdb.py's own decoder,
# and a damaged chunk answered with 500 and a detail while the server goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server
register erin erin-password-12
login erin erin-password-12
AUTH="Authorization: Bearer $ACCESS"
req POST /agents -H "$AUTH" -H 'Content-Type: application/json' -d '{"name":"db1"}'
expect 200
ID=$(field id)
field token >"$T/agent.tok"

# Five hours of 30 s samples ending now: cpu.usage_percent of sample i = (i * 7) % 100.
now=$("$PY" -c 'import time; print(int(time.time()))')
start=$((now - 18000))
"$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/agent.tok" 600 --start "$start" --step 30 \
    >/dev/null || fail "back-fill failed"

# The maintenance thread (every 10 s) rolls up, then seals the closed windows.
DB=$SM_STATE/statusmonitor.db
sealed() { [ "$(sql 'SELECT count(*) FROM chunks')" -gt 0 ] 2>/dev/null; }
WAIT_TRIES=600 wait_for "sealed chunks" sealed
# The end of the last sealed window: chunks before it, rows after it.
B=$(sql 'SELECT (max(t1) / 7200000 + 1) * 7200 FROM chunks')
[ "$(sql "SELECT count(*) FROM samples WHERE ts < $B * 1000")" = 0 ] ||
    fail "rows left before the last sealed window's end"
[ "$(sql "SELECT count(*) FROM samples WHERE ts >= $B * 1000")" -gt 0 ] ||
    fail "no open rows after the last sealed window"
pass "closed windows sealed, the newest window kept as rows"

# -10 min .. +10 min around B, one bucket a second: each sample alone, exact values.
req GET "/history/$ID/series?name=cpu.usage&start=$((B - 600))&stop=$((B + 600))&points=1200" -H "$AUTH"
expect 200
"$PY" - "$T/body" "$start" "$B" <<'PY' || fail "values across the seal: $(head -c 400 "$T/body")"
import json, sys, datetime
j = json.load(open(sys.argv[1]))
start, b = int(sys.argv[2]), int(sys.argv[3])
assert j["tier"] == "raw", j["tier"]
want = {}
for i in range(600):
    t = start + 30 * i
    if b - 600 <= t < b + 600:
        want[t] = (i * 7) % 100
got = {}
for d in j["data"]:
    t = datetime.datetime.fromisoformat(d["time"].replace("Z", "+00:00")).timestamp()
    assert d["count"] == 1, d
    got[int(t)] = d["value"]
assert got == want, (sorted(got.items())[:5], sorted(want.items())[:5])
assert any(t < b for t in got) and any(t >= b for t in got)
PY
pass "a raw query across sealed chunks and open rows gives every sample exactly"

# smdb.py decodes the chunks by itself: every posted point is there once.
[ "$(sql "SELECT count(*) FROM raw_points p JOIN series s ON s.id = p.series_id WHERE s.name = 'cpu.usage'")" = 600 ] ||
    fail "cpu.usage points through smdb.py: $(sql "SELECT count(*) FROM raw_points")"
pass "smdb.py reads 600 cpu.usage points from chunks and rows"

# The first ten samples again (sealed long ago): acknowledged, stored once.
before=$(sql 'SELECT count(*) FROM raw_points')
"$PY" "$(dirname "$0")/post_samples.py" "$URL" "$T/agent.tok" 10 --start "$start" --step 30 \
    >/dev/null || fail "resend refused"
[ "$(sql 'SELECT count(*) FROM raw_points')" = "$before" ] || fail "a resent sealed sample was stored again"
pass "resent sealed samples are acknowledged and stored once"

# Damage the chunk of cpu.usage that holds the window before B (the server is running).
"$PY" - "$DB" "$B" <<'PY' || fail "could not damage a chunk"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
b = int(sys.argv[2]) * 1000
n = db.execute("UPDATE chunks SET data = substr(data, 1, 5) WHERE t0 >= ? AND series_id ="
               " (SELECT id FROM series WHERE name = 'cpu.usage')", (b - 7200000,)).rowcount
db.commit()
assert n == 1, n
PY
req GET "/history/$ID/series?name=cpu.usage&start=$((B - 600))&stop=$((B + 600))&points=1200" -H "$AUTH"
expect 500 '"detail"'
req GET /health
expect 200 '"status":"ok"'
req GET "/history/$ID/series?name=mem.used_percent&start=$((B - 600))&stop=$((B + 600))&points=1200" -H "$AUTH"
expect 200
# The back-fill's samples in [B - 600, B + 600): 40, fewer in the first ten minutes after
# a window's end (the newest sample is 30 s old).
want=$("$PY" -c "import sys; s, b = int(sys.argv[1]), int(sys.argv[2]); print(sum(b - 600 <= s + 30 * i < b + 600 for i in range(600)))" "$start" "$B")
[ "$(body 'len(j["data"])')" = "$want" ] || fail "intact series, want $want: $(head -c 300 "$T/body")"
pass "a damaged chunk: 500 with a detail, the server and other series unharmed"
stop_server

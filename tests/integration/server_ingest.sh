#!/bin/sh
# server_ingest.sh: POST /ingest with the three sample shapes, batches, duplicates and
# bad input; what is acknowledged is in the database once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server
J='Content-Type: application/json'
register alice 'alice password'
login alice 'alice+password'
req POST /agents -H "Authorization: Bearer $ACCESS" -H "$J" -d '{"name":"web1"}'
TOKEN=$(field token)
H="X-Agent-Token: $TOKEN"
NOW=$(date +%s)

# 1. this project's shape, as smagent --once prints it (with a host object)
"$SMAGENT" --once >"$T/once.json" || fail "smagent --once failed"
CASE="smagent sample" req POST /ingest -H "$H" -H "$J" --data-binary @"$T/once.json"
CASE="smagent sample" expect 200 '{"status":"ok","stored":1,"duplicates":0}'
CASE="resend" req POST /ingest -H "$H" -H "$J" --data-binary @"$T/once.json"
CASE="resend" expect 200 '{"status":"ok","stored":0,"duplicates":1}'
[ "$(sql 'select count(*) from samples')" = 1 ] || fail "resent sample stored twice"
[ "$(sql "select count(*) from series where name = 'cpu.core.usage'")" = "$(nproc)" ] ||
    fail "expected one cpu.core.usage series per core"
[ "$(sql "select count(*) from series where name = 'cpu.usage' and labels = ''")" = 1 ] ||
    fail "no cpu.usage series"
[ "$(sql "select count(*) from series where name = 'fs.used_percent' and labels = 'mount=/'")" = 1 ] ||
    fail "no fs.used_percent{mount=/} series"
[ "$(sql "select json_extract(host, '\$.hostname') from agents" \
    "select host::json->>'hostname' from agents")" = "$(uname -n)" ] ||
    fail "host facts not stored"
[ "$(sql 'select count(*) from latest')" = 1 ] || fail "latest sample not kept"
pass "smagent --once sample"

# 2. the original agent's shape
cat >"$T/orig.json" <<JSON
{"timestamp": $((NOW - 100)), "cpu": {"usage_percent": 12.5, "per_core_usage": [10.0, 15.0],
 "freq": {"current": 3000, "min": 800, "max": 4500}, "load_avg": [0.5, 0.4, 0.3]},
 "memory": {"total": 8000000000, "available": 4000000000, "used_percent": 50.0},
 "disk": {"partitions": [{"device": "/dev/vda1", "mountpoint": "/", "fstype": "ext4",
   "total": 100, "used": 40, "free": 60, "percent": 40.0}]},
 "network": {"bytes_sent": 1000, "bytes_recv": 2000, "packets_sent": 1, "packets_recv": 2}}
JSON
CASE="original agent shape" req POST /ingest -H "$H" -H "$J" --data-binary @"$T/orig.json"
CASE="original agent shape" expect 200 '"stored":1'
ts=$(( (NOW - 100) * 1000 ))
v=$(sql "select value from raw_points p join series s on s.id = p.series_id where s.name = 'cpu.usage' and p.ts = $ts")
near "$v" 12.5 0 || fail "cpu.usage of the original shape is '$v'"
v=$(sql "select value from raw_points p join series s on s.id = p.series_id where s.name = 'cpu.core.usage' and s.labels = 'core=1' and p.ts = $ts")
near "$v" 15 0 || fail "cpu.core.usage{core=1} is '$v'"
v=$(sql "select value from raw_points p join series s on s.id = p.series_id where s.name = 'load.15' and p.ts = $ts")
near "$v" 0.3 0 || fail "load.15 is '$v'"
# The points are packed in their sample's row (schema 4; chunks come with 6): no table
# of points.
[ "$(sql "select count(*) from sqlite_master where name = 'points'" \
    "select count(*) from pg_class where relname = 'points'")" = 0 ] ||
    fail "a points table exists"
# Schema 6 or later (5 adds process snapshots, 6 chunks); PostgreSQL's 4 or later (4 adds
# process snapshots; it keeps no chunks).
if on_pg; then
    [ "$(sql "select version from schema_version")" -ge 4 ] || fail "schema version is below 4"
else
    [ "$(sql "pragma user_version")" -ge 6 ] || fail "schema version is below 6"
fi
pass "original agent shape"

# 3. the original README's shape (no timestamp: stamped on arrival)
CASE="README shape" req POST /ingest -H "$H" -H "$J" \
    -d '{"cpu":{"percent":33.0},"memory":{"percent":44.0},"disk":{"percent":55.0,"used":5,"total":10,"free":5}}'
CASE="README shape" expect 200 '"stored":1'
v=$(sql "select value from raw_points p join series s on s.id = p.series_id where s.name = 'mem.used_percent' order by p.ts desc limit 1")
near "$v" 44 0 || fail "mem.used_percent of the README shape is '$v'"
pass "README shape"

# 4. a batch, with one sample repeated inside it and one already stored
cat >"$T/batch.json" <<JSON
{"host": {"hostname": "web1", "os": "Debian GNU/Linux 12", "cores": 2},
 "samples": [
  {"timestamp": $((NOW - 50)), "cpu": {"usage_percent": 1}},
  {"timestamp": $((NOW - 49)), "cpu": {"usage_percent": 2}},
  {"timestamp": $((NOW - 49)), "cpu": {"usage_percent": 2}},
  {"timestamp": $((NOW - 100)), "cpu": {"usage_percent": 12.5}}]}
JSON
CASE="batch" req POST /ingest -H "$H" -H "$J" --data-binary @"$T/batch.json"
CASE="batch" expect 200 '{"status":"ok","stored":2,"duplicates":2}'
[ "$(sql "select json_extract(host, '\$.hostname') from agents" \
    "select host::json->>'hostname' from agents")" = web1 ] ||
    fail "batch host facts not stored"
CASE="batch again" req POST /ingest -H "$H" -H "$J" --data-binary @"$T/batch.json"
CASE="batch again" expect 200 '"stored":0,"duplicates":4'
[ "$(sql 'select count(*) from samples')" = 5 ] || fail "expected 5 samples stored"
pass batch

# 5. bad input: every error names the field, nothing is stored
bad() { # CODE TEXT BODY
    CASE="bad: $3" req POST /ingest -H "$H" -H "$J" -d "$3"
    CASE="bad: $3" expect "$1" "$2"
}
bad 400 'cpu.usage_percent' '{"cpu":{"usage_percent":"high"}}'
bad 400 'cpu.usage_percent' '{"cpu":{"usage_percent":150}}'
bad 400 'timestamp' "{\"timestamp\":$((NOW + 3600)),\"cpu\":{\"usage_percent\":1}}"
bad 400 'samples[1]' '{"samples":[{"cpu":{"usage_percent":1}},{"cpu":{"usage_percent":-1}}]}'
bad 400 'samples: must be an array' '{"samples":{"cpu":{}}}'
bad 400 'samples: must not be empty' '{"samples":[]}'
bad 400 'samples[0]: must be an object' '{"samples":[5]}'
bad 400 'host' '{"host":"web1","cpu":{"usage_percent":1}}'
bad 400 'body' '{"cpu":{"usage_percent":1}} trailing'
bad 400 'body' '{"cpu":{"usage_percent":1},}'
bad 400 'body' '[{"cpu":{"usage_percent":1}}]'
bad 413 'nesting' '{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}'
"$PY" -c "
import json,sys
print(json.dumps({'samples':[{'timestamp':1700000000+i,'cpu':{'usage_percent':1}} for i in range(1001)]}))" >"$T/toomany.json"
CASE="batch over the cap" req POST /ingest -H "$H" -H "$J" --data-binary @"$T/toomany.json"
CASE="batch over the cap" expect 413 samples
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
CASE="body over 1 MiB" req POST /ingest -H "$H" -H "$J" --data-binary @"$T/big.json"
CASE="body over 1 MiB" expect 413
[ "$(sql 'select count(*) from samples')" = 5 ] || fail "a rejected request stored samples"
pass "bad input"

# 6. agent authentication
CASE="no token" req POST /ingest -H "$J" -d '{"cpu":{"usage_percent":1}}'
CASE="no token" expect 401 X-Agent-Token
CASE="wrong token" req POST /ingest -H 'X-Agent-Token: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
    -H "$J" -d '{"cpu":{"usage_percent":1}}'
CASE="wrong token" expect 401
CASE="user token is not an agent token" req POST /ingest -H "X-Agent-Token: $ACCESS" -H "$J" \
    -d '{"cpu":{"usage_percent":1}}'
CASE="user token is not an agent token" expect 401
pass "agent authentication"

# The SQLite file itself (PostgreSQL keeps its own consistency; no WAL mode to check).
on_pg || "$PY" - "$SM_STATE/statusmonitor.db" <<'PY' || fail "integrity_check failed"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute('pragma integrity_check').fetchone()[0] == 'ok'
assert c.execute('pragma journal_mode').fetchone()[0] == 'wal'
PY
stop_server

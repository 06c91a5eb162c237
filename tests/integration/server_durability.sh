#!/bin/sh
# server_durability.sh: an acknowledged sample survives SIGKILL. A client records every
# sample the server acknowledged while the server is killed mid-load; after a restart
# each of them is stored exactly once and the database passes integrity_check.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server
register alice 'alice password'
login alice 'alice+password'
req POST /agents -H "Authorization: Bearer $ACCESS" -d '{"name":"web1"}'
TOKEN=$(field token)

# Two clients, batches of 10 samples with unique timestamps; acknowledged timestamps
# are appended (and flushed) to acked.N only after a 200.
cat >"$T/client.py" <<'PY'
import http.client, json, sys, time
port, token, out, base = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
f = open(out, 'a')
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
i = 0
while True:
    ts = [base + (i * 10 + k) * 0.001 for k in range(10)]
    body = json.dumps({'samples': [{'timestamp': t, 'cpu': {'usage_percent': 1.0,
                       'per_core_usage': [1.0, 2.0, 3.0, 4.0]},
                       'memory': {'total': 100, 'available': 50, 'used_percent': 50.0}}
                      for t in ts]})
    try:
        conn.request('POST', '/ingest', body, {'X-Agent-Token': token,
                                                'Content-Type': 'application/json'})
        r = conn.getresponse()
        r.read()
    except Exception:
        sys.exit(0)  # the server is gone
    if r.status == 200:
        for t in ts:
            f.write('%d\n' % round(t * 1000))
        f.flush()
    i += 1
PY
NOW=$(date +%s)
"$PY" "$T/client.py" "$PORT" "$TOKEN" "$T/acked.1" $((NOW - 3000)) &
C1=$!
"$PY" "$T/client.py" "$PORT" "$TOKEN" "$T/acked.2" $((NOW - 2000)) &
C2=$!
i=0
while [ "$(cat "$T/acked.1" "$T/acked.2" 2>/dev/null | wc -l)" -lt 300 ]; do
    i=$((i + 1))
    [ $i -lt 400 ] || fail "clients got too few acknowledgements"
    sleep 0.05
done
kill -KILL "$SM_PID"
wait "$SM_PID" 2>/dev/null || true
SM_PID=
wait $C1 $C2 || true
cat "$T/acked.1" "$T/acked.2" | sort -n >"$T/acked"
n=$(wc -l <"$T/acked")
pass "$n samples acknowledged before SIGKILL"

start_server
# The SQLite file's own check (PostgreSQL has none to run from here).
on_pg || [ "$(sql 'pragma integrity_check')" = ok ] || fail "integrity_check after SIGKILL"
# raw_samples: rows and sealed sample times (a window that closed is sealed by now).
sql 'select ts, count(*) from raw_samples group by ts' >"$T/stored"
"$PY" - "$T/stored" "$T/acked" <<'PY' || fail "acknowledged samples lost"
import sys
stored = dict(map(int, l.split('|')) for l in open(sys.argv[1]))
acked = [int(l) for l in open(sys.argv[2])]
assert len(acked) == len(set(acked)), 'client acked a timestamp twice'
missing = [t for t in acked if stored.get(t, 0) != 1]
assert not missing, '%d of %d acknowledged samples missing, e.g. %s' % (len(missing), len(acked), missing[:3])
print('ok: %d acknowledged samples present once' % len(acked))
PY
# Each stored sample has all of its points.
bad=$(sql 'select count(*) from (select ts, count(*) n from raw_points group by ts) x where n != 9')
[ "$bad" = 0 ] || fail "$bad samples with a partial set of points"
# The server still works on the recovered database, and a resend is a duplicate.
t0=$(head -n 1 "$T/acked")
CASE="resend after restart" req POST /ingest -H "X-Agent-Token: $TOKEN" \
    -d "{\"timestamp\": $t0.0e-3, \"cpu\": {\"usage_percent\": 1}}"
CASE="resend after restart" expect 200 '"duplicates":1'
stop_server

# SIGTERM under load: in-flight requests finish (their samples are committed), exit 0
# within 5 s, and every acknowledged sample is there.
start_server
: >"$T/acked.3"
NOW=$(date +%s)
"$PY" "$T/client.py" "$PORT" "$TOKEN" "$T/acked.3" $((NOW - 1000)) &
C3=$!
i=0
while [ "$(wc -l <"$T/acked.3")" -lt 100 ]; do
    i=$((i + 1))
    [ $i -lt 400 ] || fail "client got too few acknowledgements"
    sleep 0.05
done
start=$(date +%s)
stop_server
[ $(($(date +%s) - start)) -le 5 ] || fail "SIGTERM under load took more than 5 s"
wait $C3 || true
on_pg || [ "$(sql 'pragma integrity_check')" = ok ] || fail "integrity_check after SIGTERM"
sql 'select ts from samples' >"$T/stored.3"
"$PY" - "$T/stored.3" "$T/acked.3" <<'PY' || fail "acknowledged samples lost at SIGTERM"
import sys
stored = {int(l) for l in open(sys.argv[1])}
acked = [int(l) for l in open(sys.argv[2])]
missing = [t for t in acked if t not in stored]
assert not missing, '%d of %d missing' % (len(missing), len(acked))
print('ok: SIGTERM under load: %d acknowledged samples present' % len(acked))
PY

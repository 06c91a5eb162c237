#!/bin/sh
# pg_partition_race.sh: two smserver instances on one private PostgreSQL cluster
# (pg_lib.sh) receive, at the same moment, batches that need a day partition nobody has
# made yet (issue 21). Each batch holds a sample of today (whose partition exists, so
# the group transaction already holds a lock on samples) and one of an older day. Made
# inside both instances' group transactions, the partition's DDL (ACCESS EXCLUSIVE on
# samples) deadlocked them: PostgreSQL aborted one after deadlock_timeout, a 503 to its
# agent. The writer now makes missing partitions before its group transaction begins
# (store_prepare). Six rounds, one fresh day each, eight agents split between the two
# instances and released together: every post is a 200 that stores both samples, and
# neither instance's log nor PostgreSQL's has a deadlock.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need curl
pg_start
_kill_insts() {
    for p in ${a_PID:-} ${b_PID:-}; do kill -KILL "$p" 2>/dev/null || true; done
}
at_exit _kill_insts
start_inst a
start_inst b
URL=http://127.0.0.1:$a_PORT
register rita 'partition race password'
login rita 'partition race password'
add_agents "Authorization: Bearer $ACCESS" 8

"$PY" - "$a_PORT" "$b_PORT" "$T" <<'PY' >"$T/race.txt" || { cat "$T/race.txt" >&2; fail "posts during the race"; }
import http.client, json, sys, threading, time
ports, tdir = sys.argv[1:3], sys.argv[3]
tokens = [open("%s/agent%d.tok" % (tdir, k)).read().strip() for k in range(1, 9)]
now = int(time.time())
today = now // 86400 * 86400
results, bad = [], []
def post(k, rnd, gate):
    port = ports[k % 2]
    ts_today = max(today + 1, now - 3600) + rnd * 10 + k * 0.001
    ts_old = today - rnd * 86400 + 3600 + k
    body = json.dumps({"samples": [{"timestamp": ts_today, "cpu": {"usage_percent": k}},
                                   {"timestamp": ts_old, "cpu": {"usage_percent": rnd}}]})
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    gate.wait()
    c.request("POST", "/ingest", body, {"X-Agent-Token": tokens[k],
                                         "Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode()
    results.append(r.status)
    ok = r.status == 200 and json.loads(text).get("stored") == 2
    if not ok:
        bad.append("round %d agent %d via %s: %d %s" % (rnd, k + 1, port, r.status, text))
for rnd in range(1, 7):
    gate = threading.Event()
    ts = [threading.Thread(target=post, args=(k, rnd, gate)) for k in range(8)]
    for t in ts:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in ts:
        t.join()
print("%d posts in 6 rounds of 8, %d with 200 storing both samples" % (len(results), len(results) - len(bad)))
for b in bad:
    print(b)
sys.exit(1 if bad or len(results) != 48 else 0)
PY
pass "$(cat "$T/race.txt")"
! grep -qi deadlock "$T/a/log" "$T/b/log" "$PG_DIR/server.log" ||
    fail "a deadlock: $(grep -hi deadlock "$T/a/log" "$T/b/log" "$PG_DIR/server.log" | head -3)"
n=$(psql -XAtq -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'samples'::regclass AND
    inhrelid::regclass::text IN (SELECT 'samples_d' || (extract(epoch FROM now())::bigint / 86400 - d)
    FROM generate_series(1, 6) AS d)")
[ "$n" = 6 ] || fail "$n of the 6 older days have a partition"
n=$(psql -XAtq -c "SELECT count(*) FROM samples WHERE agent_id IN ($ID1, $ID2, $ID3, $ID4, $ID5, $ID6, $ID7, $ID8)")
[ "$n" = 96 ] || fail "$n samples stored, not 96"
pass "no deadlock; the 6 older days each have their partition; 96 samples stored"

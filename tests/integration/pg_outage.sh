#!/bin/sh
# pg_outage.sh: PostgreSQL stopped for SM_PG_OUTAGE seconds (default 60, issue 21) under
# load: two smserver instances on one private cluster (pg_lib.sh), three real smagents
# at 1 Hz with their spools, and a curl loop posting samples with known timestamps.
# During the outage every reply is 503 with Retry-After (never 500, never a hang) and
# /health says degraded on both instances; the agents spool. After PostgreSQL returns,
# the spools drain and every acknowledged sample (the loop's 200s, the agents' spooled
# samples) is stored exactly once. Figures are printed: replies by status during the
# outage, the slowest reply, the drain time, samples acknowledged vs stored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need curl
OUTAGE=${SM_PG_OUTAGE:-60}
pg_start

AGENTS=
LOOP_PID=
_kill_all() {
    [ -z "$LOOP_PID" ] || kill -TERM "$LOOP_PID" 2>/dev/null || true
    for p in $AGENTS ${a_PID:-} ${b_PID:-}; do kill -KILL "$p" 2>/dev/null || true; done
}
at_exit _kill_all

start_inst a
start_inst b
URL=http://127.0.0.1:$a_PORT
register olga 'outage password 1'
login olga 'outage password 1'
AUTH="Authorization: Bearer $ACCESS"
add_agents "$AUTH" 4

# Three smagents at 1 Hz, two on instance a and one on b, each with a small spool.
for n in 1 2 3; do
    port=$a_PORT
    [ $n != 3 ] || port=$b_PORT
    "$SMAGENT" --server "http://127.0.0.1:$port" --token-file "$T/agent$n.tok" --interval 1 \
        --spool "$T/spool$n" --spool-max 1M --log-level debug >"$T/agent$n.log" 2>&1 &
    AGENTS="$AGENTS $!"
done

# The curl loop: agent 4 posts one sample every 0.2 s with timestamp BASE + i seconds,
# alternating instances; each line of $T/loop is "i code seconds retry-after phase".
BASE=$(($(date +%s) - 7200))
: >"$T/phase"
loop() {
    i=0
    tok=$(cat "$T/agent4.tok")
    while [ ! -e "$T/loop.stop" ]; do
        port=$a_PORT
        [ $((i % 2)) = 0 ] || port=$b_PORT
        printf '{"timestamp": %d, "cpu": {"usage_percent": %d}, "memory": {"total": 1000, "available": 500, "used_percent": 50.0}}' \
            $((BASE + i)) $((i % 100)) >"$T/loop.json"
        ph=$(cat "$T/phase")
        out=$(curl -s -m 30 -o /dev/null -w '%{http_code} %{time_total} %header{retry-after}' \
            -H "X-Agent-Token: $tok" -H 'Content-Type: application/json' \
            --data-binary @"$T/loop.json" "http://127.0.0.1:$port/ingest") || out="000 30 -"
        set -- $out
        echo "$i $1 $2 ${3:--} ${ph:-before}" >>"$T/loop"
        i=$((i + 1))
        sleep 0.2
    done
}
loop &
LOOP_PID=$!

delivered() { pg_each_stored 3 3; }
WAIT_TRIES=300 wait_for "the agents' first samples" delivered
pass "two instances, three smagents at 1 Hz and a curl loop posting into PostgreSQL"

# The outage.
echo outage >"$T/phase"
pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || fail "pg_ctl stop"
t_stop=$(date +%s)
sleep 3
for n in a b; do
    eval "URL=http://127.0.0.1:\$${n}_PORT"
    req GET /health -m 20
    expect 503 '"degraded"'
    grep -q '"db":"unavailable"' "$T/body" || fail "/health on $n: $(cat "$T/body")"
    ! grep -q 'disk full' "$T/body" || fail "/health on $n calls the outage a full disk: $(cat "$T/body")"
done
pass "/health on both instances: 503 degraded, db unavailable"
spooled() { n=$(grep -c "spooled the sample of" "$1" 2>/dev/null) || :; [ "${n:-0}" -ge 2 ]; }
WAIT_TRIES=400
for n in 1 2 3; do wait_for "agent $n to spool" spooled "$T/agent$n.log"; done
pass "the three agents spool"
while [ $(($(date +%s) - t_stop)) -lt "$OUTAGE" ]; do sleep 1; done
echo after >"$T/phase" # replies sent from here on may already see PostgreSQL again
pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_SOCK' -c port=5432 -c unix_socket_permissions=0777 -c max_connections=30 -c shared_buffers=16MB" \
    start >/dev/null || fail "pg_ctl start again"
t_back=$("$PY" -c 'import time; print(time.time())')

# The spools drain.
drained() { spool_empty "$T/spool1" && spool_empty "$T/spool2" && spool_empty "$T/spool3"; }
WAIT_TRIES=900 wait_for "the spools to drain" drained
t_drained=$("$PY" -c 'import time; print(time.time())')
sleep 2
touch "$T/loop.stop"
wait "$LOOP_PID" || true
LOOP_PID=
for p in $AGENTS; do kill -TERM "$p"; done
for p in $AGENTS; do wait "$p" || fail "smagent exited $? after SIGTERM"; done
AGENTS=

# During the outage: 503 with Retry-After only; no reply slower than 10 s.
"$PY" - "$T/loop" "$OUTAGE" <<'PY' >"$T/outage.txt" || { cat "$T/outage.txt" >&2; fail "replies during the outage"; }
import sys
rows = [l.split() for l in open(sys.argv[1])]
out = [r for r in rows if r[4] == "outage"]
codes = {}
for r in out:
    codes[r[1]] = codes.get(r[1], 0) + 1
slow = max(float(r[2]) for r in out)
bad = [r for r in out if r[1] not in ("200", "503") or (r[1] == "503" and r[3] == "-")]
late = [r for r in out if r[1] == "200"]
print("outage %s s: %d requests, by status %s, slowest %.3f s, %d 503 without Retry-After" %
      (sys.argv[2], len(out), codes, slow, sum(1 for r in out if r[1] == "503" and r[3] == "-")))
# A 200 is possible only for a request answered before the stop took effect.
ok = not bad and slow < 10 and codes.get("503", 0) >= 10 and len(late) <= 2
sys.exit(0 if ok else 1)
PY
cat "$T/outage.txt"
pass "during the outage: $(cat "$T/outage.txt")"

# Every acknowledged sample stored once: the loop's 200s, the agents' spooled samples.
pg_loop_stored "$ID4" "$BASE" "$T/loop"
cat "$T/loop.txt"
for n in 1 2 3; do pg_spool_stored "$n" 5; done
cat "$T/agents.txt"
drain=$("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_back" "$t_drained")
pass "after the outage: spools drained ${drain} s after PostgreSQL returned; $(cat "$T/loop.txt"); $(tr '\n' ';' <"$T/agents.txt")"
for n in a b; do
    ! grep -q "HTTP/1.1 500\| 500 " "$T/$n/log" || fail "a 500 in instance $n's log"
    kill -0 "$(eval echo \$${n}_PID)" || fail "instance $n died"
    eval "URL=http://127.0.0.1:\$${n}_PORT"
    req GET /health
    expect 200 '"ok"'
done
pass "both instances healthy again"

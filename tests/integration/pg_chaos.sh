#!/bin/sh
# pg_chaos.sh: kill -9 and restart through the balancer. For N = 2 and then 3 smserver
# instances on one private PostgreSQL cluster (pg_lib.sh, one signing key) behind a real
# haproxy running share/examples/haproxy.cfg (its server lines made for N): real smagents
# post every second through the balancer, pg_chaos.py posts samples with their own
# timestamps and resends each until acknowledged, and a WebSocket viewer on the balancer
# reconnects whenever its instance dies; meanwhile one instance after the other (in
# turn) is SIGKILLed and restarted on its port, PG_CHAOS_KILLS times (default 20) per N.
# Then: every acknowledged sample and every sample an agent took is in the samples table
# exactly once, nothing else is there, the agents' spools are empty, and the viewer got
# samples after its reconnects. The figures (acked, stored, duplicates, kills,
# reconnects, the viewer's longest gap) are printed, and written to PG_CHAOS_REPORT
# when set.
# PG_CHAOS_N (default "2 3"), PG_CHAOS_KILLS, PG_CHAOS_AGENTS (default 3) and
# PG_CHAOS_UP (seconds an instance runs between a restart and the next kill, default 2),
# PG_CHAOS_POST_GAP (seconds between the poster's samples, default 0.01).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need haproxy curl
[ -r "$top_srcdir/share/examples/haproxy.cfg" ] || fail "no share/examples/haproxy.cfg"
"$PY" -c 'import websockets' 2>/dev/null || skip "no python3-websockets"
pg_start
NS=${PG_CHAOS_N:-2 3}
KILLS=${PG_CHAOS_KILLS:-20}
NAGENTS=${PG_CHAOS_AGENTS:-3}
UP=${PG_CHAOS_UP:-2}
GAP=${PG_CHAOS_POST_GAP:-0.01}
CHAOS="$PY $top_srcdir/tests/integration/pg_chaos.py"
: >"$T/report"

_kill_all() {
    for p in ${lb_PID:-} ${POST_PID:-} ${VIEW_PID:-} $(cat "$T/pids" 2>/dev/null); do
        kill -KILL "$p" 2>/dev/null || true
    done
}
at_exit _kill_all
: >"$T/pids"

# Every instance of every round gets its fixed port now; the first one makes the key.
i=1
while [ $i -le 3 ]; do
    eval "PORT_$i=$(free_port)"
    i=$((i + 1))
done
lb_PORT=$(free_port)
LB=http://127.0.0.1:$lb_PORT

# up NAME PORT: start instance NAME on its port; wait until it answers /health.
up() {
    PG_LISTEN=127.0.0.1:$2
    start_inst "$1"
    PG_LISTEN=
    eval "echo \$${1}_PID" >>"$T/pids"
    ok=0
    for _ in $(seq 1 200); do
        c=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/health") || c=000
        [ "$c" != 200 ] || { ok=1; break; }
        sleep 0.05
    done
    [ $ok = 1 ] || fail "instance $1 does not answer /health on port $2: $(tail -5 "$T/$1/log")"
}

# lb_for N: haproxy with the example's settings and N server lines, on lb_PORT.
lb_for() {
    sed -e "s/127\.0\.0\.1:8001/127.0.0.1:$lb_PORT/" -e '/^ *server sm[0-9]/d' \
        "$top_srcdir/share/examples/haproxy.cfg" >"$T/haproxy.cfg"
    grep -q "bind 127.0.0.1:$lb_PORT" "$T/haproxy.cfg" && grep -q '^backend smservers' "$T/haproxy.cfg" ||
        fail "the example's frontend or backend changed: update this test"
    k=1
    while [ $k -le "$1" ]; do
        eval "printf '    server sm%s 127.0.0.1:%s check\n' $k \$PORT_$k" >>"$T/haproxy.cfg"
        k=$((k + 1))
    done
    haproxy -c -q -f "$T/haproxy.cfg" || fail "haproxy refuses the configuration: $(cat "$T/haproxy.cfg")"
    haproxy -db -f "$T/haproxy.cfg" >>"$T/haproxy.log" 2>&1 &
    lb_PID=$!
    ups=0
    for _ in $(seq 1 100); do
        c=$(curl -s -o /dev/null -w '%{http_code}' "$LB/health") || c=000
        if [ "$c" = 200 ]; then ups=$((ups + 1)); else ups=0; fi
        [ $ups -lt 4 ] || break
        sleep 0.1
    done
    [ $ups -ge 4 ] || fail "the balancer does not answer /health: $(cat "$T/haproxy.log")"
}

up i1 "$PORT_1"
URL=http://127.0.0.1:$PORT_1
register alice 'correct horse battery'
login alice 'correct horse battery'
AA="Authorization: Bearer $ACCESS"
printf '%s' "$ACCESS" >"$T/alice.tok"

for N in $NS; do
    R=$T/r$N
    mkdir -p "$R"
    # The instances of this round (i1 runs already in the first one).
    k=1
    while [ $k -le "$N" ]; do
        pid=$(eval echo \${i${k}_PID:-})
        if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
            up "i$k" "$(eval echo \$PORT_$k)"
        fi
        k=$((k + 1))
    done
    lb_for "$N"
    URL=$LB
    # The agents of this round, and the poster's own agent.
    : >"$R/agents"
    a=1
    while [ $a -le "$NAGENTS" ]; do
        add_agent "$AA" "chaos$N-$a"
        printf '%s' "$AGENT_TOKEN" >"$R/ag$a.tok"
        mkdir -p "$R/ag$a"
        "$SMAGENT" -f -s "$LB" -t "$R/ag$a.tok" -i 1 --spool "$R/ag$a/spool" -v debug \
            -c /dev/null >"$R/ag$a/log" 2>&1 &
        echo $! >>"$T/pids"
        printf '%s %s %s\n' "$AGENT_ID" "$R/ag$a" $! >>"$R/agents"
        a=$((a + 1))
    done
    add_agent "$AA" "poster$N"
    POSTER_ID=$AGENT_ID
    printf '%s' "$AGENT_TOKEN" >"$R/poster.tok"
    rm -f "$R/stop"
    $CHAOS post "$LB" "$R/poster.tok" "$R/stop" "$R/post.json" --interval "$GAP" &
    POST_PID=$!
    $CHAOS view "ws://127.0.0.1:$lb_PORT/ws" "$T/alice.tok" "$R/stop" "$R/view.json" &
    VIEW_PID=$!
    sleep "$UP"

    # The chaos: instance 1, 2, ..N, 1, ... killed with SIGKILL, restarted on its port.
    t0=$(date +%s)
    kill=1
    while [ $kill -le "$KILLS" ]; do
        v=$(((kill - 1) % N + 1))
        pid=$(eval echo \$i${v}_PID)
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null || true
        up "i$v" "$(eval echo \$PORT_$v)"
        sleep "$UP"
        kill=$((kill + 1))
    done
    t1=$(date +%s)
    # Every instance runs again; haproxy has them all back after one good check.
    sleep 3
    touch "$R/stop"
    wait "$POST_PID" || fail "the poster failed"
    wait "$VIEW_PID" || fail "the viewer failed"
    POST_PID=''
    VIEW_PID=''
    # The agents stop: a post in flight may finish (2 s), the rest would stay spooled.
    while read -r id dir pid; do
        kill -TERM "$pid"
        wait "$pid" || fail "smagent $id exited $? after SIGTERM: $(tail -5 "$dir/log")"
    done <"$R/agents"
    kill -TERM "$lb_PID"
    wait "$lb_PID" 2>/dev/null || true
    lb_PID=

    # The checks, in the database itself.
    psql -XAtq -c "SELECT agent_id, ts FROM samples WHERE agent_id IN ($(cut -d' ' -f1 "$R/agents" | tr '\n' ,)$POSTER_ID)" \
        >"$R/stored" || fail "psql failed"
    "$PY" - "$R" "$POSTER_ID" "$N" "$KILLS" "$((t1 - t0))" >"$R/figures" <<'PYEOF' || fail "round N=$N: $(cat "$R/figures")"
import collections, json, re, sys
R, poster, n, kills, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
stored = collections.Counter()
for line in open(R + "/stored"):
    a, ts = line.strip().split("|")
    stored[(int(a), int(ts))] += 1
dups = sum(c - 1 for c in stored.values() if c > 1)
bad = []
p = json.load(open(R + "/post.json"))
acked = set((poster, ms) for ms in p["acked"])
mine = set(k for k in stored if k[0] == poster)
lost = acked - mine
if lost:
    bad.append("%d acknowledged samples of the poster are not stored: %s" % (len(lost), sorted(lost)[:5]))
if mine - acked:
    bad.append("%d samples of the poster stored but never acknowledged" % len(mine - acked))
if p["given_up"]:
    bad.append("the poster gave up on %d samples" % p["given_up"])
taken_total = spooled_left = 0
for line in open(R + "/agents"):
    aid, d, _ = line.split()
    aid = int(aid)
    log = open(d + "/log").read()
    taken = set((aid, round(float(t) * 1000)) for t in re.findall(r"sample \d+ taken at ([0-9.]+)", log))
    taken_total += len(taken)
    m = re.search(r"stopping after (\d+) samples; (\d+) bytes in the spool", log)
    if not m:
        bad.append("agent %d did not log its stop" % aid)
        continue
    if int(m.group(2)):
        spooled_left += 1
        bad.append("agent %d stopped with %s bytes in its spool" % (aid, m.group(2)))
    if int(m.group(1)) != len(taken):
        bad.append("agent %d took %s samples, logged %d" % (aid, m.group(1), len(taken)))
    have = set(k for k in stored if k[0] == aid)
    if taken - have:
        bad.append("agent %d: %d samples taken and not stored" % (aid, len(taken - have)))
    if have - taken:
        bad.append("agent %d: %d samples stored that it never took" % (aid, len(have - taken)))
    if "dropped" in log:
        bad.append("agent %d dropped samples: %s" % (aid, [l for l in log.splitlines() if "dropped" in l][:2]))
if dups:
    bad.append("%d samples stored twice" % dups)
v = json.load(open(R + "/view.json"))
conns = v["connections"]
if v["reconnects"] < 1:
    bad.append("the viewer never lost its instance: %s" % conns)
starved = [c for c in conns if c[0] == 0 and c[1] >= 3]
if starved:
    bad.append("viewer connections open 3 s or more without a sample: %s" % starved)
if v["duplicates"]:
    bad.append("the viewer received %d samples twice on one connection" % v["duplicates"])
if not conns or conns[-1][0] == 0:
    bad.append("the viewer's last connection got no sample: %s" % conns)
fig = ("N=%s: %d kills in %s s; poster %d acked, %d stored, %d attempts failed %s, %d resends "
       "found stored already; agents %d samples taken, %d stored; %d duplicates; "
       "viewer %d reconnects, %d samples, longest gap %.1f s"
       % (n, kills, secs, len(acked), len(mine), p["failures"], json.dumps(p["errors"], sort_keys=True),
          p["duplicate_replies"],
          taken_total, sum(1 for k in stored if k[0] != poster), dups, v["reconnects"],
          v["samples"], v["longest_gap_s"]))
print(fig if not bad else fig + "\n" + "\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
    cat "$R/figures" >>"$T/report"
    pass "$(cat "$R/figures")"
    # The next round starts with the instances running, one more added.
done
[ -z "${PG_CHAOS_REPORT:-}" ] || cp "$T/report" "$PG_CHAOS_REPORT"

#!/bin/sh
# agent_spool_cap.sh: a spool over --spool-max (written here by an independent writer of
# the documented format: little-endian length, CRC-32, payload) loses its oldest samples,
# says how many in the log, stays under the cap on disk, and the rest is delivered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

AGENT_PID=
_kill_agent() { [ -z "$AGENT_PID" ] || kill -KILL "$AGENT_PID" 2>/dev/null || true; }
at_exit _kill_agent

printf 'correct horse battery\n' | "$SMSERVER" user add alice --state-dir "$SM_STATE" >/dev/null
"$SMSERVER" agent add --user alice web1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/token"
chmod 600 "$T/token"

# 400 spooled samples of this machine, one a second ending an hour ago, 5 per segment
# (about the agent's own segment size under a 64K cap).
"$SMAGENT" --once >"$T/once.json"
"$PY" - "$T/once.json" "$T/spool" <<'PY'
import json, os, struct, sys, time, zlib
s = json.load(open(sys.argv[1]))
s.pop("host")
os.makedirs(sys.argv[2], mode=0o700)
t0 = int(time.time()) - 3600 - 400
for seg in range(80):
    with open(os.path.join(sys.argv[2], "seg-%016x" % (seg + 1)), "wb") as f:
        for i in range(5):
            s["timestamp"] = t0 + seg * 5 + i
            b = json.dumps(s, separators=(",", ":")).encode()
            f.write(struct.pack("<II", len(b), zlib.crc32(b)) + b)
open(sys.argv[2] + ".last", "w").write(str(t0 + 399))
print("spool of %d bytes" % sum(os.path.getsize(os.path.join(sys.argv[2], n)) for n in os.listdir(sys.argv[2])))
PY
start_server
stop_server # the port is known and closed: the agent's posts fail, so it spools
# Not too short an interval: live samples must not push out all the preloaded ones while
# a loaded machine takes its time (the cap holds about 40 samples).
"$SMAGENT" --server "$URL" --token-file "$T/token" --interval 5 --spool "$T/spool" \
    --spool-max 64K --log-level debug >"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for "the cap to drop samples" log_has "$T/agent.log" "spool full"
size=$(du -cb "$T"/spool/seg-* | tail -n 1 | cut -f1)
[ "$size" -le 65536 ] || fail "the spool holds $size bytes, over the 64K cap"
pass "over the cap the oldest samples are dropped and counted ($size bytes kept): $(grep -o 'dropped the [0-9]* oldest' "$T/agent.log")"

start_server --listen "127.0.0.1:$PORT"
wait_for "the spool to drain" spool_empty "$T/spool"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "smagent exited $? after SIGTERM"
AGENT_PID=
dropped=$(sed -n 's/.*dropped the \([0-9]*\) oldest.*/\1/p' "$T/agent.log" | awk '{ s += $1 } END { print s }')
sql "SELECT ts FROM samples ORDER BY ts" >"$T/stored"
"$PY" - "$T/stored" "$dropped" "$(cat "$T/spool.last")" <<'PY' || fail "the kept samples are not the newest ones"
import sys, time
ts = [int(x) // 1000 for x in open(sys.argv[1]).read().split()]
old = [t for t in ts if t < time.time() - 3000]
dropped = int(sys.argv[2])
print("%d preloaded samples delivered, %d dropped" % (len(old), dropped))
# Each preloaded sample was either dropped (and counted) or delivered.
assert old, "nothing delivered"
assert len(old) + dropped == 400, "%d delivered + %d dropped != 400" % (len(old), dropped)
# The ones delivered are the newest, without a hole.
assert old == list(range(int(sys.argv[3]) - len(old) + 1, int(sys.argv[3]) + 1)), "not the newest"
PY
pass "the newest spooled samples are delivered after the cap dropped the oldest"

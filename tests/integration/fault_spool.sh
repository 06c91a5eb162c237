#!/bin/sh
# fault_spool.sh: smagent starts on a damaged spool (written here by an independent
# writer of the documented format, then damaged): a payload byte flipped, a CRC field
# flipped, a length field destroyed (the rest of that segment cannot be framed), a
# segment of pure garbage, a torn record at the end of the newest segment. The agent
# starts, skips exactly the damaged records, says how many in its log, and delivers
# every good one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

AGENT_PID=
_kill_agent() { [ -z "$AGENT_PID" ] || kill -KILL "$AGENT_PID" 2>/dev/null || true; }
at_exit _kill_agent

printf 'correct horse battery\n' | "$SMSERVER" user add alice --state-dir "$SM_STATE" >/dev/null
umask 077
"$SMSERVER" agent add --user alice web1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/token"

"$SMAGENT" --once >"$T/once.json"
# Four segments of 10 records, timestamps one second apart ending an hour ago.
# $T/good gets the timestamps that must arrive; $T/bad_count the number of damage spots.
"$PY" - "$T/once.json" "$T/spool" "$T/good" "$T/bad_count" <<'PY'
import json, os, struct, sys, time, zlib
s = json.load(open(sys.argv[1]))
s.pop("host")
os.makedirs(sys.argv[2], mode=0o700)
t0 = int(time.time()) - 3600 - 40
good, bad = [], 0
def rec(t):
    s["timestamp"] = t
    b = json.dumps(s, separators=(",", ":")).encode()
    return bytearray(struct.pack("<II", len(b), zlib.crc32(b)) + b)
for seg in range(4):
    out = bytearray()
    for i in range(10):
        t = t0 + seg * 10 + i
        r = rec(t)
        if seg == 0 and i == 3:      # payload byte flipped: the CRC catches it
            r[8 + len(r) // 2] ^= 0x20
            bad += 1
        elif seg == 0 and i == 6:    # the CRC field itself damaged
            r[5] ^= 0xFF
            bad += 1
        elif seg == 1 and i == 5:    # length destroyed: framing lost to the segment's end
            r[0:4] = b"\xff\xff\xff\x7f"
            bad += 1
        elif seg == 1 and i > 5:
            pass                     # unreachable after the lost framing
        elif seg == 2:
            pass                     # replaced by garbage below
        else:
            good.append(t)
        out += r
    if seg == 2:                     # a whole segment of garbage
        out = bytearray(os.urandom(len(out)))
        out[0:4] = b"\x00\x00\x10\x00"  # a 1 MiB length: over the record cap
        bad += 1
    if seg == 3:                     # a torn last record (a crash mid-append)
        out += rec(t0 + 99)[:37]
        bad += 1
    open(os.path.join(sys.argv[2], "seg-%016x" % (seg + 1)), "wb").write(out)
open(sys.argv[3], "w").write("".join("%d\n" % t for t in good))
open(sys.argv[4], "w").write(str(bad))
PY
start_server
"$SMAGENT" --server "$URL" --token-file "$T/token" --interval 5 --spool "$T/spool" \
    --log-level debug >"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for "the spool to drain" spool_empty "$T/spool"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "smagent exited $? after SIGTERM"
AGENT_PID=
grep -q "spool: read failed\|cannot repair" "$T/agent.log" && fail "spool errors: $(grep spool "$T/agent.log")"

skipped=$(sed -n 's/.*spool: skipped \([0-9]*\) damaged record.*/\1/p' "$T/agent.log" |
    awk '{ s += $1 } END { print s + 0 }')
[ "$skipped" = "$(cat "$T/bad_count")" ] ||
    fail "the log counts $skipped damaged records, $(cat "$T/bad_count") were damaged: $(grep 'spool:' "$T/agent.log")"
sql "SELECT ts FROM samples ORDER BY ts" >"$T/stored"
"$PY" - "$T/good" "$T/stored" <<'PY' || fail "good records not delivered (or damaged ones were)"
import sys, time
good = [int(x) for x in open(sys.argv[1]).read().split()]
old = [int(x) // 1000 for x in open(sys.argv[2]).read().split() if int(x) // 1000 < time.time() - 3000]
print("%d good spooled records, %d delivered" % (len(good), len(old)))
assert old == good, "delivered %s" % old
PY
pass "damaged spool: the agent started, skipped and counted $skipped damaged spots, delivered every good record"

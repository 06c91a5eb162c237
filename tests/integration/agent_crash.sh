#!/bin/sh
# agent_crash.sh: smagent killed with SIGKILL again and again while it spools (the server
# is down) restarts on the same spool each time, and once the server is back every
# sample it had spooled is delivered: a crash costs at most the record being written.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

spooled() {
    n=$(grep -c "spooled the sample of" "$1" 2>/dev/null) || :
    [ "${n:-0}" -ge "$2" ]
}
AGENT_PID=
_kill_agent() { [ -z "$AGENT_PID" ] || kill -KILL "$AGENT_PID" 2>/dev/null || true; }
at_exit _kill_agent

printf 'correct horse battery\n' | "$SMSERVER" user add alice --state-dir "$SM_STATE" >/dev/null
"$SMSERVER" agent add --user alice web1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/token"
chmod 600 "$T/token"
start_server
stop_server # the port is known and nobody listens on it now

# Five runs, each killed at a different moment while samples are being spooled.
for run in 1 2 3 4 5; do
    "$SMAGENT" --server "$URL" --token-file "$T/token" --interval 1 --spool "$T/spool" \
        --log-level debug >"$T/run$run.log" 2>&1 &
    AGENT_PID=$!
    wait_for "run $run to spool" spooled "$T/run$run.log" 2
    # Vary the moment of the kill within the second (the fault, not an assertion).
    sleep "0.$((run * 17 % 10))"
    kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true
    AGENT_PID=
    grep -q "spool: " "$T/run$run.log" && grep "spool: " "$T/run$run.log" >&2 &&
        fail "run $run: spool errors"
done
pass "five SIGKILLs while spooling; each restart opened the spool"

start_server --listen "127.0.0.1:$PORT"
"$SMAGENT" --server "$URL" --token-file "$T/token" --interval 1 --spool "$T/spool" \
    --log-level debug >"$T/final.log" 2>&1 &
AGENT_PID=$!
wait_for "the spool to drain" spool_empty "$T/spool"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "smagent exited $? after SIGTERM"
AGENT_PID=
cat "$T"/run*.log | sed -n 's/.*spooled the sample of \([0-9.]*\).*/\1/p' >"$T/spooled"
sql "SELECT ts FROM samples" >"$T/stored"
"$PY" - "$T/spooled" "$T/stored" <<'PY' || fail "spooled samples were lost"
import sys
spooled = {round(float(x) * 1000) for x in open(sys.argv[1]).read().split()}
stored = {int(x) for x in open(sys.argv[2]).read().split()}
# The log has milliseconds; the server rounds the full timestamp: allow 1 ms.
lost = sorted(t for t in spooled if not {t - 1, t, t + 1} & stored)
print("%d samples spooled before the kills, %d stored, lost %s" % (len(spooled), len(stored), lost))
sys.exit(1 if lost or len(spooled) < 10 else 0)
PY
pass "every sample spooled before a SIGKILL was delivered"

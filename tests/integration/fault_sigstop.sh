#!/bin/sh
# fault_sigstop.sh: smserver frozen with SIGSTOP while smagent sends (a hung server, not
# a dead one: connections are accepted by the kernel and never answered). The agent's
# request times out (30 s), it spools what it samples meanwhile, and after SIGCONT it
# catches up: every sample it took is stored, each once, and the server lives on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

AGENT_PID=
_kill_agent() { [ -z "$AGENT_PID" ] || kill -KILL "$AGENT_PID" 2>/dev/null || true; }
_cont_server() { [ -z "$SM_PID" ] || kill -CONT "$SM_PID" 2>/dev/null || true; }
at_exit _kill_agent
at_exit _cont_server

printf 'pw-123456\n' | "$SMSERVER" user add u --state-dir "$SM_STATE" >/dev/null
umask 077
"$SMSERVER" agent add --user u web1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/token"
start_server

count() { sql "SELECT count(*) FROM samples"; }
have_samples() { [ "$(count)" -ge "$1" ]; }
# taken LOG: the timestamps (ms) of the samples the agent took, one a line.
taken() { sed -n 's/.*sample [0-9]* taken at \([0-9.]*\).*/\1/p' "$1"; }
spooled_at_least() {
    n=$(grep -c "spooled the sample of" "$T/agent.log" 2>/dev/null) || :
    [ "${n:-0}" -ge "$1" ]
}
# all_stored FILE: every timestamp in FILE is stored (the log has ms, allow 1 ms rounding).
all_stored() {
    sql "SELECT ts FROM samples" >"$T/stored"
    "$PY" - "$1" "$T/stored" <<'PY'
import sys
want = {round(float(x) * 1000) for x in open(sys.argv[1]).read().split()}
have = {int(x) for x in open(sys.argv[2]).read().split()}
sys.exit(1 if [t for t in want if not {t - 1, t, t + 1} & have] else 0)
PY
}

"$SMAGENT" --server "$URL" --token-file "$T/token" --interval 1 --spool "$T/spool" \
    --log-level debug >"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for "samples delivered before the stop" have_samples 2

kill -STOP "$SM_PID"
BEFORE=$(count)
# The in-flight request hangs until the agent's 30 s timeout; samples go to the spool.
WAIT_TRIES=600 wait_for "the agent to give up on the frozen server" \
    log_has "$T/agent.log" "cannot reach"
wait_for "samples spooled during the stop" spooled_at_least 3
taken "$T/agent.log" >"$T/taken-before-cont"
kill -CONT "$SM_PID"
pass "SIGSTOP: the agent timed out and spooled ($(wc -l <"$T/taken-before-cont") samples taken)"

WAIT_TRIES=600 wait_for "every sample taken during the stop to be stored" \
    all_stored "$T/taken-before-cont"
wait_for "the spool to drain" spool_empty "$T/spool"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "smagent exited $? after SIGTERM"
AGENT_PID=

# Stored once each, and nothing stored that was not taken.
taken "$T/agent.log" >"$T/taken-all"
sql "SELECT ts FROM samples" >"$T/stored"
"$PY" - "$T/taken-all" "$T/stored" <<'PY' || fail "stored samples do not match the taken ones"
import sys
taken = [round(float(x) * 1000) for x in open(sys.argv[1]).read().split()]
stored = [int(x) for x in open(sys.argv[2]).read().split()]
assert len(stored) == len(set(stored)), "a sample stored twice"
extra = [t for t in stored if not {t - 1, t, t + 1} & set(taken)]
assert not extra, "stored but never taken: %s" % extra
print("taken %d, stored %d" % (len(taken), len(stored)))
PY
grep -q "accepts samples again" "$T/agent.log" || fail "the agent did not log the recovery"
on_pg || [ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
req GET /health
expect 200 '"status":"ok"'
pass "SIGCONT: caught up, nothing lost, nothing stored twice (stored $BEFORE before the stop, $(count) after)"
stop_server

#!/bin/sh
# agent_service.sh: smagent as a service against a real smserver: delivery end to end,
# an outage with no gap, a refused token, SIGHUP, SIGTERM, bad settings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

count() { sql "SELECT count(*) FROM samples"; }
have_samples() { [ "$(count)" -ge "$1" ]; }
taken_count() { grep -c "sample [0-9]* taken at" "$1" || true; }
taken_more() { [ "$(taken_count "$1")" -gt "$2" ]; }

AGENT_PID=
_kill_agent() { [ -z "$AGENT_PID" ] || kill -KILL "$AGENT_PID" 2>/dev/null || true; }
at_exit _kill_agent
# start_agent LOG ARGS...
start_agent() {
    log=$1
    shift
    "$SMAGENT" "$@" >>"$log" 2>&1 &
    AGENT_PID=$!
}
# stop_agent: SIGTERM must give exit 0.
stop_agent() {
    kill -TERM "$AGENT_PID"
    rc=0
    wait "$AGENT_PID" || rc=$?
    AGENT_PID=
    [ $rc -eq 0 ] || fail "smagent exited $rc after SIGTERM, want 0"
}

printf 'correct horse battery\n' | "$SMSERVER" user add alice --state-dir "$SM_STATE" >/dev/null
"$SMSERVER" agent add --user alice web1 --state-dir "$SM_STATE" >"$T/agent.json"
TOKEN=$(sed 's/.*"token":"\([^"]*\)".*/\1/' "$T/agent.json")
[ -n "$TOKEN" ] || fail "no token from smserver agent add"
umask 077
printf '%s\n' "$TOKEN" >"$T/token"
start_server
login alice 'correct horse battery'

# ---- bad settings: exit 2 with a usage message, nothing started.
expect_usage() {
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$* exited $rc, want 2: $(cat "$T/err")"
    grep -q -- "--help" "$T/err" || fail "$*: no pointer to --help: $(cat "$T/err")"
}
expect_usage "$SMAGENT" --server "ftp://127.0.0.1:$PORT" --token-file "$T/token"
grep -q "only http and https" "$T/err" || fail "bad scheme: $(cat "$T/err")"
expect_usage "$SMAGENT" --server "not a url" --token-file "$T/token"
expect_usage "$SMAGENT" --server "$URL" --token-file "$T/token" --interval 0.5
expect_usage "$SMAGENT" --server "$URL" --token-file "$T/token" --spool-max 12
expect_usage "$SMAGENT" --server "$URL" --token-file "$T/token" --bogus
expect_usage "$SMAGENT" --server "$URL" --spool "$T/nospool"
grep -q "no agent token" "$T/err" || fail "missing token: $(cat "$T/err")"
expect_usage "$SMAGENT" --token-file "$T/token" --config "$T/none.conf"
expect_usage "$SMAGENT" --server "$URL" --token-file "$T/missing-token"
# A bad environment value or config key is an error naming its source (exit 1).
set +e
INTERVAL=abc "$SMAGENT" --server "$URL" --token-file "$T/token" --spool "$T/s0" 2>"$T/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "INTERVAL" "$T/err" || fail "INTERVAL=abc: exit $rc: $(cat "$T/err")"
printf 'server = %s\nintervall = 5\n' "$URL" >"$T/typo.conf"
set +e
"$SMAGENT" --config "$T/typo.conf" --token-file "$T/token" --spool "$T/s0" 2>"$T/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "typo.conf:2" "$T/err" && grep -q "intervall" "$T/err" ||
    fail "unknown config key: exit $rc: $(cat "$T/err")"
[ ! -d "$T/s0" ] || fail "a spool was created although the settings were bad"
pass "bad options, URL schemes, intervals, sizes and config keys are refused"

# ---- delivery end to end, and SIGTERM exits 0.
start_agent "$T/agent.log" --server "$URL" --token-file "$T/token" --interval 1 \
    --spool "$T/spool" --log-level debug
wait_for "3 samples stored" have_samples 3
stop_agent
req GET /history/1/summary -H "Authorization: Bearer $ACCESS"
expect 200
req GET /agents/1 -H "Authorization: Bearer $ACCESS"
expect 200 web1
grep -q "$(uname -n)" "$T/body" || fail "host facts not stored: $(cat "$T/body")"
spool_empty "$T/spool" || fail "the spool is not empty after delivery"
pass "samples delivered end to end with host facts; SIGTERM exits 0"

# ---- outage: the server dies, the agent keeps sampling, the server comes back.
start_agent "$T/agent2.log" --server "$URL" --token-file "$T/token" --interval 1 \
    --spool "$T/spool" --log-level debug
# The first run's samples are stored too: wait for three of this run's.
before_outage=$(count)
wait_for "samples before the outage" have_samples $((before_outage + 3))
kill -KILL "$SM_PID"
wait "$SM_PID" 2>/dev/null || true
SM_PID=
wait_for "the agent to notice the outage" log_has "$T/agent2.log" "cannot reach"
wait_for "the spool to hold samples" spool_nonempty "$T/spool"
# The outage lasts a while (several intervals and back-off steps); this is the fault
# being injected, not a timed assertion.
sleep 6
start_server --listen "127.0.0.1:$PORT"
[ "$URL" = "http://127.0.0.1:$PORT" ] || fail "the server came back on another port"
wait_for "the agent to resume" log_has "$T/agent2.log" "accepts samples again"
wait_for "the spool to drain" spool_empty "$T/spool"
sleep 1.5
# SIGTERM while a post is in flight to a server too slow to answer within the agent's
# grace (a loaded machine does this by chance; SIGSTOP does it every time): the sample
# must stay in the spool, not be counted as sent. The database is read directly, so
# the check below does not need the frozen server.
n=$(taken_count "$T/agent2.log")
kill -STOP "$SM_PID"
wait_for "a sample posted to the frozen server" taken_more "$T/agent2.log" "$n"
stop_agent
kill -CONT "$SM_PID"
spool_nonempty "$T/spool" || fail "SIGTERM with a post in flight left nothing in the spool"
last=$(sed -n 's/.*sample [0-9]* taken at \([0-9.]*\)$/\1/p' "$T/agent2.log" | tail -n 1)
grep -q "spooled the sample of $last" "$T/agent2.log" ||
    { cat "$T/agent2.log" >&2; fail "the sample in flight at SIGTERM was not spooled"; }
# What SIGTERM left in the spool is delivered by the next start (an interval too long
# to take a sample meanwhile); only then is every sample taken due in the database.
start_agent "$T/agent2b.log" --server "$URL" --token-file "$T/token" --interval 3600 \
    --spool "$T/spool" --log-level debug
wait_for "the spool left by SIGTERM to drain" spool_empty "$T/spool"
stop_agent
[ "$(taken_count "$T/agent2b.log")" -eq 0 ] || fail "the flushing run took samples"
sql "SELECT ts FROM samples WHERE agent_id = 1 ORDER BY ts" >"$T/ts"
sed -n 's/.*sample [0-9]* taken at \([0-9.]*\)$/\1/p' "$T/agent2.log" >"$T/taken"
"$PY" - "$T/ts" "$T/taken" <<'PY' || { cat "$T/agent2.log" >&2; fail "samples lost or doubled in the outage"; }
import sys
taken = [round(float(x) * 1000) for x in open(sys.argv[2]).read().split()]
# Only this run's samples (the first run's are stored too).
stored = [int(x) for x in open(sys.argv[1]).read().split() if int(x) >= taken[0] - 1]
# Every sample the agent took is stored, once (the log has milliseconds: allow 1 ms).
lost = [t for t in taken if not any(abs(t - s) <= 1 for s in stored)]
extra = [s for s in stored if not any(abs(t - s) <= 1 for t in taken)]
print("%d samples taken over %.1f s, %d stored; lost %s; unexpected %s" % (
    len(taken), (taken[-1] - taken[0]) / 1000, len(stored), lost, extra))
assert len(taken) >= 10
sys.exit(1 if lost or extra or len(stored) != len(taken) else 0)
PY
# The schedule is absolute: one sample a second, unless the agent says it fell behind.
if ! grep -q "fell behind" "$T/agent2.log"; then
    "$PY" -c 'import sys
t = [round(float(x) * 1000) for x in open(sys.argv[1]).read().split()]
gaps = [(b - a) / 1000 for a, b in zip(t, t[1:]) if b - a > 1500]
print("gaps over 1.5 s:", gaps)
sys.exit(1 if gaps else 0)' "$T/taken" || { cat "$T/agent2.log" >&2; fail "a gap in the samples"; }
fi
pass "a server outage leaves no gap and no duplicate"

# ---- a refused token: samples are spooled, the log says so, the token never shows.
printf 'not-the-right-token\n' >"$T/badtoken"
start_agent "$T/agent3.log" --server "$URL" --token-file "$T/badtoken" --interval 1 \
    --spool "$T/spool3" --log-level debug
wait_for "the token refusal in the log" log_has "$T/agent3.log" "refused the agent token"
wait_for "the spool to keep samples" spool_nonempty "$T/spool3"
grep -q "not-the-right-token" "$T/agent3.log" && fail "the log shows the token"
grep -q "token file $T/badtoken" "$T/agent3.log" || fail "the log does not say which token"
pass "a refused token keeps samples in the spool and is logged, never printed"
# The fix: the right token in the file and SIGHUP; the spooled samples go through.
before=$(sql "SELECT count(*) FROM samples")
printf '%s\n' "$TOKEN" >"$T/badtoken"
kill -HUP "$AGENT_PID"
wait_for "the spool to drain after the reload" spool_empty "$T/spool3"
stop_agent
[ "$(sql "SELECT count(*) FROM samples")" -gt "$before" ] || fail "nothing stored after the token fix"
grep -qF -e "$TOKEN" "$T"/agent*.log && fail "a log shows the real token"
pass "after the token is fixed, SIGHUP delivers the spooled samples"

# ---- settings from a config file and the environment; SIGHUP reloads.
printf 'server = %s\ninterval = 1\nlog_level = debug\n' "$URL" >"$T/smagent.conf"
AGENT_TOKEN=$TOKEN start_agent "$T/agent4.log" --config "$T/smagent.conf" --spool "$T/spool4"
wait_for "sending from the config file" log_has "$T/agent4.log" "every 1 s"
printf 'server = %s\ninterval = 2\nlog_level = debug\n' "$URL" >"$T/smagent.conf"
kill -HUP "$AGENT_PID"
wait_for "the reload" log_has "$T/agent4.log" "reloaded: .* every 2 s"
kill -0 "$AGENT_PID" || fail "smagent died on SIGHUP"
stop_agent
pass "config file and AGENT_TOKEN work; SIGHUP reloads the interval"

# ---- the example configuration: every key, uncommented, is accepted as it stands.
EX=$top_srcdir/share/examples/smagent.conf
n=$(grep -c '^#[a-z_]* = ' "$EX")
[ "$n" -eq 12 ] || fail "the example shows $n keys, want 12 (7, and 5 of host depth)"
sed -e 's/^#\([a-z_]* = \)/\1/' -e "s|^server = .*|server = $URL|" "$EX" >"$T/example.conf"
AGENT_TOKEN=$TOKEN start_agent "$T/agent5.log" --config "$T/example.conf" --spool "$T/spool5"
wait_for "smagent to run on the example settings" log_has "$T/agent5.log" "every 5 s"
stop_agent
pass "the example configuration is accepted with every key set"

# ---- readiness under systemd: READY=1 once running, STOPPING=1 on SIGTERM.
"$PY" - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        msg = s.recv(4096).decode()
        f.write(msg + "\n")
        f.flush()
        if "STOPPING=1" in msg:
            break
PY
NPID=$!
wait_for "the notify socket" test -S "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock start_agent "$T/agent6.log" --server "$URL" --token-file "$T/token" \
    --interval 1 --spool "$T/spool6"
wait_for "READY=1" log_has "$T/notify.log" "READY=1"
stop_agent
wait_for "STOPPING=1" log_has "$T/notify.log" "STOPPING=1"
wait "$NPID" || true
pass "sd_notify READY=1 and STOPPING=1 over NOTIFY_SOCKET"

#!/bin/sh
# start_offline.sh: smtop --server with a stored session starts even when the server is
# away: the dashboard says "connecting to URL: reason; retrying in Ns" and shows the fleet
# once a real smserver comes up on that port. A wrong password still exits 1 at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
unset SMTOP_PASSWORD

start_server
register alice alice-password-1
login alice alice-password-1
add_agent "Authorization: Bearer $ACCESS" web1
post_once "$AGENT_TOKEN" >/dev/null
printf 'alice-password-1\n' >"$T/pw"
printf 'not-her-password\n' >"$T/badpw"

# A first run stores the session (the refresh token).
XDG_STATE_HOME=$T/xdg "$SMTOP" --server "$URL" --user alice --password-file "$T/pw" -b -n 1 \
    >"$T/b1" 2>"$T/b1.err" || fail "first run: $(cat "$T/b1.err")"
grep -q '^web1 ' "$T/b1" || fail "first run: $(cat "$T/b1")"

# 1. The server goes away; smtop starts anyway (no password given: the stored session).
stop_server
start_shell 160 30 XDG_STATE_HOME=$T/xdg LANG=C.UTF-8
run_smtop --server "$URL" --user alice -d 0.5
wait_for "connecting to $URL: .*; retrying in [0-9]+s"
screen | grep -q "EXITED" && fail "smtop exited: $(cat "$T/stderr")"
pass "smtop starts without the server and says it is retrying"

# 2. The server comes back on the same port: the fleet appears.
start_server --listen "127.0.0.1:$PORT"
wait_for "^web1 +(online|offline)" 40
wait_for "1 agents, [01] online  live"
pass "the fleet appears when the server comes up"
keys q
wait_for "EXITED:0"

# 3. A wrong password (no stored session) is still an error at once, exit 1.
rc=0
XDG_STATE_HOME=$T/xdg2 "$SMTOP" --server "$URL" --user alice --password-file "$T/badpw" -b -n 1 \
    >/dev/null 2>"$T/bad.err" || rc=$?
[ $rc -eq 1 ] || fail "wrong password: exit $rc, expected 1"
grep -q "login refused for alice" "$T/bad.err" || fail "wrong password: $(cat "$T/bad.err")"
pass "a wrong password exits 1 with a clear message"

#!/bin/sh
# one_thread.sh: smtop is one thread, the libwebsockets loop (issue 8). /proc/PID/status
# says "Threads: 1" for smtop in a private tmux in local mode, and with --server against a
# real smserver: live, after REST requests (the host view's history), while reconnecting
# after the server went away, and live again once it is back. The keys keep working
# throughout (stdin is adopted into the same loop).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
unset SMTOP_PASSWORD

# threads WHAT: the pid in $T/pid is smtop and has exactly one thread.
threads() {
    pid=$(cat "$T/pid")
    [ -r "/proc/$pid/status" ] || fail "$1: smtop (pid $pid) is gone: $(cat "$T/stderr")"
    grep -q '^Name:[[:space:]]*smtop$' "/proc/$pid/status" ||
        fail "$1: pid $pid is not smtop: $(grep '^Name' "/proc/$pid/status")"
    n=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$pid/status")
    [ "$n" = 1 ] || fail "$1: smtop has $n threads: $(ls "/proc/$pid/task" | tr '\n' ' ')"
}

# run_pid ARGS...: run smtop ARGS in the pane, its pid in $T/pid.
run_pid() {
    rm -f "$T/pid"
    tmx send-keys -l "sh -c 'echo \$\$ >$T/pid; exec $SMTOP $* 2>$T/stderr'; echo EXITED:\$?" ||
        fail "send-keys"
    tmx send-keys Enter
    _n=200
    until [ -s "$T/pid" ]; do
        _n=$((_n - 1))
        [ "$_n" -gt 0 ] || fail "smtop did not start"
        sleep 0.1
    done
}

# 1. Local mode.
start_shell 100 30 LANG=C.UTF-8 LC_ALL=C.UTF-8
run_pid -d 0.3
wait_for '^cpu0 '
threads "local mode"
keys g
wait_for 'last 5m'
threads "local mode, history view"
keys q
wait_for '^EXITED:0'
_kill_tmux
pass "local mode runs on one thread"

# 2. Server mode.
start_server
register alice alice-password-1
login alice alice-password-1
add_agent "Authorization: Bearer $ACCESS" web1
post_once "$AGENT_TOKEN" >/dev/null
printf 'alice-password-1\n' >"$T/pw"

start_shell 160 30 XDG_STATE_HOME=$T/xdg LANG=C.UTF-8
run_pid --server "$URL" --user alice --password-file "$T/pw" -d 0.5
wait_for '^web1 +(online|offline)'
wait_for "1 agents, [01] online  live"
threads "server mode, live"
# The host view asks /history over REST on the same loop.
keys Enter
wait_for 'CPU history'
threads "server mode, host view with history"
pass "server mode runs on one thread, live and with REST requests"

# 3. The server goes away: reconnecting, on the same thread; then back on the same port.
stop_server
wait_for 'reconnecting in [0-9]+s'
threads "server mode, reconnecting"
start_server --listen "127.0.0.1:$PORT"
keys Escape
wait_for "1 agents, [01] online  live" 40
threads "server mode, live again"
keys q
wait_for '^EXITED:0'
pass "reconnecting and back live on one thread; q still quits"

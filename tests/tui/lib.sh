# lib.sh: helpers for the tmux-driven smtop tests (sourced, not run).
# Each test gets a private tmux server (tmux -L NAME -f /dev/null) killed on exit.
. "$(dirname "$0")/../integration/lib.sh"
need tmux
# No settings file from the user running the tests.
XDG_CONFIG_HOME=$T/no-config
export XDG_CONFIG_HOME
TMUX_BASE="smtop-test-$$-$(basename "$0" .sh)"
TMUX_SOCK=$TMUX_BASE
_tmux_n=0
unset TMUX
tmx() { tmux -L "$TMUX_SOCK" -f /dev/null "$@"; }
_kill_tmux() { tmx kill-server >/dev/null 2>&1 || true; }
at_exit _kill_tmux

# start_shell W H [ENV...]: a session running sh in a W x H pane, with ENV set.
start_shell() {
    w=$1 h=$2
    shift 2
    _tmux_n=$((_tmux_n + 1))
    TMUX_SOCK=$TMUX_BASE-$_tmux_n # a fresh server each time: no race with a dying one
    tmx new-session -d -x "$w" -y "$h" "env PS1='$ ' XDG_CONFIG_HOME=$XDG_CONFIG_HOME $* sh" ||
        fail "tmux would not start"
}

# run_smtop ARGS...: type "smtop ARGS; echo EXITED:$?" into the shell.
run_smtop() {
    tmx send-keys -l "$SMTOP $* 2>$T/stderr; echo EXITED:\$?" || fail "send-keys"
    tmx send-keys Enter
}

# screen: the pane's text now.
screen() { tmx capture-pane -p; }

# wait_for REGEX [SECONDS]: poll the pane (every 0.1 s, default 20 s) until grep -E matches.
wait_for() {
    _n=$(( ${2:-20} * 10 ))
    while [ "$_n" -gt 0 ]; do
        if screen | LC_ALL=C grep -Eq -- "$1"; then return 0; fi
        sleep 0.1
        _n=$((_n - 1))
    done
    screen >"$T/last-screen" 2>&1 || true
    echo "--- screen while waiting for /$1/:" >&2
    cat "$T/last-screen" >&2
    fail "timed out waiting for /$1/"
}

# wait_gone REGEX [SECONDS]: poll until the pane no longer matches REGEX.
wait_gone() {
    _n=$(( ${2:-20} * 10 ))
    while [ "$_n" -gt 0 ]; do
        if ! screen | LC_ALL=C grep -Eq -- "$1"; then return 0; fi
        sleep 0.1
        _n=$((_n - 1))
    done
    screen >&2
    fail "timed out waiting for /$1/ to go away"
}

# keys KEY...: send tmux key names (Enter, Escape, F1, Up, q ...).
keys() { tmx send-keys "$@"; }

# resize W H: resize the window (tmux sends SIGWINCH to smtop).
resize() { tmx resize-window -x "$1" -y "$2"; }

# click COL ROW: a left click (press and release, X10 encoding as kmous=\E[M), 0-based.
click() {
    _x=$(printf '%03o' $((33 + $1)))
    _y=$(printf '%03o' $((33 + $2)))
    tmx send-keys -l "$(printf "\\033[M \\$_x\\$_y\\033[M#\\$_x\\$_y")"
}

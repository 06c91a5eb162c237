#!/bin/sh
# modes.sh: NO_COLOR, ASCII graphs (--ascii and a non-UTF-8 locale), SIGTERM and SIGINT
# restore the terminal, -n ends the dashboard, a fixture /proc with 16 cores.
. "$(dirname "$0")/lib.sh"
ESC=$(printf '\033')

# colours: a plain run uses foreground colours, NO_COLOR none.
start_shell 100 30 LANG=C.UTF-8 LC_ALL=C.UTF-8
run_smtop -d 0.3
wait_for '^cpu0 '
sleep 0.5 # one more refresh so the meters are coloured by their level
tmx capture-pane -p -e >"$T/colour"
grep -q "$ESC\[3[1-7]m" "$T/colour" || fail "no colours without NO_COLOR"
keys q
wait_for '^EXITED:0'
tmx send-keys -l "clear" && keys Enter
wait_gone 'EXITED'
run_smtop -d 0.3 --no-such-option
wait_for '^EXITED:2'
tmx send-keys -l "clear; export NO_COLOR=1" && keys Enter
wait_gone 'EXITED'
run_smtop -d 0.3
wait_for '^cpu0 '
wait_for 'CPU history'
tmx capture-pane -p -e >"$T/nocolour"
if grep -q "$ESC\[[34][0-7]m" "$T/nocolour"; then fail "colours with NO_COLOR set"; fi
grep -q "$ESC\[[0-9;]*7m" "$T/nocolour" || fail "NO_COLOR: no reverse video for the selection"
keys q
wait_for '^EXITED:0'
_kill_tmux
pass "colour by default, none with NO_COLOR (selection in reverse video)"

# ASCII: --ascii under UTF-8, and a C locale, draw graphs with ASCII only.
ascii_check() {
    wait_for '^cpu0 '
    wait_for 'CPU history'
    # A plotted point on the graph's ASCII axis (the graph is drawn): any height, since
    # the machine may be idle ('#' needs a busy one).
    wait_for '0\.0%\|.*[.:#]'
    keys g
    wait_for 'last 5m'
    screen >"$T/ascii"
    if LC_ALL=C grep -q "$(printf '[\200-\377]')" "$T/ascii"; then
        cat "$T/ascii" >&2
        fail "$1: non-ASCII bytes on screen"
    fi
    grep -q "($(hostname):ascii)" "$T/ascii" || fail "$1: history view does not say ascii"
    keys q
    wait_for '^EXITED:0'
}
start_shell 100 30 LANG=C.UTF-8 LC_ALL=C.UTF-8
run_smtop -d 0.2 --ascii
ascii_check "--ascii"
_kill_tmux
start_shell 100 30 LANG=C LC_ALL=C
run_smtop -d 0.2
ascii_check "LANG=C"
_kill_tmux
start_shell 100 30 LANG=C.UTF-8 LC_ALL=C.UTF-8
run_smtop -d 0.2
wait_for 'CPU history'
# Any braille glyph but the blank one (U+2801..U+28FF, matched as bytes): a full cell
# would need a busy machine.
wait_for "$(printf '\342\240[\201-\277]|\342[\241-\243][\200-\277]')"
keys q
wait_for '^EXITED:0'
_kill_tmux
pass "ASCII graphs with --ascii and in a C locale, braille under UTF-8"

# The settings file chooses the graph style; --ascii on the command line wins.
mkdir -p "$T/xdg/statusmonitor"
printf 'graph = blocks\ndelay = 0.2\n' >"$T/xdg/statusmonitor/smtop.conf"
start_shell 100 30 LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_CONFIG_HOME=$T/xdg
run_smtop
wait_for '^cpu0 '
keys g
wait_for "\\($(hostname):blocks\\)"
wait_for 'every 0\.2s'
keys q
wait_for '^EXITED:0'
tmx send-keys -l "clear" && keys Enter
wait_gone 'EXITED'
run_smtop -a
wait_for '^cpu0 '
keys g
wait_for "\\($(hostname):ascii\\)"
keys q
wait_for '^EXITED:0'
_kill_tmux
pass "settings file: graph and delay; --ascii overrides it"

# SIGTERM and SIGINT: smtop exits 0 and the shell prompt is usable again.
for sig in TERM INT; do
    start_shell 100 30 LANG=C.UTF-8
    run_smtop -d 0.3
    wait_for '^cpu0 '
    shpid=$(tmx display-message -p '#{pane_pid}')
    pid=$(pgrep -P "$shpid" -x smtop) || fail "smtop process not found under the pane's shell"
    kill -s "$sig" "$pid"
    wait_for '^EXITED:0'
    tmx send-keys -l "echo after-$sig" && keys Enter
    wait_for "^after-$sig"
    [ ! -s "$T/stderr" ] || fail "SIG$sig: smtop wrote to stderr: $(cat "$T/stderr")"
    _kill_tmux
done
pass "SIGTERM and SIGINT restore the terminal and exit 0"

# -n ends the dashboard after N refreshes.
start_shell 100 30 LANG=C.UTF-8
run_smtop -d 0.1 -n 5
wait_for '^EXITED:0'
_kill_tmux
pass "-n 5 stops the dashboard by itself"

# A fixture /proc: the captured 16-core workstation, every core with its frequency.
fx=$FIXTURES/workstation-16core/t0
start_shell 160 40 LANG=C.UTF-8
run_smtop -d 0.5 --proc-root "$fx/proc" --sys-root "$fx/sys"
wait_for 'cpu15 '
s=$(screen)
i=0
while [ $i -lt 16 ]; do
    echo "$s" | grep -q "cpu$i .*MHz" || fail "fixture: core $i or its frequency missing"
    i=$((i + 1))
done
keys q
wait_for '^EXITED:0'
[ ! -s "$T/stderr" ] || fail "fixture: smtop wrote to stderr: $(cat "$T/stderr")"
_kill_tmux
pass "fixture: 16 cores with frequencies"

# Not a terminal: a clear error, exit 2, pointing at -b.
set +e
"$SMTOP" </dev/null >"$T/out" 2>"$T/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "smtop without a terminal exited $rc, want 2"
grep -q -- '-b' "$T/err" || fail "no hint about -b: $(cat "$T/err")"
pass "no terminal: exit 2 with a hint"

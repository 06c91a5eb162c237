#!/bin/sh
# procs.sh: the local host view's process panel: smtop's own process is listed; P, M, T,
# < and > change the order; / finds a process started here by a unique name (F3: the
# next one); \ filters; t shows a child under its parent; k sends a signal after a
# menu and a confirmation; a process gone meanwhile and one the user may not signal
# (smtop run as nobody against root's process: EPERM) are refused with a message;
# names with control bytes are drawn sanitized.
. "$(dirname "$0")/lib.sh"
need setpriv bash

# Processes with names nobody else has: sleep under other names (comm is the link's).
tag=$$
ln -s /bin/sleep "$T/probeA-$tag"
ln -s /bin/sleep "$T/probeB-$tag"
ln -s /bin/sh "$T/tpar-$tag"
ln -s /bin/sleep "$T/tkid-$tag"
"$T/probeA-$tag" 300 &
pa=$!
"$T/probeB-$tag" 300 &
pb=$!
# A parent (a shell, which waits) and its child; "; :" keeps sh from exec'ing the child.
"$T/tpar-$tag" -c "'$T/tkid-$tag' 300; :" &
ppar=$!
# Hostile names: ESC and BEL in the comm (a link so named) and in argv[0].
evil=$(printf 'ev\033[7mil')
ln -s /bin/sleep "$T/$evil"
bash -c 'exec -a "$0" "$1" 300' "$(printf 'argv\001\033]0;pwned\007zero-%s' "$tag")" "$T/$evil" &
pe=$!
"$T/$evil" 300 &
pe2=$!
_kill_probes() {
    kill $(pgrep -P "$ppar") "$pa" "$pb" "$ppar" "$pe" "$pe2" 2>/dev/null || true
}
at_exit _kill_probes

# The row of the panel for pid $1 in the pane now ("" when not on screen).
row_of() { screen | grep -E "^ *$1 " | head -n 1; }
# Rows of the panel (the lines after its header, before the status line).
panel_rows() { screen | sed -n '/ PID[^ ]* USER /,$p' | sed '1d;$d' | grep -E '^ *[0-9]+ [^ ]+ +[A-Za-z?] '; }
# The values of column $1 (awk field) of the panel rows, in bytes when with a unit.
column() {
    panel_rows | awk -v f="$1" '{ v = $f; m = 1
        if (v ~ /K$/) m = 1024; else if (v ~ /M$/) m = 1048576; else if (v ~ /G$/) m = 1073741824
        sub(/[KMGB]$/, "", v); print v * m }'
}
# Non-increasing?
descending() { awk 'NR > 1 && $1 > prev + 0.0001 { bad = 1 } { prev = $1 } END { exit bad || NR < 3 }'; }

start_shell 140 50 LANG=C.UTF-8 LC_ALL=C.UTF-8
run_smtop -d 0.5
wait_for ' PID USER +S CPU%'
wait_for '[0-9]+ processes'
pane=$(tmx display -p '#{pane_pid}')
me=$(pgrep -P "$pane" -x smtop | head -n 1)
[ -n "$me" ] || fail "cannot find smtop's pid"

# Its own process: search its command line, the row comes into view.
keys /
wait_for 'Search: _'
keys -l "smtop/smtop -d 0.5"
keys Enter
wait_for "^ *$me root .*smtop/smtop -d 0.5"
# START: started a moment ago, so the hour and minute.
screen | grep -Eq "^ *$me root .* [0-9]{2}:[0-9]{2} [^ ]*smtop/smtop -d 0.5" ||
    fail "no START time for smtop's own process: $(screen)"
pass "the panel lists smtop's own process ($me)"

# Sort keys: the marked column and the order follow.
keys M
wait_for 'RES▼'
sleep 0.6
column 5 | descending || { screen >&2; fail "M: RES not in descending order"; }
keys P
wait_for 'CPU%▼'
keys T
wait_for 'TIME\+▼'
sleep 0.6
panel_rows | head -n 3 | grep -q . || fail "no rows under T"
keys '>'
wait_for 'START▼'
keys '>'
wait_for 'Command▲'
keys '<' '<' '<'
wait_for 'THR▼'
column 6 | descending || { screen >&2; fail "<: THR not in descending order"; }
keys I
wait_for 'THR▲'
keys F6
wait_for 'Sort by:'
keys Home Enter
wait_for 'PID▲'
keys Home
sleep 0.6
first=$(panel_rows | head -n 1 | awk '{print $1}')
[ "$first" = 1 ] || { screen >&2; fail "PID ascending does not start at 1 (got $first)"; }
keys P
wait_for 'CPU%▼'
# A click on a column title sorts by it.
hdr=$(screen | grep -n ' PID.* USER ' | head -n 1)
hrow=$((${hdr%%:*} - 1))
hcol=$(printf '%s\n' "${hdr#*:}" | awk '{ print index($0, "RES") }')
click "$hcol" "$hrow"
wait_for 'RES▼'
keys P
wait_for 'CPU%▼'
pass "M, P, T, <, >, I, F6 and a click on a title sort the panel"

# Search by a unique name, and F3 for the next match.
keys /
keys -l "probe"
wait_for "Search: probe_"
keys -l "A-$tag"
wait_for "^ *$pa .*probeA-$tag 300"
keys Escape
keys F3
keys -l "probeB-$tag"
wait_for "^ *$pb .*probeB-$tag 300"
keys Enter
wait_gone 'Search:'
pass "search (/ and F3) brings a process started by the test into view"

# The function bar says what F3 does here, and a click on that label searches too; in
# the history view F3 is History again.
screen | tail -n 1 | grep -q 'F3Search' || fail "the bar does not label F3 Search: $(screen | tail -n 1)"
screen | tail -n 1 | grep -q 'F3History' && fail "the bar still says F3History in the host view"
click 22 49
wait_for 'Search: _'
keys Escape
wait_gone 'Search:'
keys g
wait_for 'F3History'
keys F2
wait_for 'F3Search'
pass "the function bar labels F3 Search beside the process panel; a click on it searches"

# Filter: only the matching processes, counted; Esc in the prompt clears it.
keys '\'
keys -l "probe"
wait_for 'Filter: probe_'
keys -l "A-$tag"
wait_for "^ *$pa .*probeA-$tag 300"
keys Enter
wait_for "1 processes +filter \"probeA-$tag\" \(of [0-9]+\)"
n=$(panel_rows | wc -l)
[ "$n" -eq 1 ] || { screen >&2; fail "filter shows $n rows, not 1"; }
row_of "$pa" | grep -q "probeA-$tag" || fail "filter lost the matching process"
keys F4 Escape
wait_gone 'filter "'
pass "filter (\\ and F4) keeps the matching processes only, Esc clears it"

# Tree: the child right under its parent, marked.
kid=$(pgrep -P "$ppar" | head -n 1)
[ -n "$kid" ] || fail "the tree test's child did not start"
keys F4
keys -l "kid-$tag"
keys Enter
wait_for "^ *$ppar "
keys -l t
wait_for '  tree'
wait_for "^ *$kid .*└─ .*tkid-$tag"
screen | grep -A1 -E "^ *$ppar " | tail -n 1 | grep -qE "^ *$kid " ||
    { screen >&2; fail "the child is not on the line under its parent"; }
keys -l t
wait_gone '  tree'
keys F4 Escape
pass "tree (t, F5) shows the child under its parent"

# Names with control bytes: each byte drawn as '?', nothing reaches the terminal.
keys '\'
keys -l "zero-$tag"
keys Enter
wait_for "argv\?\?\]0;pwned\?zero-$tag 300"
keys F4 Escape
keys '\'
keys -l "ev?[7mil"
keys Enter
wait_for '2 processes'
wait_for "^ *$pe2 .*/ev\?\[7mil 300"
tmx display -p '#{pane_title}' | grep -q pwned && fail "a hostile name set the terminal's title"
keys F4 Escape
pass "names with control bytes are shown sanitized"

# The filter text is also in the argv of the tmux client that typed it: wait until that
# short-lived client has left the list, so the rows stay where they were read.
settle() {
    i=0
    while screen | grep -q 'send-keys' && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
}
# Kill: k, the signal menu, a confirmation naming the process, y.
keys '\'
keys -l "probeA-$tag"
keys Enter
wait_for "^ *$pa "
settle
# Selected by a click on its row.
prow=$(screen | grep -nE "^ *$pa " | head -n 1 | cut -d: -f1)
click 3 $((prow - 1))
keys k
wait_for 'Send signal:'
wait_for '15 SIGTERM'
keys Enter
wait_for "Send SIGTERM to process $pa \(probe[A]-$tag\)\? y to confirm"
keys y
wait_for "sent SIGTERM to process $pa"
wait "$pa" 2>/dev/null || true
[ ! -e "/proc/$pa" ] || fail "probeA is still there after SIGTERM"
# Declined: nothing sent.
keys F4 Escape '\'
keys -l "probeB-$tag"
keys Enter
wait_for "^ *$pb "
settle
keys F9 Enter
wait_for "Send SIGTERM to process $pb"
keys n
wait_for 'no signal sent'
kill -0 "$pb" || fail "a declined kill ended probeB"
# Gone between the confirmation and y: ESRCH, said so.
keys k Enter
wait_for "Send SIGTERM to process $pb"
kill "$pb"
wait "$pb" 2>/dev/null || true
keys y
wait_for "process $pb \(probe[B]-$tag\) is gone: no signal sent"
pass "kill: menu, confirmation, sent; declined; a vanished process is refused"
keys q
wait_for 'EXITED:0'
[ ! -s "$T/stderr" ] || fail "smtop wrote to stderr: $(cat "$T/stderr")"

# EPERM: smtop as nobody may not signal root's process; it says so and nothing happens.
"$T/probeA-$tag" 300 &
pa=$!
tmx send-keys -l "setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/ XDG_CONFIG_HOME=/nonexistent $SMTOP -d 0.5 2>/dev/null; echo EXITED2:\$?"
tmx send-keys Enter
wait_for ' PID USER +S CPU%'
keys '\'
keys -l "probeA-$tag"
keys Enter
wait_for "^ *$pa root"
keys k Enter y
wait_for "cannot signal process $pa \(probe[A]-$tag\): permission denied, it belongs to root"
kill -0 "$pa" || fail "nobody's smtop ended root's process"
keys q
wait_for 'EXITED2:0'
pass "kill of another user's process is refused with EPERM's message (run as nobody)"

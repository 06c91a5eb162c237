#!/bin/sh
# host_view.sh: the host view shows every core of this machine, memory, filesystems,
# disks and interfaces; help, history, resize down and up, q restores the shell.
. "$(dirname "$0")/lib.sh"
ncpu=$(nproc)
last=$((ncpu - 1))

start_shell 120 40 LANG=C.UTF-8 LC_ALL=C.UTF-8
run_smtop -d 0.5
wait_for "cpu$last "
s=$(screen)
i=0
while [ $i -lt "$ncpu" ]; do
    echo "$s" | grep -q "cpu$i " || fail "core $i missing from the host view"
    i=$((i + 1))
done
for want in '^CPU ' '^Mem ' '^Swap ' '^Load ' 'Filesystem' 'Disk ' 'Interface' 'F1Help' 'F10Quit' ' up '; do
    echo "$s" | grep -Eq -- "$want" || fail "host view lacks /$want/"
done
# The uptime and memory are this machine's: its total RAM as smtop -b prints it.
memtotal=$("$SMTOP" -b -n 1 -d 0.1 | sed -n 's/^Mem:  total \([^ ]*\).*/\1/p')
echo "$s" | grep -q "/$memtotal\]" || fail "memory total $memtotal not on screen"
pass "host view: all $ncpu cores, memory, filesystems, disks, interfaces"

# Help: ? opens it, Esc goes back.
keys '?'
wait_for 'smtop keys'
wait_for 'Everywhere view'
keys Escape
wait_for "cpu$last "
keys h
wait_for 'smtop keys'
keys BSpace
wait_for "cpu$last "
keys F1
wait_for 'smtop keys'
# Every binding of the key table is on the help pages (scrolled with PgDn).
: >"$T/helpscreens"
for _ in 1 2 3 4 5 6; do
    screen >>"$T/helpscreens"
    keys PgDn
    sleep 0.2
done
"$SMTOP" --list-keys | while IFS='	' read -r key view what; do
    grep -qF "  $(printf '%-10s' "$key") $what" "$T/helpscreens" ||
        fail "help view lacks '$key' ($view): $what"
done
keys F2
wait_for "cpu$last "
pass "help opens with ?, h, F1, lists every key, closes with Esc, Backspace, F2"

# History: g opens it on cpu.usage; the window keys and time scrolling say so on screen.
keys g
wait_for 'cpu\.usage +last 5m, live'
wait_for 'min [0-9.]+%  avg'
keys 2
wait_for 'last 1h, live'
keys Left
wait_for 'last 1h, ending 30:00 ago'
keys Right
wait_for 'last 1h, live'
keys 3
wait_for 'last 24h'
keys 4
wait_for 'last 7d'
keys 1 Left End
wait_for 'last 5m, live'
keys Down
wait_for 'cpu\.core\.usage\{core=0\} +last 5m'
pass "history view: windows, scrolling back and forth, metric choice"

# Enter on a host view line opens that metric's history.
keys F2
wait_for "cpu$last "
keys Home Down Enter
wait_for 'cpu\.core\.usage\{core=0\} +last 5m'
keys Escape
wait_for "cpu$last "
pass "Enter opens the selected metric's history; Esc returns"

# Mouse: clicks on the function bar do what the labels say; a click selects a line, a second opens it.
click 1 39
wait_for 'smtop keys'
click 12 39
wait_for "cpu$last "
memrow=$(screen | grep -n '^Mem ' | cut -d: -f1)
click 2 $((memrow - 1))
sleep 0.3 # two separate clicks, not one burst
click 2 $((memrow - 1))
wait_for 'mem\.used_percent +last 5m'
keys F2
wait_for "cpu$last "
# F3 beside the process panel is Search, and its label says so: a click searches.
click 22 39
wait_for 'Search: _'
keys Escape
wait_gone 'Search:'
pass "mouse: function bar, select and open a line"

# Resize down to 60x20 and 40x12, then back up: still drawing, no leftovers.
resize 60 20
wait_for 'F1Help'
wait_for '^cpu0 '
host=$(hostname)
screen >"$T/small"
[ "$(wc -l <"$T/small")" -eq 20 ] || fail "pane is not 20 lines after resize"
tail -n 1 "$T/small" | grep -q '^F1Help' || fail "function bar not on the last line at 60x20"
head -n 1 "$T/small" | grep -q "^$host " || fail "header not on the first line at 60x20"
resize 40 12
wait_for '^CPU '
wait_for 'F1Help'
resize 120 40
wait_for 'Interface'
wait_for "cpu$last "
pass "resize to 60x20, 40x12 and back"

keys q
wait_for '^EXITED:0'
wait_gone 'F10Quit'
[ ! -s "$T/stderr" ] || fail "smtop wrote to stderr: $(cat "$T/stderr")"
pass "q quits with 0 and gives the shell back"

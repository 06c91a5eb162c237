#!/bin/sh
# host_absent.sh: the host view of a VM without cpufreq or swap shows the absent
# frequency and swap percentage as an en dash (never as 0), and keeps their lines.
. "$(dirname "$0")/lib.sh"
fx=$FIXTURES/debian12-vm/t0

start_shell 120 40 LANG=C.UTF-8 LC_ALL=C.UTF-8
run_smtop -d 0.5 --proc-root "$fx/proc" --sys-root "$fx/sys"
wait_for 'cpu1 '
s=$(screen)
echo "$s" | grep -Eq '^CPU .*% –' || fail "CPU meter does not show the frequency as '–': $s"
echo "$s" | grep -Eq '^Swap .*–' || fail "Swap line does not show '–': $s"
echo "$s" | grep -Eq '^Swap .*0B/0B' && fail "Swap line shows 0B/0B for no swap: $s"
echo "$s" | grep -Eq '^Load +[0-9]' || fail "Load line lost its figures: $s"
keys q
wait_for '^EXITED:0'
pass "host view: absent frequency and swap read as an en dash"

#!/bin/sh
# agent_busy_core.sh: pin a busy loop to one core; smagent --once must see that core busy.
. "$(dirname "$0")/lib.sh"
need taskset python3 nproc

core=$(($(nproc) - 1))
taskset -c "$core" sh -c 'while :; do :; done' &
busy=$!
stop_busy() { kill "$busy" 2>/dev/null; }
at_exit stop_busy
sleep 0.5
"$SMAGENT" --once >"$T/s.json" || fail "smagent --once failed"
usage=$(json "$T/s.json" "j['cpu']['per_core_usage'][$core]")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 90 else 1)" "$usage" ||
    fail "core $core runs a busy loop but smagent reports $usage%"
pass "core $core busy: $usage%"

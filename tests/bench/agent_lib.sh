# agent_lib.sh: what bench_agent.sh and bench_agent_depth.sh share (sourced, not run):
# a real smserver on loopback with a fresh state dir and a token per agent, and the
# CPU time and peak RSS of a process. Set T (a fresh directory) and SMSERVER first.

# bench_server NAME...: user "bench", an agent per NAME (its token in $T/NAME.token),
# the server started on a free port; sets URL and SERVER_PID and adds it to PIDS.
bench_server() {
    printf 'bench password\n' | "$SMSERVER" user add bench --state-dir "$T/state" >/dev/null
    for a in "$@"; do
        "$SMSERVER" agent add --user bench "$a" --state-dir "$T/state" |
            sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/$a.token"
        chmod 600 "$T/$a.token"
    done
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$T/state" --port-file "$T/port" \
        --log-level warn 2>"$T/server.log" &
    SERVER_PID=$!
    PIDS="${PIDS:-} $SERVER_PID"
    _i=0
    while [ ! -s "$T/port" ]; do
        _i=$((_i + 1))
        [ $_i -lt 200 ] || { cat "$T/server.log" >&2; exit 1; }
        sleep 0.05
    done
    URL=http://127.0.0.1:$(cat "$T/port")
}

# cpu PID: CPU seconds so far, to the microsecond (the scheduler's sum_exec_runtime, in
# ms, of the main thread: the programs measured are single-threaded), or from
# /proc/PID/stat in clock ticks.
tck=$(getconf CLK_TCK)
cpu() {
    if [ -r "/proc/$1/sched" ] && grep -q sum_exec_runtime "/proc/$1/sched"; then
        awk '/^se.sum_exec_runtime/ { printf "%.6f\n", $3 / 1000 }' "/proc/$1/sched"
    else
        awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t }' "/proc/$1/stat"
    fi
}

# hwm PID: peak RSS in KiB.
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# cpu_all PID: the same for every thread of PID (htop, btop), from each thread's sched
# file: a process's threads that exited are not counted.
cpu_all() {
    if ls /proc/"$1"/task/*/sched >/dev/null 2>&1 && grep -q sum_exec_runtime "/proc/$1/sched"; then
        cat /proc/"$1"/task/*/sched 2>/dev/null |
            awk '/^se.sum_exec_runtime/ { s += $3 } END { printf "%.6f\n", s / 1000 }'
    else
        awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / t }' "/proc/$1/stat"
    fi
}

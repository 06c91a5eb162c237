#!/bin/sh
# remote_depth.sh: host depth in smtop --server, against a real smserver fed by a real
# smagent reading a fixture /proc (the processes of tests/fixtures/procs, pressure) and
# /sys (hwmon, thermal zones, two amdgpu cards, a cgroup v2 tree of services and
# containers from tests/fixtures/depth), and by an agent of the original system (no
# depth at all): the fleet's TEMP and GPU% columns (a dash for the old agent, sortable),
# the host view's process panel (sort, filter; k refused: no signals to remote hosts),
# temperature, fan, pressure and GPU lines, the services view (F7) of the remote host,
# Enter on the temperature line graphing temp.celsius from the server's history, and an
# old agent's host view with none of it and no error; the fleet in -b and --json.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
unset SMTOP_PASSWORD
FX=$top_srcdir/tests/fixtures
[ -d "$FX/procs/t0/proc/1" ] && [ -d "$FX/depth/t0/sys/class/hwmon" ] || fail "fixtures missing"

# /proc: the base files of a Debian VM, the fixture processes, pressure.
mkdir -p "$T/fx"
cp -R "$FX/debian12-vm/t0/proc" "$T/fx/proc"
for d in "$FX"/procs/t0/proc/[0-9]*; do cp -R "$d" "$T/fx/proc/"; done
cp "$FX/procs/t0/proc/uptime" "$T/fx/proc/uptime"
cp -R "$FX/depth/t0/proc/pressure" "$T/fx/proc/pressure"
SYS=$FX/depth/t0/sys

start_server
register alice alice-password-1
login alice alice-password-1
AUTH="Authorization: Bearer $ACCESS"
add_agent "$AUTH" gpuhost
GPU_ID=$AGENT_ID
printf '%s\n' "$AGENT_TOKEN" >"$T/gpuhost.token"
add_agent "$AUTH" oldhost
OLD_TOKEN=$AGENT_TOKEN

: >"$T/agent.conf"
"$SMAGENT" --server "$URL" --token-file "$T/gpuhost.token" --interval 1 --spool "$T/spool" \
    -c "$T/agent.conf" --proc-root "$T/fx/proc" --sys-root "$SYS" -f >"$T/agent.log" 2>&1 &
AGENT=$!
_kill_agent() { kill "$AGENT" 2>/dev/null || true; }
at_exit _kill_agent

# oldhost: the original agent's shape, with none of the depth sections.
cat >"$T/old.json" <<EOF
{"timestamp": $(date +%s), "cpu": {"usage_percent": 20.0, "per_core_usage": [20.0, 20.0]},
 "memory": {"total": 8000000000, "available": 6000000000, "used": 2000000000, "percent": 25.0},
 "disk": {"partitions": []}, "network": {"bytes_sent": 1, "bytes_recv": 2}}
EOF
code=$(curl -s -o "$T/old.out" -w '%{http_code}' -H "X-Agent-Token: $OLD_TOKEN" \
    -H 'Content-Type: application/json' --data-binary @"$T/old.json" "$URL/ingest")
[ "$code" = 200 ] || fail "old agent's sample: $code $(cat "$T/old.out")"
# Wait until the server stores gpuhost's GPU series, then for one more sample.
i=0
until req GET "/history/$GPU_ID/series" -H "$AUTH" && grep -q gpu.busy_percent "$T/body"; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "smagent sent nothing: $(cat "$T/agent.log")"
    sleep 0.1
done
sleep 1.2
printf 'alice-password-1\n' >"$T/pw"

# The fleet in batch mode: TEMP and GPU% columns, a dash for the old agent.
"$SMTOP" --server "$URL" --user alice --password-file "$T/pw" -b -n 1 >"$T/b.txt" 2>"$T/b.err" ||
    fail "smtop -b: $(cat "$T/b.err")"
grep -Eq '^NAME +STATE +CPU% +LOAD +MEM% +DISK% +TEMP +GPU% +RX/s' "$T/b.txt" ||
    fail "-b fleet has no TEMP and GPU% columns: $(cat "$T/b.txt")"
grep -Eq '^gpuhost +online .* 46 +37\.0 ' "$T/b.txt" || fail "-b gpuhost's TEMP/GPU%: $(cat "$T/b.txt")"
grep -Eq '^oldhost +(on|off)line .* - +- ' "$T/b.txt" ||
    fail "-b oldhost is not absent: $(cat "$T/b.txt")"
"$SMTOP" --server "$URL" --user alice --password-file "$T/pw" --json -n 1 >"$T/j.txt" ||
    fail "smtop --json failed"
"$PY" - "$T/j.txt" <<'PY' || fail "--json fleet: $(cat "$T/j.txt")"
import json, sys
rows = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
g, o = rows["gpuhost"], rows["oldhost"]
assert g["hottest_celsius"] == 46 and g["gpu_busy_percent"] == 37, g
assert any(p["name"] == "bigcmd" for p in g["processes"]), "no processes"
assert "hottest_celsius" not in o and "gpu_busy_percent" not in o and "processes" not in o, o
PY
pass "the fleet in -b and --json has the hottest temperature and the busiest GPU"

start_shell 160 45 XDG_STATE_HOME=$T/xdg LANG=C.UTF-8 LC_ALL=C.UTF-8
run_smtop --server "$URL" --user alice --password-file "$T/pw" -d 0.5
wait_for '^NAME.* TEMP +GPU% '
wait_for '^gpuhost +online .* 46 +37\.0 '
screen | grep -Eq '^oldhost +(on|off)line .* - +- ' ||
    fail "oldhost's TEMP and GPU% are not dashes: $(screen)"
pass "the fleet shows TEMP and GPU% columns, a dash for an agent without them"
# Sorting by TEMP: F6 steps through the columns (up first, I inverts).
keys F6 F6 F6 F6 F6 F6
wait_for 'TEMP▲'
first=$(screen | sed -n '3p' | awk '{print $1}')
[ "$first" = oldhost ] || fail "sorted up by TEMP, the host without one is not first (got $first)"
keys I
wait_for 'TEMP▼'
first=$(screen | sed -n '3p' | awk '{print $1}')
[ "$first" = gpuhost ] || fail "sorted by TEMP, the hottest is not first (got $first)"
pass "the fleet sorts by TEMP"

# The host view of gpuhost.
keys Home Enter
wait_for '^gpuhost  Debian'
wait_for '^Temp  \[.*46°C x86_pkg_temp'
wait_for 'PID +USER .*Command'
s=$(screen)
echo "$s" | grep -Eq '^GPU0  \[.*37% 1\.0G/8\.0G 52°C' || fail "no GPU0 line: $s"
echo "$s" | grep -Eq '^Fans  ' || fail "no fan line: $s"
echo "$s" | grep -Eq '^PSI +cpu 1\.5%  memory 12\.3%  io 0\.1%' || fail "no pressure line: $s"
echo "$s" | grep -Eq ' bigcmd x+' || fail "no fixture process: $s"
# TIME+ is not on the wire (a dash); START is (the fixture's boot, over a day ago).
echo "$s" | grep -Eq '^ +1 root +S +[0-9.]+ +12M +1 +– +([A-Za-z]{3}[0-9]{2}|20[0-9]{2}) /sbin/init splash' ||
    fail "no TIME+ dash and START year for process 1: $s"
echo "$s" | grep -Eq '^10 processes' || fail "no process count: $s"
echo "$s" | grep -q 'OFFLINE' && fail "gpuhost is offline: $s"
pass "the host view shows the agent's processes, temperatures, fans, pressure and GPUs"

keys M
wait_for 'RES▼'
keys F4
keys -l caf
wait_for 'Filter: caf_'
keys Enter
wait_for '1 processes +filter "caf" \(of [0-9]+\)'
screen | grep -Eq 'python3 café\.py' || fail "the filter does not show the café process: $(screen)"
keys k
wait_for 'no signals to remote hosts'
screen | grep -q 'Send signal' && fail "a signal menu opened for a remote process"
pass "sort and filter work on remote processes; k is refused with a message"
keys F4 Escape
wait_for '^10 processes'

# F7: the remote host's services and containers.
keys F7
wait_for 'Services and containers +gpuhost +[0-9]+ groups, busiest first'
s=$(screen)
echo "$s" | grep -Eq '^docker\.service +service ' || fail "services view lacks docker.service: $s"
echo "$s" | grep -Eq ' docker .* 256M ' || fail "services view lacks the docker container: $s"
pass "F7 shows the remote host's services and containers"
keys Escape
wait_for '^Temp  \['

# Enter on the temperature line (CPU, the cores, Load, Mem, Swap, then Temp): its
# history from the server, the series named with its sensor label. The filter left the
# arrows with the process list: Tab gives them back to the lines.
keys Tab Down Down Down Down Down Enter
wait_for 'temp\.celsius\{sensor=[^}]*/x86_pkg_temp\} +last 5m'
wait_for 'now 46\.0°C'
# The list at 160 columns: the depth series, a label too long for it cut readably.
s=$(screen)
for want in '^temp\.celsius\{coretemp-isa-0000/Package id 0\} ' '^fan\.rpm\{sensor=nct6775-isa-0a20/fan1\} ' \
    '^psi\.memory\.some_avg10 ' '^cgroup\.cpu_percent\{cgroup=sshd\.service\} ' \
    '^gpu\.busy_percent\{gpu=0000:03:00\.0\} '; do
    echo "$s" | grep -Eq -- "$want" || fail "history list lacks /$want/: $s"
done
# A label with spaces (and a GPU id with ':') is fetched too: Up to the package sensor.
i=0
until screen | grep -Eq 'temp\.celsius\{sensor=coretemp-isa-0000/Package id 0\} +last 5m'; do
    i=$((i + 1))
    [ $i -le 12 ] || fail "no Package id 0 sensor in the history list: $(screen)"
    keys Up
    sleep 0.2
done
wait_for 'now 45\.0°C'
screen | grep -q 'no points in this range' && fail "the Package id 0 history is empty: $(screen)"
pass "Enter on the temperature line graphs temp.celsius; a label with spaces is fetched"
keys Escape Escape
wait_for '^NAME'

# The old agent: a host view with none of it, no error.
keys / o l d Enter
wait_for '^oldhost '
keys Enter
wait_for '^oldhost  '
wait_for 'CPU history'
s=$(screen)
for no in '^Temp ' '^GPU0' '^PSI ' '^Fans ' 'PID +USER'; do
    echo "$s" | grep -Eq -- "$no" && fail "oldhost shows /$no/: $s"
done
echo "$s" | grep -qi 'error\|bad sample' && fail "an error on oldhost: $s"
keys k
sleep 0.3
screen | grep -q 'no signals' && fail "k on a host without processes did something"
keys F7
wait_for 'this agent sends no services or containers'
pass "an agent without depth has its host view as before, and no services"
keys q
wait_for 'EXITED:0'
[ ! -s "$T/stderr" ] || fail "smtop wrote to stderr: $(cat "$T/stderr")"

#!/bin/sh
# agent_once.sh: `smagent --once` against the live kernel (free, df, nproc, /proc/loadavg)
# and against a fixture tree.
. "$(dirname "$0")/lib.sh"
need python3 df nproc

"$SMAGENT" --once >"$T/s.json" 2>"$T/err" || fail "smagent --once exited $?: $(cat "$T/err")"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/s.json" || fail "output is not JSON"

cores=$(json "$T/s.json" 'len(j["cpu"]["per_core_usage"])')
[ "$cores" -eq "$(nproc --all)" ] || fail "per_core_usage has $cores entries, nproc --all says $(nproc --all)"
[ "$(json "$T/s.json" 'j["host"]["cores"]')" -eq "$(nproc --all)" ] || fail "host.cores differs from nproc"
pass "core count matches nproc ($cores)"

memtotal=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024))
[ "$(json "$T/s.json" 'j["memory"]["total"]')" = "$memtotal" ] || fail "memory.total differs from MemTotal"
if command -v free >/dev/null; then
    used=$(free -b | awk '/^Mem:/ { print $3 }')
    # Two readings moments apart: allow 5% of memory (other processes come and go).
    near "$(json "$T/s.json" 'j["memory"]["used"]')" "$used" "$((memtotal / 20))" ||
        fail "memory.used far from free's used ($used)"
fi
pass "memory matches /proc/meminfo and free"

rootsize=$(df -B1 --output=size / | tail -n 1 | tr -d ' ')
rootsample=$(json "$T/s.json" '[p["total"] for p in j["disk"]["partitions"] if p["mountpoint"] == "/"][0]')
[ "$rootsample" = "$rootsize" ] || fail "root filesystem total $rootsample, df says $rootsize"
dfpct=$(df --output=pcent / | tail -n 1 | tr -dc 0-9)
near "$(json "$T/s.json" '[p["percent"] for p in j["disk"]["partitions"] if p["mountpoint"] == "/"][0]')" "$dfpct" 1 ||
    fail "root filesystem percent differs from df's $dfpct%"
pass "root filesystem matches df"

load1=$(cut -d' ' -f1 /proc/loadavg)
# The 1-minute average moves between two readings on a busy machine: 0.5 plus 20%.
tol=$(python3 -c "import sys; print(0.5 + 0.2 * float(sys.argv[1]))" "$load1")
near "$(json "$T/s.json" 'j["cpu"]["load_avg"][0]')" "$load1" "$tol" ||
    fail "load average far from /proc/loadavg ($load1)"
[ "$(json "$T/s.json" 'j["host"]["kernel"]')" = "$(uname -r)" ] || fail "kernel differs from uname -r"
[ "$(json "$T/s.json" 'j["host"]["arch"]')" = "$(uname -m)" ] || fail "arch differs from uname -m"
pass "load average, kernel and arch match"

python3 - "$T/s.json" <<'PY' || fail "values out of range"
import json, sys
j = json.load(open(sys.argv[1]))
c = j["cpu"]
assert 0 <= c["usage_percent"] <= 100, c
assert all(0 <= u <= 100 for u in c["per_core_usage"]), c
assert 0 <= j["memory"]["used_percent"] <= 100
for d in j["disk"]["devices"]:
    assert d["read_bytes_per_s"] >= 0 and 0 <= d["busy_percent"] <= 100, d
for i in j["network"]["interfaces"]:
    assert i["rx_bytes_per_s"] >= 0 and i["tx_bytes_per_s"] >= 0, i
assert abs(j["timestamp"] - __import__("time").time()) < 60
PY
pass "values in range"

# A fixture tree: deterministic facts of the 16-core workstation.
"$SMAGENT" --once --proc-root "$FIXTURES/workstation-16core/t0/proc" \
    --sys-root "$FIXTURES/workstation-16core/t0/sys" >"$T/f.json" || fail "--proc-root run failed"
[ "$(json "$T/f.json" 'j["host"]["hostname"]')" = ws16 ] || fail "fixture hostname"
[ "$(json "$T/f.json" 'len(j["cpu"]["per_core_freq"])')" = 16 ] || fail "fixture per_core_freq"
[ "$(json "$T/f.json" 'j["cpu"]["freq"]["max"]')" = 5000 ] || fail "fixture max frequency"
pass "--proc-root and --sys-root read a fixture tree"

set +e
"$SMAGENT" --once --proc-root "$T/nothing" >"$T/out" 2>"$T/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "--once with an empty proc root exited $rc, want 1"
grep -q "^smagent: sampling failed" "$T/err" || fail "no clear error for an empty proc root"
pass "an unreadable proc root is a runtime failure with a message"

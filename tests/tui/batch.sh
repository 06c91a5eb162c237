#!/bin/sh
# batch.sh: smtop -b prints N plain-text frames, --json N lines of JSON, bad values exit 2.
. "$(dirname "$0")/../integration/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is missing"
ncpu=$(nproc)
# No settings file from the user running the tests.
XDG_CONFIG_HOME=$T/no-config
export XDG_CONFIG_HOME

"$SMTOP" -b -n 2 -d 0.1 >"$T/frames" 2>"$T/err" || fail "smtop -b -n 2 exited $?: $(cat "$T/err")"
[ "$(grep -c '^smtop - ' "$T/frames")" -eq 2 ] || fail "want 2 frame headers: $(cat "$T/frames")"
[ "$(grep -c '^CPU: ' "$T/frames")" -eq 2 ] || fail "want 2 CPU lines"
last=$((ncpu - 1))
[ "$(grep -c "^cpu$last " "$T/frames")" -eq 2 ] || fail "frames do not show cpu$last"
grep -q '^Mem: ' "$T/frames" || fail "no memory line"
[ ! -s "$T/err" ] || fail "batch mode wrote to stderr: $(cat "$T/err")"
pass "-b -n 2 prints two frames with every core"

"$SMTOP" --json -n 3 -d 0.1 >"$T/lines" || fail "smtop --json exited $?"
[ "$(wc -l <"$T/lines")" -eq 3 ] || fail "want 3 JSON lines, got $(wc -l <"$T/lines")"
"$PY" - "$T/lines" "$ncpu" <<'PYEOF' || fail "JSON lines do not parse or lack fields"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
ts = []
for l in lines:
    j = json.loads(l)
    assert len(j["cpu"]["per_core_usage"]) == int(sys.argv[2]), j["cpu"]
    assert 0 <= j["cpu"]["usage_percent"] <= 100
    assert j["memory"]["total"] > 0
    assert j["host"]["cores"] == int(sys.argv[2])
    ts.append(j["timestamp"])
assert ts == sorted(ts) and len(set(ts)) == 3, ts
PYEOF
pass "--json -n 3 prints three parseable samples in time order"

# -b with the captured 16-core workstation tree (frequencies from cpufreq).
fx=$FIXTURES/workstation-16core/t0
"$SMTOP" -b -n 1 -d 0.1 --proc-root "$fx/proc" --sys-root "$fx/sys" >"$T/fx" ||
    fail "fixture run exited $?"
[ "$(grep -c '^cpu[0-9]' "$T/fx")" -eq 16 ] || fail "fixture: want 16 cores: $(cat "$T/fx")"
grep -q '^cpu15 .*MHz' "$T/fx" || fail "fixture: no per-core frequency"
pass "--proc-root fixture shows its 16 cores with frequencies"

expect_usage() {
    set +e
    "$SMTOP" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "smtop $* exited $rc, want 2"
    [ ! -s "$T/out" ] || fail "smtop $*: usage error wrote to stdout"
}
for bad in 0 0.05 -1 abc 1e9 3601 "" 2s nan inf; do
    expect_usage -b -n 1 -d "$bad"
    grep -q -- "--delay" "$T/err" || fail "-d '$bad': message does not name --delay"
done
for bad in 0 -3 1.5 x "" 99999999999; do
    expect_usage -b -n "$bad"
    grep -q -- "--iterations" "$T/err" || fail "-n '$bad': message does not name --iterations"
done
expect_usage -b -d
expect_usage -b extra
expect_usage --no-such-option
pass "bad -d, -n and arguments exit 2 naming the option"

"$SMTOP" --help >"$T/help"
grep -q -- '--server URL' "$T/help" || fail "--server is not in --help"
rc=0
"$SMTOP" --user alice -b -n 1 2>"$T/err" || rc=$?
[ $rc -eq 2 ] && grep -q -- "--user and --password-file need --server" "$T/err" ||
    fail "--user without --server: exit $rc $(cat "$T/err")"
pass "--server advertised; --user alone is a usage error"

# Processes: each plain-text frame ends with the busiest ones, like top -b; a busy
# process started here is among them, with its own pid and name; JSON keeps its shape.
ln -s /bin/sh "$T/busyP-$$"
"$T/busyP-$$" -c 'while :; do :; done' &
busy=$!
_kill_busy() { kill "$busy" 2>/dev/null || true; }
at_exit _kill_busy
sleep 0.5
"$SMTOP" -b -n 2 -d 0.5 >"$T/procs" || fail "smtop -b exited $?"
[ "$(grep -c '^    PID USER      S  %CPU    RES  THR     TIME+ COMMAND$' "$T/procs")" -eq 2 ] ||
    fail "not one process header per frame"
awk '/^    PID USER/ { n++ } n == 2' "$T/procs" | grep -Eq "^ *$busy root +R .*busyP-$$ -c" ||
    { cat "$T/procs" >&2; fail "the busy process is not in the second frame's list"; }
rows=$(awk '/^    PID USER/ { n++; next } n == 2 && NF { c++ } END { print c }' "$T/procs")
[ "$rows" -le 20 ] || fail "$rows processes listed, more than 20"
"$SMTOP" --json -n 1 -d 0.2 | grep -q 'PID USER' && fail "--json carries the process text"
pass "batch frames list the 20 busiest processes"

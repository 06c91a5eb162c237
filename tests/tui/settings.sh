#!/bin/sh
# settings.sh: ~/.config/statusmonitor/smtop.conf (or --config FILE): read, the command
# line wins, bad content and a missing named file exit 1 naming the file and line.
. "$(dirname "$0")/../integration/lib.sh"
XDG_CONFIG_HOME=$T/no-config
export XDG_CONFIG_HOME
# The settings file: delay and graph from the file, the command line wins, bad content
# and a missing named file fail (exit 1) naming the file.
mkdir -p "$T/xdg/statusmonitor"
printf '# test\ndelay = 0.1\ngraph = blocks\n' >"$T/xdg/statusmonitor/smtop.conf"
XDG_CONFIG_HOME=$T/xdg "$SMTOP" -b -n 2 >"$T/cfg" 2>"$T/err" || fail "with a settings file: exit $?: $(cat "$T/err")"
[ "$(grep -c '^smtop - ' "$T/cfg")" -eq 2 ] || fail "with a settings file: want 2 frames"
printf 'delay = 0.01\n' >"$T/bad.conf"
set +e
"$SMTOP" -b -n 1 --config "$T/bad.conf" >/dev/null 2>"$T/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "bad delay in the settings file: exit $rc, want 1"
grep -q "bad.conf:1" "$T/err" || fail "bad settings: message does not name the line: $(cat "$T/err")"
"$SMTOP" -b -n 1 -d 0.1 --config "$T/bad.conf" >/dev/null 2>&1 && fail "a bad file is an error even when -d is given"
printf 'graph = sparkles\n' >"$T/bad2.conf"
set +e
"$SMTOP" -b -n 1 --config "$T/bad2.conf" >/dev/null 2>"$T/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "graph" "$T/err" || fail "bad graph value: exit $rc: $(cat "$T/err")"
printf 'colour = pink\n' >"$T/bad3.conf"
"$SMTOP" -b -n 1 --config "$T/bad3.conf" >/dev/null 2>&1 && fail "unknown key accepted"
"$SMTOP" -b -n 1 --config "$T/missing.conf" >/dev/null 2>&1 && fail "a missing named file accepted"
HOME=$T/nohome XDG_CONFIG_HOME= "$SMTOP" -b -n 1 -d 0.1 >/dev/null || fail "an absent default file is not an error"
set +e
"$SMTOP" -b -n 1 -c "$T/bad3.conf" >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "-c is not an option (--config is long only): exit $rc"
pass "settings file: read, command line first, bad content and missing named file refused"

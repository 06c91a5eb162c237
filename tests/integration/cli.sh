#!/bin/sh
# cli.sh: the command-line contract of every program: --help, --version, usage errors exit 2.
. "$(dirname "$0")/lib.sh"

for prog in "$SMAGENT" "$SMSERVER" "$SMTOP"; do
    name=$(basename "$prog")
    "$prog" --help >"$T/help" 2>&1 || fail "$name --help exited $?"
    grep -q "^usage: $name" "$T/help" || fail "$name --help has no usage line"
    "$prog" --version >"$T/version" 2>&1 || fail "$name --version exited $?"
    grep -Eq "^$name [0-9]+\.[0-9]+\.[0-9]+$" "$T/version" || fail "$name --version: $(cat "$T/version")"
    set +e
    "$prog" --no-such-option >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$name --no-such-option exited $rc, want 2"
    grep -q "^$name: " "$T/err" || fail "$name: usage error not prefixed by the program name"
    grep -q -- "--help" "$T/err" || fail "$name: usage error does not point to --help"
    [ ! -s "$T/out" ] || fail "$name: usage error wrote to stdout"
done
pass "--help, --version and unknown options"

# smagent rejects bad values with exit 2 and names the option.
expect_usage() {
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$* exited $rc, want 2"
}
for bad in 0 0.5 abc 1e9 -5 3601 "" "5s"; do
    expect_usage "$SMAGENT" --once --interval "$bad"
    grep -q -- "--interval" "$T/err" || fail "--interval '$bad': message does not name the option"
done
expect_usage "$SMAGENT" --once --log-level loud
grep -q -- "--log-level" "$T/err" || fail "--log-level: message does not name the option"
expect_usage "$SMAGENT" --once extra-argument
expect_usage "$SMAGENT" --interval
pass "smagent bad values exit 2 naming the option"

#!/bin/sh
# cli_usage.sh: the usage errors that end every option loop (lib/cli.c): an unknown
# option, an option without its value and an argument left over each exit 2 with one
# line that names what was wrong, for smagent, smtop and smserver alike.
. "$(dirname "$0")/lib.sh"

# usage_is WANT PROG ARGS...: PROG ARGS exits 2 and its first stderr line is WANT.
usage_is() {
    want=$1
    shift
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$* exited $rc, want 2"
    got=$(head -n 1 "$T/err")
    [ "$got" = "$want" ] || fail "$*: said '$got', want '$want'"
    [ ! -s "$T/out" ] || fail "$*: usage error wrote to stdout"
}

usage_is "smtop: unknown option '--no-such-option'" "$SMTOP" --no-such-option
usage_is "smtop: unknown option '-Z'" "$SMTOP" -Z
usage_is "smtop: option '--delay' needs a value" "$SMTOP" --delay
usage_is "smtop: option '-n' needs a value" "$SMTOP" -n
usage_is "smtop: unexpected argument 'extra'" "$SMTOP" -b -n 1 extra
pass "smtop: unknown option, missing value, extra argument"

usage_is "smagent: unknown option '--no-such-option'" "$SMAGENT" --once --no-such-option
usage_is "smagent: option '--interval' needs a value" "$SMAGENT" --once --interval
usage_is "smagent: option '-t' needs a value" "$SMAGENT" --once -t
usage_is "smagent: unexpected argument 'extra'" "$SMAGENT" --once extra
pass "smagent: unknown option, missing value, extra argument"

usage_is "smserver: unknown option '--no-such-option'" "$SMSERVER" --no-such-option
usage_is "smserver: unknown option '-Z'" "$SMSERVER" -Z
usage_is "smserver: option '--listen' needs a value" "$SMSERVER" --listen
usage_is "smserver: option '-s' needs a value" "$SMSERVER" -s
usage_is "smserver: option '--tls-cert' needs a value" "$SMSERVER" --tls-cert
usage_is "smserver: unexpected argument 'extra'" "$SMSERVER" --state-dir "$T/none" extra
pass "smserver: unknown option, missing value, extra argument"

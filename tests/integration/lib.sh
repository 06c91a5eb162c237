# lib.sh: shared helpers for the integration tests (sourced, not run).
# Each test gets a private directory $T removed on exit, and the programs built in
# $top_builddir. Exit 77 means "skipped" (a tool is missing), as automake expects.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
SMAGENT=$top_builddir/smagent/smagent
SMSERVER=$top_builddir/smserver/smserver
SMTOP=$top_builddir/smtop/smtop
FIXTURES=$top_srcdir/tests/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/smtest.XXXXXX")
_cleanup_hooks=""
_cleanup() {
    for h in $_cleanup_hooks; do "$h" || true; done
    rm -rf "$T"
}
trap _cleanup EXIT INT TERM
at_exit() { _cleanup_hooks="$_cleanup_hooks $1"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
need() { for t in "$@"; do command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"; done; }
pass() { echo "ok: $*"; }

# json FILE EXPR: print a value from a JSON file with python3 (EXPR uses 'j').
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# near A B TOL: succeed when |A-B| <= TOL (floats).
near() { python3 -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t else 1)" "$1" "$2" "$3"; }

# wait_for WHAT CMD...: run CMD every 0.1 s until it succeeds; fail after WAIT_TRIES tries
# (default 200, 20 s) saying what was awaited. Conditions, not sleeps: the machine is busy.
wait_for() {
    what=$1
    shift
    i=0
    until "$@"; do
        i=$((i + 1))
        [ $i -lt "${WAIT_TRIES:-200}" ] || fail "timed out waiting for $what"
        sleep 0.1
    done
}

# log_has FILE TEXT: FILE exists and contains TEXT (it may not be written yet).
# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
log_has() { grep -q -- "$2" "$1" 2>/dev/null; }
# spool_empty DIR / spool_nonempty DIR: whether smagent's spool DIR holds segments.
spool_empty() { ! ls "$1"/seg-* >/dev/null 2>&1; }
spool_nonempty() { ls "$1"/seg-* >/dev/null 2>&1; }

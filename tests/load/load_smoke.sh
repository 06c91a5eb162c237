#!/bin/sh
# load_smoke.sh: a few seconds of tests/load/load.sh with few clients (part of make
# check): every reply 2xx, viewers receive samples, nothing acknowledged missing.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
T2=$(mktemp -d "${TMPDIR:-/tmp}/smloadsmoke.XXXXXX")
trap 'rm -rf "$T2"' EXIT INT TERM
LOAD_SECONDS=4 LOAD_AGENTS=5 LOAD_RATE=4 LOAD_VIEWERS=3 LOAD_QUERIES=2 LOAD_BURST=0 \
    LOAD_MARKDOWN=$T2/results.md \
    sh "$top_srcdir/tests/load/load.sh" --strict >"$T2/out" 2>&1 || {
    cat "$T2/out" >&2
    echo "FAIL: load smoke run failed" >&2
    exit 1
}
cat "$T2/out"
grep -q '^acknowledged samples missing from the database: 0$' "$T2/out" ||
    { echo "FAIL: no-loss check did not run" >&2; exit 1; }
grep -q '| verdict | pass |' "$T2/results.md" || { echo "FAIL: no passing verdict" >&2; exit 1; }
echo "ok: load smoke"

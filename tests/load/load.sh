#!/bin/sh
# load.sh: a real smserver under load from tests/load/smload (see that file): agents
# posting, WebSocket viewers, history clients, then a replay burst; prints the figures
# and writes them as a Markdown table to $LOAD_MARKDOWN (default
# $top_builddir/tests/load/results.md). Settings from the environment:
#   LOAD_SECONDS (60) LOAD_AGENTS (200) LOAD_RATE (1 Hz) LOAD_VIEWERS (100)
#   LOAD_QUERIES (20) LOAD_BURST (20 s, 0 for none) LOAD_BURST_FACTOR (20) LOAD_STUCK (0)
# Extra arguments go to smload (e.g. --strict). Exit status is smload's, or 1 when the
# server does not stop cleanly.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/server_lib.sh"
SMLOAD=$top_builddir/tests/load/smload
[ -x "$SMLOAD" ] || fail "$SMLOAD is not built (make)"
: "${LOAD_SECONDS:=60}" "${LOAD_AGENTS:=200}" "${LOAD_RATE:=1}" "${LOAD_VIEWERS:=100}"
: "${LOAD_QUERIES:=20}" "${LOAD_BURST:=20}" "${LOAD_BURST_FACTOR:=20}" "${LOAD_STUCK:=0}"
: "${LOAD_MARKDOWN:=$top_builddir/tests/load/results.md}"
umask 077

printf 'load-password\n' | "$SMSERVER" user add load --state-dir "$SM_STATE" >/dev/null
i=0
while [ $i -lt "$LOAD_AGENTS" ]; do
    i=$((i + 1))
    "$SMSERVER" agent add --user load "load$i" --state-dir "$SM_STATE" >>"$T/agents.jsonl"
done
start_server --log-level warn
login load load-password
printf '%s\n' "$ACCESS" >"$T/access"
mkdir -p "$(dirname "$LOAD_MARKDOWN")"
rc=0
"$SMLOAD" --url "$URL" --agents "$T/agents.jsonl" --token-file "$T/access" \
    --db "$SM_STATE/statusmonitor.db" --pid "$SM_PID" --rate "$LOAD_RATE" \
    --viewers "$LOAD_VIEWERS" --queries "$LOAD_QUERIES" --seconds "$LOAD_SECONDS" \
    --burst "$LOAD_BURST" --burst-factor "$LOAD_BURST_FACTOR" --stuck "$LOAD_STUCK" \
    --markdown "$LOAD_MARKDOWN" "$@" || rc=$?
stop_server
if grep -q 'ERROR' "$SM_LOG"; then
    echo "server log errors:" >&2
    grep 'ERROR' "$SM_LOG" | head -n 20 >&2
fi
exit $rc

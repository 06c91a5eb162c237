#!/bin/sh
# burst_herd.sh: a thundering herd of replaying agents. K tests/load/smload processes,
# each with the same 200 agents on its own connections (so K x 200 connections), replay
# spooled samples at 20x for 20 s against one fresh smserver (distinct timestamps per
# process). Every reply must come within 10 s, refusals must carry Retry-After, nothing
# acknowledged may be missing. Not part of make check (it saturates the machine).
# Usage: burst_herd.sh [K] (default 8). Exit 0 when every smload passes.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/server_lib.sh"
K=${1:-8}
SMLOAD=$top_builddir/tests/load/smload
umask 077
printf 'herd-password\n' | "$SMSERVER" user add herd --state-dir "$SM_STATE" >/dev/null
i=0
while [ $i -lt 200 ]; do
    i=$((i + 1))
    "$SMSERVER" agent add --user herd "h$i" --state-dir "$SM_STATE" >>"$T/agents"
done
start_server --log-level warn
pids=""
k=0
while [ $k -lt "$K" ]; do
    "$SMLOAD" --url "$URL" --agents "$T/agents" --db "$SM_STATE/statusmonitor.db" \
        --pid "$SM_PID" --seconds 1 --burst 20 --burst-factor 20 \
        --burst-offset $((k * 1000000)) >"$T/out$k" 2>&1 &
    pids="$pids $!"
    k=$((k + 1))
done
rc=0
for p in $pids; do wait "$p" || rc=1; done
k=0
while [ $k -lt "$K" ]; do
    grep -E '^burst|^acknowledged|FAIL' "$T/out$k" | sed "s/^/smload $k: /"
    k=$((k + 1))
done
if grep -q 'ERROR' "$SM_LOG"; then
    echo "server log errors:"
    grep 'ERROR' "$SM_LOG" | sed 's/^[^ ]* //' | sort | uniq -c | sort -rn | head -n 5
fi
stop_server
exit $rc

#!/bin/sh
# bench_pipeline.sh: what a client that pipelines without end costs smserver's event
# loop, beside what any client may cost without pipelining. One server; runs of SECONDS
# each, interleaved, 3 of each: "churn" (the baseline: a new connection for each request,
# "Connection: close"), "pipeline" (64 requests per write, reconnecting when closed) and
# "flood" (1 MiB of pipelined requests written without reading). Prints the event loop
# thread's CPU per reply of each (tests/load/pipeline_client.py) and its ratio to churn's.
# Usage: bench_pipeline.sh [SECONDS] (default 3).
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/server_lib.sh"
SECS=${1:-3}
start_server --log-level warn
for run in 1 2 3; do
    for k in churn pipeline flood; do
        "$PY" "$top_srcdir/tests/load/pipeline_client.py" "$PORT" "$SM_PID" "$SECS" $k >"$T/$k.$run"
    done
done
# per KIND: the event loop's microseconds of CPU per reply over the 3 runs, and loop CPU
# as a share of one core.
per() {
    cat "$T/$1".? | awk -v k="$1" '$1 == k { split($2, a, "="); r += a[2] }
        $1 == "cpu" { split($2, b, "="); c += b[2]; split($4, s, "="); t += s[2] }
        END { printf "%.1f %.0f %d\n", c / r * 1e6, c / t * 100, r / t }'
}
base=$(per churn)
b=${base%% *}
printf '%-9s %10s %12s %10s %8s\n' kind "us/reply" "loop % core" "replies/s" ratio
for k in churn pipeline flood; do
    set -- $(per $k)
    printf '%-9s %10s %12s %10s %8s\n' $k "$1" "$2" "$3" "$(echo "$1 $b" | awk '{printf "%.2fx", $1 / $2}')"
done
stop_server

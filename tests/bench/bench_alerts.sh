#!/bin/sh
# bench_alerts.sh: the event loop's alert evaluation cost per sample, beside the live
# stream's publish of the same sample (see bench_alerts.c).
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
"$top_builddir/tests/bench/bench_alerts" "${1:-200000}" 1
"$top_builddir/tests/bench/bench_alerts" "${1:-200000}" 1000

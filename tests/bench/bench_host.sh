#!/bin/sh
# bench_host.sh: frame time of smtop's host view (64 cores, an hour of history) beside
# plain curses output of the same screen (tests/bench/bench_host.c).
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
exec "$top_builddir/tests/bench/bench_host"

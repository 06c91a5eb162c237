#!/bin/sh
# bench_fleet.sh: frame time of smtop's fleet view with 200 agents beside plain curses
# output of the same screen (tests/bench/bench_fleet.c).
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
exec "$top_builddir/tests/bench/bench_fleet"

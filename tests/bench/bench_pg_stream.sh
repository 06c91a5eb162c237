#!/bin/sh
# bench_pg_stream.sh: the live stream across instances (issue 21's target: p99 <= 100 ms
# from a's commit to b's viewer with 200 agents at 1 Hz). Runs
# tests/integration/pg_stream.sh with 200 agents posting to instance a once a second
# for SECONDS: the latency from a's 200 reply to a viewer on b (through PostgreSQL
# LISTEN/NOTIFY), beside the same run's viewer on a itself (the one-instance stream,
# the baseline), and their ratio.
# Usage: bench_pg_stream.sh [SECONDS] [AGENTS]
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || {
    echo "stream across instances: skipped (no PostgreSQL server: apt-get install postgresql)"
    exit 0
}
out=$(mktemp /tmp/bench_pg_stream.XXXXXX)
trap 'rm -f "$out"' EXIT
PG_STREAM_SECONDS=${1:-10} PG_STREAM_AGENTS=${2:-200} PG_STREAM_REPORT=$out \
    top_srcdir=$top_srcdir top_builddir=$top_builddir \
    sh "$top_srcdir/tests/integration/pg_stream.sh" >/dev/null || {
    echo "bench_pg_stream: pg_stream.sh failed"
    exit 1
}
python3 - "$out" "${2:-200}" "${1:-10}" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
a, b = r["a"], r["b"]
print("stream across instances: %s agents at 1 Hz for %s s, %d samples, %d received on b"
      % (sys.argv[2], sys.argv[3], r["sent"], b["received"]))
for k in ("p50_ms", "p99_ms", "max_ms"):
    ratio = b[k] / a[k] if a[k] else float("inf")
    print("  %-6s  b (via PostgreSQL) %7.1f ms   a (same instance, baseline) %7.1f ms   ratio %.1f"
          % (k[:-3], b[k], a[k], ratio))
print("  target p99 <= 100 ms: %s" % ("met" if b["p99_ms"] <= 100 else "NOT met"))
PYEOF

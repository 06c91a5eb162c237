#!/bin/sh
# bench_web.sh: the web page against a fleet of 200 agents with 64 cores each (a real
# smserver, headless Chromium): how long after a round of samples every fleet tile shows
# it, beside a bare WebSocket on the same stream in the same run, and the page's
# main-thread time per round. See bench_web.js.
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
CHROMIUM=
for c in /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -z "$CHROMIUM" ] && [ -x "$c" ] && CHROMIUM=$c
done
MODS=
for d in "$top_srcdir/tests/web/node_modules" "$top_builddir/tests/web/node_modules"; do
    [ -z "$MODS" ] && [ -f "$d/playwright-core/package.json" ] && MODS=$d
done
if [ -z "$CHROMIUM" ] || [ -z "$MODS" ] || ! command -v node >/dev/null 2>&1; then
    echo "web fleet: skipped (needs chromium, node and npm ci in tests/web)"
    exit 0
fi
SMSERVER=$top_builddir/smserver/smserver
T=$(mktemp -d "${TMPDIR:-/tmp}/smbench.XXXXXX")
PID=
cleanup() { [ -z "$PID" ] || kill -KILL "$PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT INT TERM
"$SMSERVER" --listen 127.0.0.1:0 --state-dir "$T/state" --port-file "$T/port" \
    --www "$top_srcdir/share/www" --log-level warn 2>"$T/log" &
PID=$!
i=0
while [ ! -s "$T/port" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { cat "$T/log" >&2; exit 1; }
    sleep 0.05
done
NODE_PATH=$MODS SM_URL=http://127.0.0.1:$(cat "$T/port") SM_CHROMIUM=$CHROMIUM \
    node "$top_srcdir/tests/bench/bench_web.js"
kill -TERM "$PID"
wait "$PID" || true
PID=

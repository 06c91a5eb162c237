#!/bin/sh
# pipeline_hostile.sh: clients that pipeline without end cannot starve a normal client
# nor make the event loop spin. Two hostile clients run at once against a real server:
# one sends 64 requests in each write and reconnects when closed, one writes 1 MiB of
# pipelined requests without reading; beside them a normal client makes one
# authenticated request at a time on a kept-alive connection (a worker makes each
# reply). The server's cap (server_loop.c, "Pipelining": reading paused from a complete
# request until its reply is written, then a close when more bytes wait) must give each
# hostile connection at most one reply, and every request of the normal client an
# answer. The CPU figures are printed; bench_pipeline.sh compares them with a baseline.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server
register alice 'correct horse'
login alice 'correct horse'
add_agent "Authorization: Bearer $ACCESS" box

"$PY" "$top_srcdir/tests/load/pipeline_client.py" "$PORT" "$SM_PID" "${PIPE_SECS:-3}" \
    pipeline,flood,normal "$ACCESS" >"$T/out" || fail "pipeline_client.py failed"
cat "$T/out"
get() { sed -n "s/^$1 .*$2=\([0-9.]*\).*/\1/p" "$T/out"; }
for k in pipeline flood; do
    r=$(get $k replies) c=$(get $k conns)
    [ "$r" -gt 0 ] || fail "$k: no reply at all"
    [ "$r" -le "$c" ] || fail "$k: $r replies on $c connections: a pipelined request was parsed"
done
[ "$(get pipeline failed)" = 0 ] || fail "pipeline: a connection got no reply"
[ "$(get normal failed)" = 0 ] || fail "normal client: $(get normal failed) requests unanswered"
[ "$(get normal replies)" -ge 10 ] || fail "normal client: only $(get normal replies) answers"
pass "hostile pipelining: one reply per hostile connection, every normal request answered"

# Afterwards the server is idle (no spin) and answers.
c0=$(cut -d' ' -f14,15 "/proc/$SM_PID/stat")
sleep 1
c1=$(cut -d' ' -f14,15 "/proc/$SM_PID/stat")
used=$(echo "$c0 $c1" | awk '{print ($3 + $4) - ($1 + $2)}')
[ "$used" -le 20 ] || fail "the server used $used ticks of CPU in the second after the clients left"
CASE="alive" req GET /health
CASE="alive" expect 200 '"status":"ok"'
pass "idle and answering afterwards ($used ticks of CPU in 1 s)"
stop_server

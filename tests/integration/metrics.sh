#!/bin/sh
# metrics.sh: GET /metrics parses as the Prometheus text format (a strict checker, and
# promtool check metrics: Debian's prometheus package, installed by ./bootstrap check;
# without it the test runs the rest and ends as skipped), also with real smagent
# daemons reporting, counters move after ingest, the agent series appear only when
# configured (label values escaped), and who may scrape.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
PARSE="$PY $top_srcdir/tests/integration/promparse.py"
J='Content-Type: application/json'

# scrape [CURL-ARGS...]: GET /metrics into $T/metrics, which must parse.
scrape() {
    req GET /metrics "$@"
    expect 200
    grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers" ||
        fail "/metrics content type: $(grep -i content-type "$T/headers")"
    cp "$T/body" "$T/metrics"
    $PARSE "$T/metrics" >/dev/null || fail "/metrics does not parse: $(cat "$T/metrics")"
    if [ -n "$PROMTOOL" ]; then
        # Lint findings are printed (exit 3) as well as parse errors (exit 1): neither.
        "$PROMTOOL" check metrics <"$T/metrics" >"$T/promtool" 2>&1 ||
            fail "promtool check metrics: $(cat "$T/promtool")"
        [ ! -s "$T/promtool" ] || fail "promtool check metrics: $(cat "$T/promtool")"
        PROMTOOL_RUNS=$((PROMTOOL_RUNS + 1))
    fi
}
PROMTOOL=${PROMTOOL-$(command -v promtool || true)} # PROMTOOL= runs without it
PROMTOOL_RUNS=0
if [ -n "$PROMTOOL" ]; then
    # The linter itself must be able to fail: a counter without _total, a bad label.
    printf '# HELP a_x A.\n# TYPE a_x counter\na_x 1\n' >"$T/lint"
    "$PROMTOOL" check metrics <"$T/lint" >/dev/null 2>&1 && fail "promtool accepts a_x counter"
    printf 'a{x="1} 1\n' >"$T/lint"
    "$PROMTOOL" check metrics <"$T/lint" >/dev/null 2>&1 && fail "promtool accepts a bad label"
fi
# metric NAME: the value of the sample NAME (with its labels, as printed) in $T/metrics.
metric() { $PARSE "$T/metrics" "${1%%\{*}" | grep -F "$1 " | sed 's/.* //'; }

printf 'metrics_agent_series = true\n' >"$T/series.conf"
start_server --config "$T/series.conf"
scrape
[ "$(metric 'statusmonitor_ingest_samples_total{}')" = 0 ] || fail "samples counted before any ingest"
[ "$(metric 'statusmonitor_commit_duration_seconds_count{}')" = 0 ] || fail "commits before any ingest"
[ "$(metric 'statusmonitor_http_connections{}')" -ge 1 ] || fail "the scrape's own connection is not counted"
grep -q '^statusmonitor_database_size_bytes{file="db"} [1-9]' "$T/metrics" || fail "no database size"
grep -q '^statusmonitor_agent_' "$T/metrics" && fail "agent series before any agent"
pass "/metrics parses before any ingest"

register alice 'alice password'
login alice 'alice+password'
AA="Authorization: Bearer $ACCESS"
# A name with a quote, a backslash and spaces: its label value must be escaped.
req POST /agents -H "$AA" -H "$J" -d '{"name":"web \"one\" \\ x"}'
expect 200
printf '%s' "$(field token)" >"$T/token"
"$PY" "$top_srcdir/tests/integration/post_samples.py" "$URL" "$T/token" 5 >/dev/null ||
    fail "posting samples failed"
i=0
while :; do
    scrape
    n=$(metric 'statusmonitor_ingest_samples_total{}')
    [ "$n" -ge 5 ] && break
    i=$((i + 1))
    [ $i -lt 200 ] || fail "ingest_samples_total stayed at $n after 5 samples"
    sleep 0.1
done
[ "$(metric 'statusmonitor_ingest_requests_total{}')" = 5 ] || fail "ingest_requests_total is not 5"
[ "$(metric 'statusmonitor_commit_duration_seconds_count{}')" -ge 1 ] || fail "no commit counted"
[ "$(metric 'statusmonitor_commit_duration_seconds_bucket{le="+Inf"}')" = \
    "$(metric 'statusmonitor_commit_duration_seconds_count{}')" ] || fail "+Inf bucket differs from count"
pass "counters move after ingest"

# The agent's series: the newest value, with agent, agent_id, user and the series label.
grep -qxF 'statusmonitor_agent_cpu_usage{agent_id="1",agent="web \"one\" \\ x",user="alice"} 28' \
    "$T/metrics" || fail "cpu.usage of the newest sample: $(grep agent_cpu_usage "$T/metrics")"
grep -qF 'statusmonitor_agent_cpu_core_usage{agent_id="1",agent="web \"one\" \\ x",user="alice",core="1"} 2' \
    "$T/metrics" || fail "cpu.core.usage{core=1} missing: $(grep core_usage "$T/metrics")"
grep -q '^# TYPE statusmonitor_agent_mem_used_percent gauge$' "$T/metrics" || fail "no TYPE for agent series"
# The rate gauge (over the last 10 ticks of 1 s): keep posting while polling for it.
i=0
base=$(($(date +%s) - 100))
while :; do
    "$PY" "$top_srcdir/tests/integration/post_samples.py" "$URL" "$T/token" 1 --start $((base + i)) \
        >/dev/null || fail "posting a sample failed"
    scrape
    r=$(metric 'statusmonitor_ingest_samples_per_second{}')
    [ "$r" != 0.000 ] && break
    i=$((i + 1))
    [ $i -lt 300 ] || fail "ingest_samples_per_second stayed 0"
    sleep 0.1
done
pass "agent series with escaped labels; ingest rate"

# Every series a real agent sends, named as Prometheus' rules want (promtool lints them).
"$SMAGENT" --once >"$T/once.json" || fail "smagent --once failed"
req POST /ingest -H "X-Agent-Token: $(cat "$T/token")" -H "$J" --data-binary @"$T/once.json"
expect 200 '"stored":1'
scrape
grep -q '^statusmonitor_agent_net_rx_bytes_per_second{' "$T/metrics" || fail "no net rx rate"
grep -q '^statusmonitor_agent_mem_size{' "$T/metrics" || fail "mem.total is not mem_size"
grep -q '^statusmonitor_agent_fs_used_percent{.*,mount="/"}' "$T/metrics" || fail "no fs.used_percent{mount=/}"
grep -q '^statusmonitor_agent_[a-z_]*\(_per_s\|_total\){' "$T/metrics" &&
    fail "an agent gauge named like a counter or with an abbreviated unit"
pass "a real agent's series"

# Real smagent daemons reporting every second, one on this machine and one on a
# captured 16-core workstation (per-core, per-disk, per-interface labels): the scrape
# while both are online parses and passes promtool.
AGENT_PIDS=
stop_agents() { for p in $AGENT_PIDS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; AGENT_PIDS=; }
at_exit stop_agents
FX=$top_srcdir/tests/fixtures/workstation-16core/t0
for a in live fixture; do
    req POST /agents -H "$AA" -H "$J" -d "{\"name\":\"$a\"}"
    expect 200
    printf '%s' "$(field token)" >"$T/$a.token"
    chmod 600 "$T/$a.token"
    set -- --server "$URL" --token-file "$T/$a.token" --interval 1 --spool "$T/spool-$a"
    [ $a = live ] || set -- "$@" --proc-root "$FX/proc" --sys-root "$FX/sys"
    "$SMAGENT" "$@" >"$T/agent-$a.log" 2>&1 &
    AGENT_PIDS="$AGENT_PIDS $!"
done
both_online() {
    scrape
    [ "$(metric 'statusmonitor_agents{state="online"}')" -ge 2 ] &&
        grep -q '^statusmonitor_agent_cpu_core_usage{[^}]*agent="fixture",[^}]*core="15"}' "$T/metrics" &&
        grep -q '^statusmonitor_agent_cpu_usage{[^}]*agent="live"' "$T/metrics"
}
wait_for "both smagent daemons on /metrics" both_online
scrape
stop_agents
pass "/metrics with real smagent daemons reporting"

# Refused methods and the checker itself fails on bad input.
req POST /metrics
expect 405
printf 'a_metric{l="x\\q"} 1\n' >"$T/bad"
$PARSE "$T/bad" 2>/dev/null && fail "the checker accepts a bad escape"
printf '# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n' >"$T/bad"
$PARSE "$T/bad" 2>/dev/null && fail "the checker accepts interleaved families"
stop_server
pass "checker refuses bad input"

# Default: no agent series. With a token file: the token is required.
start_server
scrape
grep -q '^statusmonitor_agent_' "$T/metrics" && fail "agent series without metrics_agent_series"
stop_server
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/mtoken"
chmod 600 "$T/mtoken"
printf 'metrics_token_file = %s\n' "$T/mtoken" >"$T/token.conf"
start_server --config "$T/token.conf"
req GET /metrics
expect 401
req GET /metrics -H "Authorization: Bearer wrong-token-wrong-token"
expect 401
scrape -H "Authorization: Bearer $(cat "$T/mtoken")"
stop_server
grep -qF "$(cat "$T/mtoken")" "$SM_LOG" && fail "the metrics token is in the log"
chmod 644 "$T/mtoken"
rc=0
"$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --config "$T/token.conf" \
    >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a readable metrics token file was accepted (exit $rc)"
grep -q 'metrics_token_file' "$T/out" || fail "no message naming metrics_token_file: $(cat "$T/out")"
printf 'metrics_agent_series = maybe\n' >"$T/bad.conf"
rc=0
"$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --config "$T/bad.conf" \
    >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "metrics_agent_series = maybe accepted (exit $rc)"
pass "token required when configured; bad settings refused"
[ -n "$PROMTOOL" ] || skip "promtool is not installed (Debian package prometheus): the rest passed"
[ "$PROMTOOL_RUNS" -ge 5 ] || fail "promtool ran only $PROMTOOL_RUNS times"
pass "promtool check metrics passed on $PROMTOOL_RUNS scrapes"

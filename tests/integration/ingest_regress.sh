#!/bin/sh
# ingest_regress.sh: ingest bodies that the fuzzers found undefined behaviour with (the
# sanitizer build aborts the server on undefined behaviour): each is answered 200 and
# the server keeps serving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

printf 'pw-123456\n' | "$SMSERVER" user add u --state-dir "$SM_STATE" >/dev/null
TOKEN=$("$SMSERVER" agent add --user u a1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/')
start_server
NOW=$(date +%s)
n=0
while read -r name body; do
    CASE=$name
    n=$((n + 1))
    body=$(printf '%s' "$body" | sed "s/@TS@/$((NOW - n))/")
    req POST /ingest -H "X-Agent-Token: $TOKEN" -H 'Content-Type: application/json' -d "$body"
    expect 200
    req GET /health
    expect 200
    pass "$CASE"
done <<'CASES'
empty-per-core-usage {"timestamp":@TS@,"cpu":{"usage_percent":1,"per_core_usage":[]}}
empty-per-core-freq {"timestamp":@TS@,"cpu":{"usage_percent":1,"per_core_freq":[]}}
sample-without-metrics {"host":{"hostname":"h"},"samples":[{"timestamp":@TS@}]}
CASES
stop_server

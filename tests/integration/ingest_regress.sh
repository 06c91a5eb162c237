#!/bin/sh
# ingest_regress.sh: ingest bodies the fuzzers found problems with. Undefined behaviour
# (the sanitizer build aborts the server on it): answered 200, the server keeps serving.
# A timestamp that rounds to 0 ms (accepted, then stored as 1970 and not accepted back):
# refused with 400 naming the field.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

printf 'pw-123456\n' | "$SMSERVER" user add u --state-dir "$SM_STATE" >/dev/null
TOKEN=$("$SMSERVER" agent add --user u a1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/')
start_server
NOW=$(date +%s)
n=0
while read -r name code body; do
    CASE=$name
    n=$((n + 1))
    body=$(printf '%s' "$body" | sed "s/@TS@/$((NOW - n))/")
    req POST /ingest -H "X-Agent-Token: $TOKEN" -H 'Content-Type: application/json' -d "$body"
    if [ "$code" = 200 ]; then expect 200; else expect "$code" timestamp; fi
    req GET /health
    expect 200
    pass "$CASE"
done <<'CASES'
empty-per-core-usage 200 {"timestamp":@TS@,"cpu":{"usage_percent":1,"per_core_usage":[]}}
empty-per-core-freq 200 {"timestamp":@TS@,"cpu":{"usage_percent":1,"per_core_freq":[]}}
sample-without-metrics 200 {"host":{"hostname":"h"},"samples":[{"timestamp":@TS@}]}
timestamp-rounds-to-zero 400 {"timestamp":1792779.E-81,"cpu":{"usage_percent":1}}
timestamp-half-a-millisecond 400 {"timestamp":0.0004,"cpu":{"usage_percent":1}}
CASES
stop_server

#!/bin/sh
# fault_kill.sh: smserver SIGKILLed FAULT_KILLS times (default 5; `make faults` runs 50)
# at random moments while four agents post batches; after every restart each
# acknowledged sample is stored once with its points and integrity_check is ok
# (fault_kill.py does the work). FAULT_SEED repeats a run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

printf 'pw-123456\n' | "$SMSERVER" user add u --state-dir "$SM_STATE" >/dev/null
for a in a1 a2 a3 a4; do
    "$SMSERVER" agent add --user u "$a" --state-dir "$SM_STATE" |
        sed 's/.*"id":\([0-9]*\).*"token":"\([^"]*\)".*/\1 \2/' >>"$T/agents"
done
chmod 600 "$T/agents"
[ "$(wc -l <"$T/agents")" = 4 ] || fail "agents not created: $(cat "$T/agents")"
"$PY" "$(dirname "$0")/fault_kill.py" "$SMSERVER" "$SM_STATE" "$T/agents" "${FAULT_KILLS:-5}" \
    ${FAULT_SEED:+--seed "$FAULT_SEED"} >"$T/out" || {
    cat "$T/out"
    tail -n 20 "$T/kill-server.log" >&2
    fail "SIGKILL during ingest"
}
cat "$T/out"
pass "${FAULT_KILLS:-5} SIGKILLs during ingest: nothing acknowledged lost or duplicated"

#!/bin/sh
# power_cut.sh: smserver's state directory on a model of a disk that loses what was not
# yet fsynced when the power goes (the LD_PRELOAD layer powercut.c keeps that durable
# image apart from the live files). First the layer's own cases (power_cut.py selftest)
# and a cut right after smserver made a fresh state directory. Then POWER_CUTS rounds
# (default 5; `make faults` runs FAULT_KILLS): four agents post, smserver is SIGKILLed at
# a random moment, the state directory is replaced by its durable image, smserver starts
# on it; every sample acknowledged before the cut must be stored once and
# integrity_check must say ok (power_cut.py does the work; POWER_CUT_SEED repeats a
# run). Last, one round on a disk that acknowledges syncs it does not do
# (SM_POWERCUT_LIE=1) must lose acknowledged samples: the check can see a loss.
#
# What the model covers: the bytes of the top-level regular files of the state directory
# written with write/pwrite/writev/pwritev and sized with ftruncate/truncate/O_TRUNC,
# durable once the file is fsynced or fdatasynced; names (creation, rename, unlink)
# durable once the directory is fsynced; the whole process stopping at once (SIGKILL) at
# random moments; of the writes made since a file's last sync, none survive (odd rounds)
# or a random half, in their order (even rounds: the disk wrote some dirty pages back).
# What it does not: torn or partly written sectors or writes, overlapping writes landing
# out of order, a drive cache that lies (except the all-lying round), mmap writes
# (SQLite's -shm index, rebuilt after a crash), subdirectories and the parent directory,
# descriptors made by dup, other processes (the admin commands run before the rounds
# without the layer, and whatever a process finds at its start counts as durable).
# tests/RESULTS.md has the figures.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

LIBPOWERCUT=$top_builddir/tests/integration/libpowercut.so
[ -f "$LIBPOWERCUT" ] || fail "$LIBPOWERCUT is not built (make check builds it)"

# The layer's own cases first: what a sync keeps and what the cut drops.
mkdir -m 700 "$T/self" "$T/self-shadow"
"$PY" "$(dirname "$0")/power_cut.py" selftest "$LIBPOWERCUT" "$T/self" "$T/self-shadow" ||
    fail "the power-cut layer keeps or drops the wrong things"
pass "layer: synced bytes and names kept; unsynced bytes, names, renames dropped or (all) kept"

# start_layered [ARGS...]: smserver on $SM_STATE under the layer (shadow $SM_STATE-shadow).
start_layered() {
    rm -f "$T/port"
    env LD_PRELOAD="$LIBPOWERCUT" SM_POWERCUT_DIR="$SM_STATE" SM_POWERCUT_SHADOW="$SM_STATE-shadow" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --port-file "$T/port" "$@" \
        >>"$SM_LOG" 2>&1 &
    SM_PID=$!
    wait_for "smserver on the layer" test -s "$T/port"
    PORT=$(cat "$T/port")
    URL=http://127.0.0.1:$PORT
}
# cut_now: SIGKILL smserver and swap in the durable image of $SM_STATE.
cut_now() {
    kill -KILL "$SM_PID"
    wait "$SM_PID" 2>/dev/null || true
    SM_PID=
    "$PY" "$(dirname "$0")/power_cut.py" cut "$SM_STATE" "$SM_STATE-shadow" || fail "cut"
}

# A fresh state directory: smserver creates the database and its signing secret itself,
# on the layer. A user, an agent and a sample, each acknowledged, then the cut: after
# it the user's access token still verifies (the secret's name and bytes survived),
# the agent's token still works and the sample is there.
mkdir -m 700 "$T/fresh" "$T/fresh-shadow"
SM_STATE=$T/fresh
SM_LOG=$T/fresh.log
start_layered
register alice 'alice password'
login alice 'alice+password'
add_agent "Authorization: Bearer $ACCESS" web1
ts=$(($(date +%s) - 60))
CASE="fresh: ingest" req POST /ingest -H "X-Agent-Token: $AGENT_TOKEN" \
    -d "{\"timestamp\": $ts, \"cpu\": {\"usage_percent\": 7}}"
CASE="fresh: ingest" expect 200 '"stored":1'
cut_now
start_server
CASE="fresh: the old access token after the cut" req GET /users/me \
    -H "Authorization: Bearer $ACCESS"
CASE="fresh: the old access token after the cut" expect 200 '"alice"'
CASE="fresh: the agent's token and its sample after the cut" req POST /ingest \
    -H "X-Agent-Token: $AGENT_TOKEN" -d "{\"timestamp\": $ts, \"cpu\": {\"usage_percent\": 7}}"
CASE="fresh: the agent's token and its sample after the cut" expect 200 '"duplicates":1'
stop_server
pass "fresh state directory: user, agent, secret and sample survive a cut right after the acks"

# The same with the database elsewhere (--db): then no SQLite directory sync covers the
# state directory, and secret.key's name is durable only if smserver syncs the directory
# itself. The database is not on the layer here; only the secret is under test.
mkdir -m 700 "$T/fresh2" "$T/fresh2-shadow"
SM_STATE=$T/fresh2
start_layered --db "$T/elsewhere.db"
register bob 'bob password'
login bob 'bob+password'
cut_now
start_server --db "$T/elsewhere.db"
CASE="--db elsewhere: the old access token after the cut" req GET /users/me \
    -H "Authorization: Bearer $ACCESS"
CASE="--db elsewhere: the old access token after the cut" expect 200 '"bob"'
stop_server
pass "state directory without the database: the signing secret survives a cut"

SM_STATE=$T/state
SM_LOG=$T/server.log
printf 'pw-123456\n' | "$SMSERVER" user add u --state-dir "$SM_STATE" >/dev/null
for a in a1 a2 a3 a4; do
    "$SMSERVER" agent add --user u "$a" --state-dir "$SM_STATE" |
        sed 's/.*"id":\([0-9]*\).*"token":"\([^"]*\)".*/\1 \2/' >>"$T/agents"
done
chmod 600 "$T/agents"
[ "$(wc -l <"$T/agents")" = 4 ] || fail "agents not created: $(cat "$T/agents")"
mkdir -m 700 "$T/shadow"

run_cuts() {
    "$PY" "$(dirname "$0")/power_cut.py" "$SMSERVER" "$SM_STATE" "$T/shadow" "$LIBPOWERCUT" \
        "$T/agents" "${POWER_CUTS:-${FAULT_KILLS:-5}}" \
        ${POWER_CUT_SEED:+--seed "$POWER_CUT_SEED"} "$@" >"$T/out"
}
run_cuts || {
    cat "$T/out"
    tail -n 20 "$T/cut-server.log" >&2
    fail "power cut during ingest"
}
cat "$T/out"
pass "$(sed -n 's/^cuts=\([0-9]*\) .*acked_samples=\([0-9]*\) found=\([0-9]*\).*/\1 power cuts during ingest: \2 samples acknowledged, \3 found after the cuts/p' "$T/out")"

run_cuts --lie || {
    cat "$T/out"
    tail -n 20 "$T/cut-server.log" >&2
    fail "the check did not see acknowledged samples lost on a disk that ignores syncs"
}
cat "$T/out"
pass "a disk that acknowledges syncs it does not do loses acknowledged samples, and the check says so"

#!/bin/sh
# power_cut.sh: smserver's state directory on a model of a disk that loses every write not
# yet fsynced when the power goes (the LD_PRELOAD layer powercut.c keeps that durable
# image apart from the live files). POWER_CUTS rounds (default 5; `make faults` runs
# FAULT_KILLS): four agents post, smserver is SIGKILLed at a random moment, the state
# directory is replaced by its durable image, smserver starts on it; every sample
# acknowledged before the cut must be stored once and integrity_check must say ok
# (power_cut.py does the work; POWER_CUT_SEED repeats a run). First the layer's own
# cases (power_cut.py selftest); last one round on a disk
# that acknowledges syncs it does not do (SM_POWERCUT_LIE=1) must lose acknowledged
# samples: the check can see a loss.
#
# What the model covers: the bytes of the top-level regular files of the state directory
# written with write/pwrite/writev/pwritev and sized with ftruncate/truncate, durable
# once the file is fsynced or fdatasynced; names (creation, rename, unlink) durable once
# the directory is fsynced; the whole process stopping at once (SIGKILL), at random
# moments. What it does not: torn or partly written sectors, writes reordered or
# partly kept inside one sync interval (the image keeps all or none of a file's writes
# since its last sync, as of the sync), a drive cache that lies (except the all-lying
# LIE round), mmap writes (SQLite's -shm index, rebuilt after a crash), subdirectories,
# descriptors made by dup, other processes (the admin commands run before the rounds
# without the layer, and whatever a process finds at its start counts as durable), and
# the filesystem's own metadata beyond names (sizes follow the file's sync).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

LIBPOWERCUT=$top_builddir/tests/integration/libpowercut.so
[ -f "$LIBPOWERCUT" ] || fail "$LIBPOWERCUT is not built (make check builds it)"

# The layer's own cases first: what a sync keeps and what the cut drops.
mkdir -m 700 "$T/self" "$T/self-shadow"
"$PY" "$(dirname "$0")/power_cut.py" selftest "$LIBPOWERCUT" "$T/self" "$T/self-shadow" ||
    fail "the power-cut layer keeps or drops the wrong things"
pass "layer: synced bytes and names kept; unsynced bytes, names, renames dropped"

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

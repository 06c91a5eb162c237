#!/bin/sh
# fault_wal.sh: smserver killed (so its WAL is not checkpointed), then the tail of the
# -wal file damaged: garbage appended, the last frame overwritten, the file cut in the
# middle of a frame. Each time the server starts and says in its log how much of the WAL
# it ignored; every sample of a commit before the damage is there (a damaged last commit
# is rolled back as a whole, never half applied), integrity_check is ok, and ingest
# works again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

printf 'pw-123456\n' | "$SMSERVER" user add u --state-dir "$SM_STATE" >/dev/null
umask 077
"$SMSERVER" agent add --user u a1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/token"
DB=$SM_STATE/statusmonitor.db
BASE=$(($(date +%s) - 3600))
n=0
# post_some K: K samples, one request (one commit) each; their numbers go to $T/acked.
post_some() {
    k=0
    while [ $k -lt "$1" ]; do
        k=$((k + 1))
        n=$((n + 1))
        req POST /ingest -H "X-Agent-Token: $(cat "$T/token")" -H 'Content-Type: application/json' \
            -d "{\"timestamp\":$BASE.$(printf %03d $n),\"cpu\":{\"usage_percent\":$((n % 100))},\"memory\":{\"used_percent\":5}}"
        CASE="ingest $n" expect 200 '"stored":1'
        echo $n >>"$T/acked"
    done
}
crash() {
    kill -KILL "$SM_PID"
    wait "$SM_PID" 2>/dev/null || true
    SM_PID=
    [ -s "$DB-wal" ] || fail "no WAL left after SIGKILL"
}
# check_stored MISSING_OK: every acked sample is stored except at most the last
# MISSING_OK (the commit the damage hit); each sample has its cpu.usage point.
check_stored() {
    sql "SELECT ts FROM samples" >"$T/stored"
    sql "SELECT p.ts FROM raw_points p JOIN series s ON s.id = p.series_id WHERE s.name = 'cpu.usage'" >"$T/points"
    "$PY" - "$BASE" "$T/acked" "$T/stored" "$T/points" "$1" <<'PY'
import sys
base = int(sys.argv[1]) * 1000
acked = [base + int(x) for x in open(sys.argv[2]).read().split()]
stored = [int(x) for x in open(sys.argv[3]).read().split()]
points = sorted(int(x) for x in open(sys.argv[4]).read().split())
may_miss = int(sys.argv[5])
missing = [t for t in acked if t not in set(stored)]
assert len(stored) == len(set(stored)), "a sample stored twice"
assert points == sorted(stored), "samples and their points differ"
assert set(missing) <= set(acked[len(acked) - may_miss:]), "lost before the damage: %s" % missing
print("acked %d, stored %d, missing %s" % (len(acked), len(stored), [t - base for t in missing]))
PY
}
# forget_missing: drop the samples a rolled-back commit took from the acked list.
forget_missing() {
    "$PY" - "$BASE" "$T/acked" "$T/stored" <<'PY'
import sys
base = int(sys.argv[1]) * 1000
stored = {int(x) for x in open(sys.argv[3]).read().split()}
keep = [x for x in open(sys.argv[2]).read().split() if base + int(x) in stored]
open(sys.argv[2], "w").write("".join(x + "\n" for x in keep))
PY
}
# restart WHAT: start on the damaged WAL; the log must count what was ignored.
restart() {
    before=$(grep -c "ignored .* after the last good commit" "$SM_LOG") || :
    start_server --listen "127.0.0.1:$PORT"
    after=$(grep -c "ignored .* after the last good commit" "$SM_LOG") || :
    [ "$after" -gt "$before" ] || fail "$1: the log does not count the ignored WAL tail"
    grep "ignored .* after the last good commit" "$SM_LOG" | tail -n 1
    CASE="health after $1" req GET /health
    CASE="health after $1" expect 200 '"status":"ok"'
    [ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "$1: integrity_check"
}

: >"$T/acked"
start_server
post_some 12
crash
head -c 5000 /dev/urandom >>"$DB-wal"
restart "garbage appended to the WAL"
check_stored 0 || fail "garbage appended: acknowledged samples lost"
post_some 3
pass "garbage appended to the WAL: everything there, ingest works"

crash
size=$(wc -c <"$DB-wal")
head -c 600 /dev/urandom | dd of="$DB-wal" bs=1 seek=$((size - 600)) conv=notrunc 2>/dev/null
restart "the last WAL frame overwritten"
check_stored 1 || fail "last frame overwritten: samples before the damaged commit lost"
forget_missing
post_some 3
pass "the last WAL frame overwritten: every earlier commit there, ingest works"

crash
size=$(wc -c <"$DB-wal")
truncate -s $((size - 1000)) "$DB-wal"
restart "the WAL cut mid-frame"
check_stored 1 || fail "WAL cut: samples before the damaged commit lost"
forget_missing
post_some 2
check_stored 0 || fail "after the last restart"
stop_server
pass "the WAL cut in the middle of a frame: every earlier commit there, ingest works"

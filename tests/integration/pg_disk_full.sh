#!/bin/sh
# pg_disk_full.sh: PostgreSQL's disk fills up (issue 21). The private cluster (pg_lib.sh)
# keeps its data directory on a 64 MiB tmpfs of its own and its WAL (initdb -X) on the
# test's ordinary disk: a full WAL disk makes PostgreSQL PANIC and stop, which is the
# outage pg_outage.sh tests; here the data files cannot grow (SQLSTATE 53100 disk_full,
# "No space left on device") while PostgreSQL stays up. One smserver, two real smagents
# at 1 Hz with their spools, and a curl loop posting samples with known timestamps.
# While the disk is full: ingest answers 503 with Retry-After and a detail that says the
# database disk is full (never 500, never a hang), /health says "refused: disk full",
# the log says why, the agents spool. Once space is freed: ingest resumes, the spools
# drain, and every acknowledged sample is stored exactly once.
#
# Mounting the tmpfs takes root (CI runs as root): the test runs in a mount namespace of
# its own (unshare -m), so the mount goes with it, and PostgreSQL runs as SM_PG_USER
# (nobody) as pg_lib.sh does. Not as root it skips: in a user namespace (unshare -r, as
# fault_disk_full.sh does for SQLite) the only user is root, which PostgreSQL refuses.
if [ -z "${SM_IN_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || {
        echo "SKIP: mounting a small file system for PostgreSQL's data takes root" >&2
        exit 77
    }
    command -v unshare >/dev/null 2>&1 || { echo "SKIP: unshare is not installed" >&2; exit 77; }
    unshare -m true 2>/dev/null || { echo "SKIP: no mount namespace here (unshare -m)" >&2; exit 77; }
    SM_IN_NS=1 exec unshare -m sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need curl
pg_find_bin
mount --make-rprivate / 2>/dev/null || true
PG_DATA_AT=$T/pgdata
mkdir -p "$PG_DATA_AT"
mount -t tmpfs -o size=64m,mode=0700 tmpfs "$PG_DATA_AT" || fail "cannot mount a tmpfs"
PG_INITDB_ARGS="-X $T/pg/wal"
AGENTS=
LOOP_PID=
_kill_all() {
    [ -z "$LOOP_PID" ] || kill -TERM "$LOOP_PID" 2>/dev/null || true
    for p in $AGENTS ${a_PID:-}; do kill -KILL "$p" 2>/dev/null || true; done
}
_umount() {
    _pg_stop
    umount "$PG_DATA_AT" 2>/dev/null || true
}
at_exit _kill_all
pg_start
at_exit _umount

start_inst a
URL=http://127.0.0.1:$a_PORT
register dora 'disk full password 1'
login dora 'disk full password 1'
AUTH="Authorization: Bearer $ACCESS"
add_agents "$AUTH" 3
for n in 1 2; do
    "$SMAGENT" --server "$URL" --token-file "$T/agent$n.tok" --interval 1 \
        --spool "$T/spool$n" --spool-max 1M --log-level debug >"$T/agent$n.log" 2>&1 &
    AGENTS="$AGENTS $!"
done

# The curl loop: agent 3 posts a sample with 40 interfaces every 0.1 s, timestamp
# BASE + i seconds; each line of $T/loop is "i code seconds retry-after phase", the
# detail of each 503 goes to $T/details.
BASE=$(($(date +%s) - 3600))
: >"$T/phase"
: >"$T/details"
loop() {
    i=0
    tok=$(cat "$T/agent3.tok")
    while [ ! -e "$T/loop.stop" ]; do
        "$PY" - "$i" "$BASE" >"$T/loop.json" <<'PY'
import json, sys
i, base = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({"timestamp": base + i, "cpu": {"usage_percent": i % 100},
                  "network": {"interfaces": [{"name": "if%03d" % k, "rx_bytes_per_s": i,
                                              "tx_bytes_per_s": k} for k in range(40)]}}))
PY
        ph=$(cat "$T/phase")
        out=$(curl -s -m 30 -o "$T/loop.body" -w '%{http_code} %{time_total} %header{retry-after}' \
            -H "X-Agent-Token: $tok" -H 'Content-Type: application/json' \
            --data-binary @"$T/loop.json" "$URL/ingest") || out="000 30 -"
        set -- $out
        echo "$i $1 $2 ${3:--} ${ph:-before}" >>"$T/loop"
        [ "$1" = 200 ] || { cat "$T/loop.body"; echo; } >>"$T/details"
        i=$((i + 1))
        sleep 0.1
    done
}
loop &
LOOP_PID=$!
delivered() { pg_each_stored 3 3; }
WAIT_TRIES=300 wait_for "the first samples" delivered
pass "one smserver, two smagents at 1 Hz and a curl loop posting into PostgreSQL"

# The disk fills: a file takes all the space left, and the loop goes on until PostgreSQL
# has no free room left in its pages either.
echo full >"$T/phase"
dd if=/dev/zero of="$PG_DATA_AT/filler" bs=64k 2>/dev/null || true
# A commit whose rows still fit a page with room in it succeeds, so the first refusals
# can be followed by a few more 200s (seen under the sanitizers): wait for ten refusals
# and the last five requests refused.
refused() {
    [ "$(awk '$5 == "full" && $2 == 503' "$T/loop" | wc -l)" -ge 10 ] &&
        [ "$(tail -n 5 "$T/loop" | awk '$5 == "full" && $2 == 503' | wc -l)" = 5 ]
}
WAIT_TRIES=1200 wait_for "ingest to be refused on the full disk" refused
# /health tells the last group commit's outcome; an agent's small sample may still have
# found room since, so it gets 10 s to say the disk is full.
health_full() { req GET /health -m 20; [ "$CODE" = 503 ]; }
WAIT_TRIES=100 wait_for "/health to say the disk is full" health_full
cat "$T/body"; echo
expect 503 '"ingest":"refused: disk full"'
grep -q '"db":"ok"' "$T/body" || fail "/health on a full disk: $(cat "$T/body")"
pass "/health: 503, ingest refused: disk full, the database answers"
spooled() { n=$(grep -c "spooled the sample of" "$1" 2>/dev/null) || :; [ "${n:-0}" -ge 2 ]; }
WAIT_TRIES=400
for n in 1 2; do wait_for "agent $n to spool" spooled "$T/agent$n.log"; done
pass "the agents spool"
sleep 5
echo freed >"$T/phase"
rm -f "$PG_DATA_AT/filler"
t_freed=$("$PY" -c 'import time; print(time.time())')

drained() { spool_empty "$T/spool1" && spool_empty "$T/spool2"; }
WAIT_TRIES=900 wait_for "the spools to drain" drained
t_drained=$("$PY" -c 'import time; print(time.time())')
sleep 2
touch "$T/loop.stop"
wait "$LOOP_PID" || true
LOOP_PID=
for p in $AGENTS; do kill -TERM "$p"; done
for p in $AGENTS; do wait "$p" || fail "smagent exited $? after SIGTERM"; done
AGENTS=

"$PY" - "$T/loop" <<'PY' >"$T/full.txt" || { cat "$T/full.txt" >&2; fail "replies on the full disk"; }
import sys
rows = [l.split() for l in open(sys.argv[1])]
full = [r for r in rows if r[4] == "full"]
codes = {}
for r in full:
    codes[r[1]] = codes.get(r[1], 0) + 1
slow = max(float(r[2]) for r in full)
bad = [r for r in rows if r[1] not in ("200", "503") or (r[1] == "503" and r[3] == "-")]
print("disk full: %d requests, by status %s, slowest %.3f s, %d other than 200 or 503 with Retry-After" %
      (len(full), codes, slow, len(bad)))
sys.exit(0 if not bad and slow < 10 and codes.get("503", 0) >= 10 else 1)
PY
cat "$T/full.txt"
n503=$(grep -c . "$T/details")
nfull=$(grep -c 'disk is full' "$T/details") || :
[ "$n503" -gt 0 ] && [ "$nfull" = "$n503" ] ||
    fail "$nfull of $n503 refusals say the disk is full: $(sort "$T/details" | uniq -c)"
pass "$(cat "$T/full.txt"); every 503 says: $(head -1 "$T/details")"
grep -q "No space left on device" "$T/a/log" || fail "the log does not say why: $(tail -5 "$T/a/log")"
pass "the log: $(grep -m1 "No space left on device" "$T/a/log")"
! grep -q PANIC "$PG_DIR/server.log" || fail "PostgreSQL panicked: $(grep PANIC "$PG_DIR/server.log")"

# Every acknowledged sample stored once: the loop's 200s, the agents' spooled samples.
pg_loop_stored "$ID3" "$BASE" "$T/loop"
for n in 1 2; do pg_spool_stored "$n" 2; done
drain=$("$PY" -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t_freed" "$t_drained")
pass "space freed: spools drained in ${drain} s; $(cat "$T/loop.txt"); $(tr '\n' ';' <"$T/agents.txt")"
req GET /health
expect 200 '"status":"ok"'
kill -0 "$a_PID" || fail "smserver died"
pass "healthy again"

#!/bin/sh
# fault_disk_full.sh: the state directory's file system fills up (a 3 MiB tmpfs in a user
# and mount namespace). Ingest is refused with 503 and Retry-After (never a 500, never a
# crash), /health says why, and once space returns ingest resumes; every acknowledged
# sample is stored and integrity_check is ok.
if [ -z "${SM_IN_NS:-}" ]; then
    command -v unshare >/dev/null 2>&1 || { echo "SKIP: unshare is not installed" >&2; exit 77; }
    # shellcheck disable=SC2016
    unshare -rm sh -c 'd=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d" && umount "$d" &&
        rmdir "$d"' 2>/dev/null ||
        { echo "SKIP: no tmpfs in a user+mount namespace here (unshare -rm)" >&2; exit 77; }
    SM_IN_NS=1 exec unshare -rm sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

mkdir -p "$SM_STATE"
mount -t tmpfs -o size=3m,mode=0700 tmpfs "$SM_STATE" || fail "cannot mount a tmpfs"
_umount() {
    _kill_server
    [ -z "$SM_PID" ] || wait "$SM_PID" 2>/dev/null || true
    umount "$SM_STATE" 2>/dev/null || true
}
at_exit _umount

printf 'pw-123456\n' | "$SMSERVER" user add u --state-dir "$SM_STATE" >/dev/null
umask 077
"$SMSERVER" agent add --user u a1 --state-dir "$SM_STATE" |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/token"
start_server

# post N: one sample (timestamp base + N ms) with 40 interfaces (~4 KB); CODE is the status.
BASE=$(($(date +%s) - 3600))
post() {
    "$PY" - "$1" "$BASE" >"$T/sample.json" <<'PY'
import json, sys
n, base = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({"timestamp": base + n / 1000.0, "cpu": {"usage_percent": n % 100},
                  "network": {"interfaces": [{"name": "if%03d" % k, "rx_bytes_per_s": n,
                                              "tx_bytes_per_s": k} for k in range(40)]}}))
PY
    req POST /ingest -H "X-Agent-Token: $(cat "$T/token")" -H 'Content-Type: application/json' \
        --max-time 30 --data-binary @"$T/sample.json"
}
: >"$T/acked"
n=0
for i in 1 2 3 4 5; do
    n=$((n + 1))
    post $n
    CASE="before the disk fills" expect 200
    echo $n >>"$T/acked"
done

# Fill the file system, then post until refused (SQLite may first reuse WAL pages).
dd if=/dev/zero of="$SM_STATE/filler" bs=64k 2>/dev/null || true
refused=0
while [ $n -lt 400 ]; do
    n=$((n + 1))
    post $n
    case $CODE in
    200) echo $n >>"$T/acked" ;;
    503)
        grep -qi '^retry-after: [1-9]' "$T/headers" || fail "503 without Retry-After: $(cat "$T/headers")"
        refused=$((refused + 1))
        [ $refused -lt 3 ] || break
        ;;
    *) fail "disk full: ingest answered $CODE: $(cat "$T/body")" ;;
    esac
done
[ $refused -ge 3 ] || fail "ingest was never refused on a full disk ($n posts)"
kill -0 "$SM_PID" || fail "smserver died on a full disk"
pass "disk full: ingest refused with 503 and Retry-After ($((n - refused)) accepted in all)"

CASE="health on a full disk" req GET /health
cat "$T/body"; echo
grep -q 'disk full' "$T/body" || fail "/health does not say the disk is full: $CODE $(cat "$T/body")"
[ "$CODE" = 503 ] || fail "/health answered $CODE on a full disk"
pass "/health says the disk is full"

rm -f "$SM_STATE/filler"
ok=0
i=0
while [ $i -lt 200 ]; do
    i=$((i + 1))
    n=$((n + 1))
    post $n
    case $CODE in
    200) echo $n >>"$T/acked"; ok=$((ok + 1)); [ $ok -lt 3 ] || break ;;
    503) sleep 0.1 ;;
    *) fail "space back: ingest answered $CODE: $(cat "$T/body")" ;;
    esac
done
[ $ok -ge 3 ] || fail "ingest did not resume once space returned"
CASE="health with space again" req GET /health
CASE="health with space again" expect 200 '"status":"ok"'
pass "space back: ingest resumes, /health ok"

sql "SELECT ts FROM samples" >"$T/stored"
"$PY" - "$BASE" "$T/acked" "$T/stored" <<'PY' || fail "acknowledged samples lost"
import sys
base = int(sys.argv[1]) * 1000
acked = {base + int(x) for x in open(sys.argv[2]).read().split()}
stored = {int(x) for x in open(sys.argv[3]).read().split()}
lost = sorted(acked - stored)
print("acked %d, stored %d, lost %s" % (len(acked), len(stored), lost))
sys.exit(1 if lost else 0)
PY
[ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
stop_server
pass "nothing acknowledged lost; integrity ok"

#!/bin/sh
# agent_replies.sh: smagent's reply policy against a scripted responder (fake_ingest.py,
# because the real server cannot be made to answer these codes on demand): 503 backs off
# and keeps samples, 413 splits the batch, 429 honours Retry-After, 400 drops once.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is not installed"
FAKE=$top_srcdir/tests/integration/fake_ingest.py

WAIT_TRIES=300 # wait_for: 30 s (back-off steps add up)
PIDS=
_kill_all() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done; }
at_exit _kill_all
printf 'fake-token\n' >"$T/token"
chmod 600 "$T/token"

# run MODE: a responder and an agent at 1 s; sets LOG and ALOG.
run() {
    LOG=$T/$1.requests
    ALOG=$T/$1.agent
    "$PY" "$FAKE" "$1" "$T/$1.port" "$LOG" &
    PIDS="$PIDS $!"
    wait_for "the responder" test -s "$T/$1.port"
    "$top_builddir/smagent/smagent" --server "http://127.0.0.1:$(cat "$T/$1.port")" \
        --token-file "$T/token" --interval 1 --spool "$T/$1.spool" --log-level debug \
        >"$ALOG" 2>&1 &
    AGENT=$!
    PIDS="$PIDS $AGENT"
}
# check MODE PYTHON: evaluate assertions over the request log (list 'r').
check() {
    "$PY" - "$LOG" "$2" <<'PY'
import json, os, sys
r = [json.loads(l) for l in open(sys.argv[1])] if os.path.exists(sys.argv[1]) else []
ok = lambda s: [x for x in r if x["status"] == s]
try:
    exec(sys.argv[2])
except AssertionError as e:
    print("assertion:", e, "\nrequests:", [(x["status"], x["n"]) for x in r])
    sys.exit(1)
except IndexError:
    done = False
sys.exit(0 if done else 1)
PY
}
stop() {
    kill -TERM "$AGENT"
    rc=0
    wait "$AGENT" || rc=$?
    [ $rc -eq 0 ] || fail "$1: smagent exited $rc after SIGTERM"
}

# ---- 503 x3 then 413 for batches over 2: back-off, spool, split, nothing lost.
run outage413
wait_for "the spool replayed after a 413" check outage413 '
failed = set(t for x in r if x["status"] != 200 for t in x["ts"])
stored = set(t for x in ok(200) for t in x["ts"])
done = any(x["status"] == 413 for x in r) and failed <= stored
'
stop outage413
check outage413 '
failed = set(t for x in r if x["status"] != 200 for t in x["ts"])
stored = set(t for x in ok(200) for t in x["ts"])
assert failed <= stored, "samples refused with 503/413 never delivered: %s" % sorted(failed - stored)
assert all(x["n"] <= 2 for x in ok(200)), "a batch over 2 was accepted"
t = [x["t"] for x in r[:4]]
assert t[1] - t[0] >= 0.45 and t[2] - t[1] >= 0.9 and t[3] - t[2] >= 1.9, "no back-off: %s" % t
done = True
' || fail "503 and 413 handling"
grep -q "too large (HTTP 413); sending [0-9]* at a time" "$ALOG" || fail "no 413 split in the log"
pass "503 backs off and spools; 413 splits the batch; nothing lost"

# ---- 429 with Retry-After: 3: the next request waits at least 3 s.
run retry-after
wait_for "delivery after the 429" check retry-after 'done = len(ok(200)) >= 2'
stop retry-after
check retry-after '
assert r[0]["status"] == 429
assert r[1]["t"] - r[0]["t"] >= 2.95, "retried after %.2f s" % (r[1]["t"] - r[0]["t"])
assert set(r[0]["ts"]) <= set(t for x in ok(200) for t in x["ts"]), "the 429 sample was lost"
done = True
' || fail "Retry-After not honoured"
pass "429 honours Retry-After and keeps the sample"

# ---- 400: that batch is dropped (never sent again) and logged once.
run bad
wait_for "samples after the 400" check bad 'done = len(ok(200)) >= 3'
stop bad
check bad '
assert r[0]["status"] == 400
assert not set(r[0]["ts"]) & set(t for x in r[1:] for t in x["ts"]), "a rejected sample was resent"
done = True
' || fail "400 handling"
[ "$(grep -c "rejected 1 sample (HTTP 400" "$ALOG")" -eq 1 ] || fail "400 not logged exactly once"
pass "400 drops the batch and logs it once"

# ---- a reply lost after the server stored the samples: the agent sends them again
# (smserver stores a sample sent twice once: server_ingest.sh checks that side).
run reset
wait_for "the resend" check reset '
done = len(r) >= 2 and set(r[0]["ts"]) <= set(t for x in ok(200) for t in x["ts"])
'
stop reset
pass "a lost reply leads to a resend of the same samples"

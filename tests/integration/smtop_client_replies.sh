#!/bin/sh
# smtop_client_replies.sh: smtop's REST requests (lws HTTP client connections on its one
# loop) against a fake server's bad and unusual replies: a body over the 16 MiB cap, a
# body that is not JSON, a body cut short of its Content-Length, chunked encoding, and the
# access token carried in the Authorization header. Each bad reply is one failed reply
# event with the reason; the client keeps working after them (the stream stays live and
# a good request after the bad ones is answered).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is missing"
PROBE=$top_builddir/tests/integration/client_probe
"$PY" "$top_srcdir/tests/integration/fake_smserver.py" "$T/port" 2>"$T/fake.log" &
FAKE=$!
_kill_fake() { kill "$FAKE" 2>/dev/null || true; }
at_exit _kill_fake
i=0
until [ -s "$T/port" ]; do
    i=$((i + 1)); [ $i -le 200 ] || fail "the fake server did not start: $(cat "$T/fake.log")"; sleep 0.1
done
URL=http://127.0.0.1:$(cat "$T/port")
printf 'secret\n' >"$T/pw"

"$PROBE" --server "$URL" --user u --password-file "$T/pw" --state-dir "$T/state" \
    --get /big --get /notjson --get /cut --get /chunked --get /whoami \
    --exit-after reply:5 --seconds 60 >"$T/probe" 2>&1 || fail "probe exited $?: $(cat "$T/probe")"
cat "$T/probe"
check() {
    grep -q -E -- "$1" "$T/probe" || fail "$2: probe output lacks /$1/: $(cat "$T/probe")"
}
check "^get 1 /big" "request ids"
check "^reply 1 0 \\(.*/big: reply larger than 16777216 bytes\\)" "a reply over the cap"
check "^reply 2 0 \\(.*/notjson: reply is not JSON" "a reply that is not JSON"
check "^reply 3 0 \\(http://127.0.0.1:[0-9]+: the connection closed before the whole reply\\)" \
    "a reply cut short"
check "^reply 4 200 first second\$" "a chunked reply"
check "^reply 5 200 user\$" "the access token in the Authorization header"
check "^state live" "the stream"
pass "bad REST replies are failed replies with the reason; good ones after them work"

#!/bin/sh
# smtop_client.sh: smtop's network client (smtop/client.c, through client_probe) against a
# real smserver fed by a real smagent: password login, the stored refresh token (0600, in a
# 0700 directory, reused without a password, rotated), a wrong password, live samples, a
# server restart survived, history and agents over REST, no token in argv or URLs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
need setsid
PROBE=$top_builddir/tests/integration/client_probe
[ -x "$PROBE" ] || fail "$PROBE is not built"
unset SMTOP_PASSWORD XDG_STATE_HOME

start_server --log-level debug
register alice alice-password-1
login alice alice-password-1
add_agent "Authorization: Bearer $ACCESS" web1
A1=$AGENT_ID
WEB1_TOKEN=$AGENT_TOKEN
# ingest: one fresh sample of this machine from the real agent, as web1.
ingest() { post_once "$WEB1_TOKEN" >"$T/ingest.code"; }
ingest
printf 'alice-password-1\n' >"$T/pw"
printf 'not-her-password\n' >"$T/badpw"
ST=$T/home/state/statusmonitor

# wait_for FILE PATTERN [N]: until FILE has N (default 1) lines matching PATTERN (20 s).
wait_for() {
    i=0
    while :; do
        n=$(grep -c -E -- "$2" "$1" 2>/dev/null) || n=0
        [ "${n:-0}" -lt "${3:-1}" ] || break
        i=$((i + 1))
        [ $i -le 200 ] || fail "no '$2' (x${3:-1}) in $1: $(cat "$1")"
        sleep 0.1
    done
}

# 1. Usage errors: a bad URL is refused with exit 2.
rc=0
"$PROBE" --server ftp://x --user alice --state-dir "$ST" 2>"$T/err" || rc=$?
[ $rc -eq 2 ] || fail "bad URL: exit $rc"
grep -q -- "--server: must start with http:// or https://" "$T/err" || fail "bad URL: $(cat "$T/err")"
rc=0
"$PROBE" --server "http://127.0.0.1:99999" --user alice --state-dir "$ST" 2>"$T/err" || rc=$?
[ $rc -eq 2 ] && grep -q "port must be" "$T/err" || fail "bad port: exit $rc $(cat "$T/err")"
pass "bad server URLs are usage errors"

# 2. A wrong password: a clear message, exit 1, no token stored.
rc=0
"$PROBE" --server "$URL" --user alice --password-file "$T/badpw" --state-dir "$ST" \
    --seconds 2 >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "wrong password: exit $rc"
grep -q "login refused for alice at $URL" "$T/err" || fail "wrong password message: $(cat "$T/err")"
! ls "$ST"/*.refresh >/dev/null 2>&1 || fail "a refresh token was stored after a refused login"
# No password anywhere (no file, no SMTOP_PASSWORD, no terminal): a clear message too.
rc=0
setsid "$PROBE" --server "$URL" --user alice --state-dir "$ST" </dev/null >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "use --password-file or SMTOP_PASSWORD" "$T/err" ||
    fail "no password source: exit $rc $(cat "$T/err")"
# An unreachable server: a clear message and exit 1.
rc=0
"$PROBE" --server "http://127.0.0.1:1" --user alice --password-file "$T/pw" --state-dir "$ST" \
    >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "127.0.0.1:1" "$T/err" || fail "unreachable: exit $rc $(cat "$T/err")"
pass "wrong password, no password source, unreachable server: message and exit 1"

# 3. Login with the password; snapshot; a live sample from the real agent; REST replies.
"$PROBE" --server "$URL" --user alice --password-file "$T/pw" --state-dir "$ST" \
    --seconds 60 --get "/history/$A1/cpu?start=-1h&points=20" --get "/history/$A1/nosuch" \
    >"$T/run1" 2>"$T/run1.err" &
P1=$!
_kill_probe() { kill "$P1" 2>/dev/null || true; }
at_exit _kill_probe
wait_for "$T/run1" "^state live"
grep -q "^login password" "$T/run1" || fail "first run did not use the password: $(cat "$T/run1")"
grep -q "^agent $A1 web1 online with-sample" "$T/run1" || fail "snapshot: $(cat "$T/run1")"
grep -q "^reply 1 200 metric agent_id start stop tier data" "$T/run1" ||
    wait_for "$T/run1" "^reply 1 200 metric agent_id start stop tier data"
wait_for "$T/run1" "^reply 2 404"
ingest
wait_for "$T/run1" "^sample $A1 "
pass "password login, snapshot, a live sample, history reply, a 404 reply"

f=$(ls "$ST"/*.refresh)
[ "$(stat -c %a "$f")" = 600 ] || fail "token file mode $(stat -c %a "$f")"
[ "$(stat -c %a "$ST")" = 700 ] || fail "state dir mode $(stat -c %a "$ST")"
tok1=$(cat "$f")
case $tok1 in *.*.*) fail "the token file holds a JWT (an access token)" ;; esac
[ ${#tok1} -ge 32 ] || fail "token file content too short"
pass "refresh token stored 0600 in a 0700 directory, no access token in it"

# 4. The server restarts on the same port: the client says it is reconnecting, then gets
# a snapshot and samples again.
stop_server
wait_for "$T/run1" "^state reconnecting [0-9.]+ "
start_server --listen "127.0.0.1:$PORT" --log-level debug
wait_for "$T/run1" "^state live" 2
n=$(grep -c "^sample $A1 " "$T/run1")
ingest
wait_for "$T/run1" "^sample $A1 " $((n + 1))
kill -TERM $P1
wait $P1 || fail "probe exited $? after SIGTERM"
pass "server restart: reconnecting, then live and samples again"

# 5. A second start uses the stored refresh token: no password source at all, no terminal.
setsid "$PROBE" --server "$URL" --user alice --state-dir "$ST" --exit-after snapshot-end:1 \
    --seconds 20 </dev/null >"$T/run2" 2>"$T/run2.err" || fail "second run: $(cat "$T/run2.err")"
grep -q "^login refresh" "$T/run2" || fail "second run: $(cat "$T/run2")"
grep -q "^agent $A1 web1" "$T/run2" || fail "second run snapshot: $(cat "$T/run2")"
tok2=$(cat "$f")
[ "$tok1" != "$tok2" ] || fail "the refresh token was not rotated"
pass "second start: no password, the rotated refresh token stored"

# 6. The access token never reached a URL or argv: the server's access log (debug) has
# paths only; the stored token works with /refresh (it is the refresh token).
grep -q "GET /history" "$SM_LOG" || fail "the server log has no access lines to check"
if grep -q -e "$tok1" -e "$tok2" -e "eyJ" "$SM_LOG"; then fail "a token in the server log"; fi
if grep -E -q "[?&](token|access_token)=" "$SM_LOG"; then fail "a token in a URL"; fi
req POST /refresh -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$tok2\"}"
expect 200 access_token
pass "no token in URLs or logs; the stored token is the refresh token"

# 7. A refused refresh token (revoked above by our own rotation) falls back to the password.
"$PROBE" --server "$URL" --user alice --password-file "$T/pw" --state-dir "$ST" \
    --exit-after snapshot-end:1 --seconds 20 >"$T/run3" 2>"$T/run3.err" ||
    fail "third run: $(cat "$T/run3.err")"
grep -q "^login password" "$T/run3" || fail "third run did not fall back: $(cat "$T/run3")"
pass "a refused refresh token falls back to the password"

# 8. smtop itself in batch and JSON modes, with the session stored by the last run (no
# password source at all).
XDG_STATE_HOME=$T/home/state setsid "$SMTOP" --server "$URL" --user alice -b -n 2 -d 0.2 \
    </dev/null >"$T/batch" 2>"$T/batch.err" || fail "smtop -b: $(cat "$T/batch.err")"
[ "$(grep -c "^smtop fleet - .* 1 agents, [01] online  live" "$T/batch")" -eq 2 ] ||
    fail "batch frames: $(cat "$T/batch")"
grep -q -E "^web1 +(online|offline) +[0-9.]+ " "$T/batch" || fail "batch row: $(cat "$T/batch")"
XDG_STATE_HOME=$T/home/state setsid "$SMTOP" --server "$URL" --user alice --json -n 2 -d 0.2 \
    </dev/null >"$T/json" 2>"$T/json.err" || fail "smtop --json: $(cat "$T/json.err")"
"$PY" - "$T/json" "$A1" <<'PYEOF' || fail "JSON lines: $(cat "$T/json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 2, lines
for j in lines:
    assert j["agent_id"] == int(sys.argv[2]) and j["name"] == "web1", j
    assert isinstance(j["online"], bool) and j["last_seen"] > 0, j
    assert 0 <= j["cpu"]["usage_percent"] <= 100 and j["host"]["hostname"], j
PYEOF
pass "smtop --server -b and --json print the fleet with the stored session"

# 9. An agent deleted on the server disappears from a running client.
"$PROBE" --server "$URL" --user alice --state-dir "$ST" --seconds 30 >"$T/run4" 2>&1 &
P4=$!
_kill_probe4() { kill "$P4" 2>/dev/null || true; }
at_exit _kill_probe4
wait_for "$T/run4" "^state live"
req DELETE "/agents/$A1" -H "Authorization: Bearer $ACCESS"
expect 200
wait_for "$T/run4" "^removed $A1\$"
kill -TERM "$P4"
wait "$P4" || fail "probe exited $?"
pass "a deleted agent is removed from the client"
stop_server

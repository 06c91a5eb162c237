#!/bin/sh
# smtop_client_expiry.sh: with one-minute access tokens, smtop's client refreshes the
# token before it expires (rotating the stored refresh token) and authenticates the open
# stream again, so the server never closes it: samples keep arriving past the first
# token's expiry without a reconnect. Takes about 75 s (the shortest token lifetime).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
PROBE=$top_builddir/tests/integration/client_probe
[ -x "$PROBE" ] || fail "$PROBE is not built"
unset SMTOP_PASSWORD

export ACCESS_TOKEN_EXPIRE_MINUTES=1
start_server
register alice alice-password-1
login alice alice-password-1
add_agent "Authorization: Bearer $ACCESS" web1
A1=$AGENT_ID
WEB1_TOKEN=$AGENT_TOKEN
ingest() { post_once "$WEB1_TOKEN" >/dev/null; }
printf 'alice-password-1\n' >"$T/pw"
ST=$T/state-client

"$PROBE" --server "$URL" --user alice --password-file "$T/pw" --state-dir "$ST" \
    --seconds 150 --get "/history/$A1/cpu?start=-5m" >"$T/run" 2>"$T/run.err" &
P=$!
_kill_probe() { kill "$P" 2>/dev/null || true; }
at_exit _kill_probe
i=0
until grep -q "^state live" "$T/run" 2>/dev/null; do
    i=$((i + 1)); [ $i -le 200 ] || fail "not live: $(cat "$T/run" "$T/run.err")"; sleep 0.1
done
tok1=$(cat "$ST"/*.refresh)
start=$(date +%s)
# Keep the agent reporting until the first access token has been dead for 10 s.
while [ $(($(date +%s) - start)) -lt 72 ]; do
    ingest
    grep -q "^state reconnecting" "$T/run" && fail "the stream was closed: $(cat "$T/run")"
    sleep 2
done
n=$(grep -c "^sample $A1 " "$T/run")
ingest
i=0
until [ "$(grep -c "^sample $A1 " "$T/run")" -gt "$n" ]; do
    i=$((i + 1)); [ $i -le 200 ] || fail "no sample after the token's expiry: $(cat "$T/run")"
    sleep 0.1
done
if grep -q "^state reconnecting" "$T/run"; then fail "the stream was closed: $(cat "$T/run")"; fi
grep -q "^error" "$T/run" && fail "errors: $(cat "$T/run")"
tok2=$(cat "$ST"/*.refresh)
[ "$tok1" != "$tok2" ] || fail "the refresh token was not rotated by the refresh"
kill -TERM "$P"
wait "$P" || fail "probe exited $?"
pass "the access token is refreshed before expiry; the open stream keeps flowing"
stop_server

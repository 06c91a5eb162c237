#!/bin/sh
# server_canary.sh: no password or token ever reaches the log (at debug level) or the
# database files. A unique password and every token issued are searched for.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server --log-level debug
PW="canary-$(date +%s%N)-pw"
J='Content-Type: application/json'
req POST /register -H "$J" -d "{\"username\":\"canary\",\"password\":\"$PW\"}"
expect 200
: >"$T/secrets"
echo "$PW" >>"$T/secrets"
req POST /token -H "$J" -d "{\"username\":\"canary\",\"password\":\"$PW\"}"
expect 200
field access_token >>"$T/secrets"
field refresh_token >>"$T/secrets"
R=$(field refresh_token)
A=$(field access_token)
req POST /token -d "username=canary&password=$PW-wrong"
expect 401
echo "$PW-wrong" >>"$T/secrets"
req POST /refresh -H "$J" -d "{\"refresh_token\":\"$R\"}"
expect 200
field access_token >>"$T/secrets"
field refresh_token >>"$T/secrets"
req POST /refresh -H "$J" -d "{\"refresh_token\":\"$R\"}" # reuse: logged as a warning
expect 401
req POST /agents -H "Authorization: Bearer $A" -H "$J" -d '{"name":"web1"}'
expect 200
field token >>"$T/secrets"
ID=$(field id)
req POST "/agents/$ID/regenerate-token" -H "Authorization: Bearer $A"
expect 200
AT=$(field token)
echo "$AT" >>"$T/secrets"
req POST /ingest -H "X-Agent-Token: $AT" -d '{"cpu":{"percent":1}}'
expect 200
req POST /ingest -H "X-Agent-Token: $AT-bad" -d '{"cpu":{"percent":1}}'
expect 401
req GET /users/me -H "Authorization: Bearer $A-bad"
expect 401
"$SMSERVER" agent add --user canary web2 --state-dir "$SM_STATE" >"$T/out" 2>>"$SM_LOG"
sed 's/.*"token":"\([^"]*\)".*/\1/' "$T/out" >>"$T/secrets"
printf '%s\n' "$PW" | "$SMSERVER" user add canary2 --state-dir "$SM_STATE" >/dev/null 2>>"$SM_LOG"
stop_server
[ "$(wc -l <"$T/secrets")" -ge 9 ] || fail "not every secret was collected"
grep -q 'committed' "$SM_LOG" || fail "the log is not at debug level"
grep -q 'POST /token 401' "$SM_LOG" || fail "no access log line for the failed login"
grep -q 'POST /agents/[0-9]*/regenerate-token 200' "$SM_LOG" || fail "no access log line"

found=0
while read -r s; do
    [ ${#s} -ge 8 ] || fail "a collected secret is too short: '$s'"
    for f in "$SM_LOG" "$SM_STATE"/statusmonitor.db*; do
        if grep -qaF -- "$s" "$f"; then
            echo "secret found in $f" >&2
            found=1
        fi
    done
done <"$T/secrets"
[ $found -eq 0 ] || fail "a password or token was written to the log or the database"
pass "no secret in the log or the database files"

#!/bin/sh
# bad_input.sh: hostile input the other server tests do not already cover (issue 11):
# injection strings in every path and query parameter, forged access tokens beyond
# server_auth.sh's, a race of two refreshes with one token, login guessing that must not
# lock the real user out from another address, oversized URIs and header sections, deep
# JSON on every JSON route, more path traversal spellings, and slowloris.
# Every case: the refusal status, never a 2xx for hostile input, never a 5xx, the server
# alive, the database untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

SECRET=test-secret-0123456789abcdef0123456789
mkdir -p "$T/www"
printf 'index\n' >"$T/www/index.html"
printf 'outside\n' >"$T/outside.txt"
SECRET_KEY=$SECRET start_server --www "$T/www"
J='Content-Type: application/json'
register alice 'correct horse'
register bob 'bob password'
login alice 'correct horse'
A="Authorization: Bearer $ACCESS"
req POST /agents -H "$A" -H "$J" -d '{"name":"web1"}'
expect 200
AGENT=$(field id)
ATOKEN=$(field token)
req POST /ingest -H "X-Agent-Token: $ATOKEN" -H "$J" -d '{"cpu":{"usage_percent":5}}'
expect 200
req POST /alerts -H "$A" -H "$J" -d '{"name":"cpu high","metric":"cpu.usage","op":">","threshold":90}'
expect 201
RULE=$(field id)
snapshot() { sql "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM agents), (SELECT count(*) FROM samples), (SELECT count(*) FROM alert_rules), (SELECT count(*) FROM sqlite_master)"; }
BEFORE=$(snapshot)
alive() {
    CASE="alive after $1" req GET /health
    CASE="alive after $1" expect 200 '"status":"ok"'
}

# ---- 1. injection strings in every path and query parameter
"$PY" - >"$T/inj" <<'PY'
import urllib.parse
for s in ["1' OR '1'='1", "1; DROP TABLE samples; --", "1 UNION SELECT name FROM users",
          "../../etc/passwd", "1%00", "<script>alert(1)</script>", "${jndi:ldap://x/a}",
          "%s%s%s%n", "99999999999999999999999", "-1", "0x10", "1e3", " 1", "1/../2",
          "\u00e9\u0000\u202e", "\\\\x00", "1)--", "' or sleep(5)#", "{{7*7}}", "A" * 3000]:
    print(urllib.parse.quote(s, safe=""))
PY
# libwebsockets drops a request whose URI decodes to a NUL byte without a reply (curl
# says 000): a refusal too, as long as the server lives (checked after the loop).
nul_drop() { [ "$CODE" = 000 ] && case $v in *%00*) true ;; *) false ;; esac; }
n=0
while read -r v; do
    n=$((n + 1))
    for m_p in "GET /agents/$v" "DELETE /agents/$v" "POST /agents/$v/regenerate-token" \
        "GET /history/$v/cpu" "GET /history/$v/series" "GET /history/$v/summary" \
        "GET /alerts/$v" "DELETE /alerts/$v" "GET /alerts/$v/events" \
        "GET /alerts/channels/$v" "POST /alerts/channels/$v/test"; do
        m=${m_p%% *} p=${m_p#* }
        req "$m" "$p" -H "$A" -H "$J" -d '{}'
        nul_drop && continue
        case $CODE in 400 | 404 | 405 | 413 | 414 | 431) ;; *)
            fail "injection $n in the path: $m ${p%%"$v"*}...: $CODE $(head -c 200 "$T/body")" ;;
        esac
    done
    for q in start stop points; do
        req GET "/history/$AGENT/cpu?$q=$v" -H "$A"
        nul_drop && continue
        case $CODE in 400) grep -Eq "\"detail\":\"($q|query)" "$T/body" ||
            fail "injection $n in ?$q: the 400 does not name $q: $(head -c 200 "$T/body")" ;;
        414 | 431) ;;
        *) fail "injection $n in ?$q: $CODE $(head -c 200 "$T/body")" ;;
        esac
    done
    for q in "name=$v" "core=$v" "$v=1"; do
        req GET "/history/$AGENT/series?$q" -H "$A"
        nul_drop && continue
        # A name or label value is free text, bound as a parameter: no match, no data.
        case $CODE in 400 | 414 | 431) ;; 200) grep -q '"data":\[\]' "$T/body" ||
            fail "injection $n in series?$q matched data: $(head -c 200 "$T/body")" ;;
        *) fail "injection $n in series?$q: $CODE $(head -c 200 "$T/body")" ;;
        esac
    done
    req GET "/alerts/$RULE/events?limit=$v" -H "$A"
    nul_drop && continue
    CASE="injection $n in ?limit" expect 400
    grep -Eq '"detail":"(limit|query)' "$T/body" || fail "injection $n in ?limit: $(head -c 200 "$T/body")"
done <"$T/inj"
[ "$(snapshot)" = "$BEFORE" ] || fail "injection strings changed the database: $BEFORE -> $(snapshot)"
alive "injection strings"
pass "injection: $n strings in 11 path and 7 query parameters, all refused, database untouched"

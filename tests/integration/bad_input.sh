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
add_agent "$A" web1
AGENT=$AGENT_ID
ATOKEN=$AGENT_TOKEN
req POST /ingest -H "X-Agent-Token: $ATOKEN" -H "$J" -d '{"cpu":{"usage_percent":5}}'
expect 200
req POST /alerts -H "$A" -H "$J" -d '{"name":"cpu high","metric":"cpu.usage","op":">","threshold":90}'
expect 201
RULE=$(field id)
snapshot() { sql "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM agents), (SELECT count(*) FROM samples), (SELECT count(*) FROM alert_rules), (SELECT count(*) FROM sqlite_master)" \
    "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM agents), (SELECT count(*) FROM samples), (SELECT count(*) FROM alert_rules), (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND NOT relispartition)"; }
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

# The same strings in the string fields of JSON bodies: refused with 400 naming the field,
# or stored verbatim (bound parameters) and given back unchanged; the schema untouched.
"$PY" - "$PORT" "$ACCESS" <<'PY' || fail "injection strings in JSON bodies"
import http.client, json, sys
port, tok = int(sys.argv[1]), sys.argv[2]
strs = ["x' OR '1'='1", "x\"; DROP TABLE agents; --", "x UNION SELECT pwhash FROM users",
        "../../etc/passwd", "<script>alert(1)</script>", "${jndi:ldap://x/a}", "%s%n",
        "\u202eevil", "a\u0000b", "A" * 3000]
def call(m, p, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request(m, p, json.dumps(body), {"Authorization": "Bearer " + tok,
                                       "Content-Type": "application/json"})
    r = c.getresponse()
    d = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, d
n = 0
for s in strs:
    for m, p, field, body in [
            ("POST", "/register", "username", {"username": s, "password": "password1"}),
            ("POST", "/agents", "name", {"name": s}),
            ("POST", "/alerts", "name", {"name": s, "metric": "cpu.usage", "op": ">", "threshold": 1}),
            ("POST", "/alerts", "metric", {"name": "r", "metric": s, "op": ">", "threshold": 1}),
            ("POST", "/alerts", "op", {"name": "r", "metric": "cpu.usage", "op": s, "threshold": 1}),
            ("POST", "/alerts/channels", "type", {"name": "c", "type": s, "url": "http://192.0.2.1:9/"}),
            ("POST", "/alerts/channels", "name", {"name": s, "type": "webhook", "url": "http://192.0.2.1:9/"}),
            ("POST", "/token", "username", {"username": s, "password": "x"})]:
        st, d = call(m, p, body)
        n += 1
        if st == 400:
            # A NUL escape is refused by the JSON parser for the whole body.
            det = json.loads(d)["detail"]
            assert det.startswith(field) or det.startswith("body: escaped NUL"), \
                "%s %s: %s" % (p, field, d)
        elif st in (200, 201):
            got = json.loads(d)
            assert got.get(field) == s, "%s %s: stored as %r" % (p, field, got.get(field))
            if p == "/agents":
                call("DELETE", "/agents/%d" % got["id"], {})
            elif p in ("/alerts", "/alerts/channels"):
                call("DELETE", "%s/%d" % (p, got["id"]), {})
        elif st not in (401, 413):
            raise AssertionError("%s %s = %r: status %d %s" % (p, field, s[:40], st, d[:200]))
print("%d requests with injection strings in JSON fields" % n)
PY
[ "$(snapshot | cut -d'|' -f5)" = "$(echo "$BEFORE" | cut -d'|' -f5)" ] || fail "the schema changed"
pass "injection strings in JSON body fields: refused naming the field or stored verbatim"

# ---- 2. forged access tokens not in server_auth.sh: RS256, an edited payload, no exp,
# odd alg spellings, wrong types, extra segments, a huge token.
"$PY" - "$SECRET" "$ACCESS" >"$T/forged" <<'PY'
import base64, hmac, hashlib, json, os, sys, time
key, good = sys.argv[1].encode(), sys.argv[2]
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b'=').decode()
def tok(hdr, pl, k=key, raw=False):
    h = hdr if raw else json.dumps(hdr)
    p = pl if raw else json.dumps(pl)
    s = b(h.encode()) + '.' + b(p.encode())
    return s + '.' + b(hmac.new(k, s.encode(), hashlib.sha256).digest())
now = int(time.time())
h, p, s = good.split('.')
claims = json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4)))
out = []
out.append(b(json.dumps({'alg': 'RS256', 'typ': 'JWT'}).encode()) + '.' + p + '.' + b(os.urandom(256)))
edited = dict(claims, sub=str(int(claims['sub']) + 1))                  # another user, old signature
out.append(h + '.' + b(json.dumps(edited).encode()) + '.' + s)
longer = dict(claims, exp=claims['exp'] + 86400 * 365)                   # extended, old signature
out.append(h + '.' + b(json.dumps(longer).encode()) + '.' + s)
out.append(tok({'alg': 'HS256', 'typ': 'JWT'}, {'sub': '1'}))            # no exp
out.append(tok({'alg': 'HS256'}, {'sub': '1', 'exp': str(now + 600)}))   # exp a string
out.append(tok({'alg': 'HS256'}, {'sub': "1' OR '1'='1", 'exp': now + 600}))
out.append(tok({'alg': 'HS256'}, {'sub': 1.5, 'exp': now + 600}))
out.append(tok({'alg': 'HS256'}, {'sub': '0', 'exp': now + 600}))
out.append(tok({'alg': 'HS256'}, {'sub': '-1', 'exp': now + 600}))
out.append(tok({'alg': 'hs256'}, {'sub': '1', 'exp': now + 600}))
out.append(tok({'alg': 'None'}, {'sub': '1', 'exp': now + 600}).rsplit('.', 1)[0] + '.')
out.append(tok({'alg': ['HS256']}, {'sub': '1', 'exp': now + 600}))
out.append(tok({}, {'sub': '1', 'exp': now + 600}))                      # no alg
out.append(tok('{"alg":"HS256","alg":"none"}', json.dumps({'sub': '1', 'exp': now + 600}), raw=True))
out.append(tok('not json', json.dumps({'sub': '1', 'exp': now + 600}), raw=True))
out.append(tok({'alg': 'HS256'}, [1, 2]))
out.append(good + '.' + s)                                               # four segments
out.append(h + '.' + p + '.' + s + '=')                                  # padded signature
out.append(h + '.' + p + '.' + base64.b64encode(base64.urlsafe_b64decode(s + '=')).decode())
out.append(h + '.' + p)                                                  # two segments
out.append('..')
out.append(tok({'alg': 'HS256', 'pad': 'x' * 6000}, {'sub': '1', 'exp': now + 600}))  # huge
out.append(h + '.' + b(b'{' * 3000) + '.' + s)                           # deep garbage
for t in out:
    print(t)
PY
n=0
while read -r t; do
    n=$((n + 1))
    req GET /users/me -H "Authorization: Bearer $t"
    # Over libwebsockets' 4 KiB header space the connection is closed without a reply.
    case $CODE in 401) ;; 000 | 400 | 413 | 431) [ ${#t} -gt 4000 ] || fail "forged token $n: $CODE" ;;
    *) fail "forged token $n accepted or mishandled: $CODE $(head -c 200 "$T/body")" ;;
    esac
done <"$T/forged"
[ $n -eq 23 ] || fail "forged token list incomplete ($n)"
req GET /users/me -H "$A"
CASE="the real token still works" expect 200 alice
alive "forged tokens"
pass "forged tokens: $n more kinds refused with 401 (over 4 KiB: connection closed)"

# ---- 3. two refreshes racing with one refresh token: at most one wins. The loser is
# reuse of a dead token, which revokes the family, so the winner's new token dies too.
RACE=""
for round in 1 2 3; do
    login alice 'correct horse'
    "$PY" - "$PORT" "$REFRESH" >"$T/race" <<'PY'
import http.client, json, sys, threading
port, tok = int(sys.argv[1]), sys.argv[2]
conns = [http.client.HTTPConnection('127.0.0.1', port, timeout=20) for _ in range(2)]
for c in conns:
    c.connect()
go = threading.Barrier(2)
res = [None, None]
def run(i):
    go.wait()
    conns[i].request('POST', '/refresh', json.dumps({'refresh_token': tok}),
                     {'Content-Type': 'application/json'})
    r = conns[i].getresponse()
    body = r.read().decode()
    res[i] = (r.status, json.loads(body).get('refresh_token', '') if r.status == 200 else '')
ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
for t in ts: t.start()
for t in ts: t.join()
for st, rt in res:
    print(st, rt)
PY
    wins=$(grep -c '^200 ' "$T/race") || :
    RACE="$RACE ${wins:-0}"
    [ "$wins" -le 1 ] || fail "refresh race $round: both refreshes succeeded: $(cut -c1-12 "$T/race")"
    grep -Eq '^(200|401) ' "$T/race" || fail "refresh race $round: $(cut -c1-12 "$T/race")"
    if [ "$wins" = 1 ]; then
        NEW=$(sed -n 's/^200 //p' "$T/race")
        req POST /refresh -H "$J" -d "{\"refresh_token\":\"$NEW\"}"
        CASE="refresh race $round: the family is revoked after the losing reuse" expect 401
    fi
done
pass "refresh race: never two winners with one token (winners per round:$RACE); the family dies on the reuse"

# ---- 4. guessing a password: 429 with Retry-After for the guesser's address, while the
# real user logs in from another address (loopback 127.0.0.2).
register carol 'carol password'
for i in 1 2 3 4 5 6; do
    req POST /token -d 'username=carol&password=guess'
done
CASE="guessing" expect 429
grep -qi '^retry-after: [1-9]' "$T/headers" || fail "429 without Retry-After"
req POST /token -d 'username=carol&password=carol+password'
CASE="the guesser's address stays limited, even with the password" expect 429
CODE=$(curl -s --interface 127.0.0.2 -o "$T/body" -w '%{http_code}' \
    -d 'username=carol&password=carol+password' "$URL/token") || CODE=000
CASE="carol from another address" expect 200 access_token
CODE=$(curl -s --interface 127.0.0.2 -o "$T/body" -w '%{http_code}' \
    -d 'username=carol&password=wrong' "$URL/token") || CODE=000
CASE="a wrong password from the other address" expect 401
pass "guessing: 429 for the guesser, the real user still logs in from elsewhere"

# ---- 5. sizes: a long URI, many headers, deep JSON on every JSON route, a body larger
# than its Content-Length says, a Content-Length far over the cap.
LONGQ=$(head -c 20000 /dev/zero | tr '\0' a)
CODE=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/health?x=$LONGQ") || CODE=000
case $CODE in 000 | 400 | 414 | 431) ;; *) fail "20 KB URI: $CODE" ;; esac
CODE=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/agents/$LONGQ" -H "$A") || CODE=000
case $CODE in 000 | 400 | 404 | 414 | 431) ;; *) fail "20 KB path: $CODE" ;; esac
set --
for i in $(seq 300); do set -- "$@" -H "X-H$i: v"; done
CODE=$(curl -s -o "$T/body" -w '%{http_code}' "$@" "$URL/health") || CODE=000
case $CODE in 000 | 400 | 431) ;; *) fail "300 headers: $CODE" ;; esac
alive "long URIs and many headers"
"$PY" -c 'print("[" * 5000 + "]" * 5000)' >"$T/deep.json"
"$PY" -c 'print("{\"a\":" * 5000 + "1" + "}" * 5000)' >"$T/deepobj.json"
for m_p in "POST /register" "POST /token" "POST /refresh" "POST /logout" "POST /agents" \
    "POST /alerts" "PUT /alerts/$RULE" "POST /alerts/channels"; do
    m=${m_p%% *} p=${m_p#* }
    for f in deep deepobj; do
        req "$m" "$p" -H "$A" -H "$J" --data-binary @"$T/$f.json"
        case $CODE in 400 | 413) grep -q '"detail"' "$T/body" || fail "deep JSON to $p: no detail" ;;
        *) fail "deep JSON ($f) to $m $p: $CODE $(head -c 200 "$T/body")" ;;
        esac
    done
done
req POST /ingest -H "X-Agent-Token: $ATOKEN" -H "$J" --data-binary @"$T/deepobj.json"
case $CODE in 400 | 413) ;; *) fail "deep JSON to /ingest: $CODE" ;; esac
CODE=$(curl -s -o "$T/body" -w '%{http_code}' -H "$J" -H 'Content-Length: 999999999' \
    -d '{}' -m 10 "$URL/register") || CODE=000
case $CODE in 413) ;; *) fail "Content-Length over the cap: $CODE" ;; esac
[ "$(snapshot | cut -d'|' -f2-)" = "$(echo "$BEFORE" | cut -d'|' -f2-)" ] ||
    fail "oversized input changed the database"
alive "oversized input"
pass "sizes: 20 KB URI and path, 300 headers, 5000-deep JSON on 9 routes, huge Content-Length"

# ---- 6. path traversal spellings not in server_http.sh: a raw backslash, double
# encoding, overlong UTF-8, ..;, a NUL, on the static files and the API.
for p in '/sub\..\..\outside.txt' '/..\outside.txt' '/%252e%252e/outside.txt' \
    '/%c0%ae%c0%ae/outside.txt' '/..;/outside.txt' '/%2e%2e%2foutside.txt' \
    '/index.html%00../../outside.txt' '/./../outside.txt' '//../outside.txt' \
    '/%2E%2E/%2E%2E/outside.txt' "/agents/..%2f..%2foutside.txt" "/agents/1/..%2f..%2f..%2foutside.txt" \
    '/history/1/..%2f..%2f..%2foutside.txt' '/.%2e/outside.txt'; do
    CODE=$(curl -s --path-as-is -o "$T/body" -w '%{http_code}' -H "$A" "$URL$p") || CODE=000
    grep -q outside "$T/body" && fail "traversal: $p served a file outside --www"
    case $CODE in 2*) fail "traversal: $p answered $CODE" ;; 5*) fail "traversal: $p: $CODE" ;; esac
done
alive "traversal"
pass "traversal: 14 more spellings refused"

# ---- 7. slowloris: 50 connections trickle header lines and never finish. Normal requests
# are answered meanwhile, and the server closes the trickling connections itself.
"$PY" - "$PORT" <<'PY' || fail "slowloris"
import http.client, socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(50):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
def trickle():
    for s in socks:
        if s is None:
            continue
        try:
            s.sendall(b"X-Slow: a\r\n")
        except OSError:
            pass
def closed(s):
    s.setblocking(False)
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)
trickle()
for i in range(5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("GET", "/health")
    r = c.getresponse()
    r.read()
    assert r.status == 200, "normal request got %d" % r.status
    c.close()
open_now = sum(1 for s in socks if not closed(s))
assert open_now > 0, "the trickling connections were closed before the normal requests ran"
print("5 normal requests answered while %d of 50 trickling connections were open" % open_now)
deadline = time.time() + 120
while time.time() < deadline:
    trickle()
    for i, s in enumerate(socks):
        if s is not None and closed(s):
            s.close()
            socks[i] = None
    if all(s is None for s in socks):
        break
    time.sleep(0.5)
left = sum(1 for s in socks if s is not None)
assert left == 0, "%d trickling connections still open after 120 s" % left
print("all 50 trickling connections closed by the server")
PY
alive "slowloris"
pass "slowloris: normal requests answered, trickling connections closed"
stop_server

#!/bin/sh
# server_http.sh: the HTTP surface: static files, security headers, methods, traversal,
# upgrades, health, unknown paths, no CORS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

mkdir -p "$T/www/sub"
printf '<!DOCTYPE html><title>t</title><p>StatusMonitor test page</p>\n' >"$T/www/index.html"
printf 'body{}\n' >"$T/www/sub/site.css"
printf 'secret\n' >"$T/www/.hidden"
printf 'outside\n' >"$T/outside.txt"
start_server --www "$T/www"

CASE="health" req GET /health
CASE="health" expect 200 '"status":"ok"'
grep -q '"db":"ok"' "$T/body" || fail "health does not report the database"
CASE="index" req GET /
CASE="index" expect 200 'StatusMonitor test page'
grep -qi '^content-type: text/html' "$T/headers" || fail "index is not text/html"
grep -qi "^content-security-policy: .*default-src 'self'" "$T/headers" || fail "no CSP"
grep -qi "^content-security-policy: .*frame-ancestors 'none'" "$T/headers" ||
    fail "CSP without frame-ancestors 'none'"
grep -i '^content-security-policy:' "$T/headers" | grep -qi "unsafe-inline" && fail "CSP allows inline"
grep -qi '^x-content-type-options: nosniff' "$T/headers" || fail "no nosniff"
grep -qi '^access-control-' "$T/headers" && fail "CORS header on /"
CASE="css" req GET /sub/site.css
CASE="css" expect 200 'body{}'
grep -qi '^content-type: text/css' "$T/headers" || fail "css is not text/css"
pass "static files and headers"

CASE="POST to static" req POST /index.html -d 'x=1'
CASE="POST to static" expect 405
CASE="PUT to static" req PUT / -d 'x=1'
CASE="PUT to static" expect 405
CASE="missing file" req GET /nope.html
CASE="missing file" expect 404
CASE="hidden file" req GET /.hidden
CASE="hidden file" expect 404
for p in /../outside.txt /sub/../../outside.txt /%2e%2e/outside.txt /sub/%2e%2e/%2e%2e/outside.txt \
    '/..%2foutside.txt' '/sub/..%5c..%5coutside.txt'; do
    CODE=$(curl -s --path-as-is -o "$T/body" -w '%{http_code}' "$URL$p")
    grep -q outside "$T/body" && fail "traversal: $p served a file outside --www"
    case $CODE in 2*) fail "traversal: $p answered $CODE" ;; esac
done
pass "methods and traversal"

# API errors are JSON, with CORS absent and the same security headers.
CASE="unknown API method" req DELETE /users/me
CASE="unknown API method" expect 405
CASE="API 404" req GET /agents/1/nothing
CASE="API 404" expect 404
req OPTIONS /agents -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: GET'
grep -qi '^access-control-' "$T/headers" && fail "CORS header on a preflight"
pass "API errors"

# A chunked request body is refused up front (its size is unknown), not waited for.
CODE=$(curl -s -m 5 -o "$T/body" -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
    -d '{"username":"zed","password":"password1"}' "$URL/register") || true
[ "$CODE" = 411 ] || fail "chunked body: expected 411, got $CODE"
pass "chunked body refused"

# Only websocket upgrades: h2c is refused (no 101), and the connection still answers HTTP/1.1.
"$PY" - "$PORT" <<'PY' || fail "h2c upgrade was not refused"
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
s.sendall(b'GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n'
          b'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n')
data = s.recv(4096)
status = data.split(b'\r\n', 1)[0]
sys.exit(0 if status.split(b' ')[1].startswith(b'4') else 1)
PY
CODE=$(curl -s --http2 -o "$T/body" -w '%{http_code} %{http_version}' "$URL/health")
case $CODE in "200 2") fail "curl --http2 got an h2c upgrade" ;; esac
pass "h2c refused"

# Clients that hang up before their reply (Argon2id takes a while): the late results are
# dropped, the server lives on (under ASan this also catches a use of the dead wsi).
for i in 1 2 3 4 5 6; do
    curl -s -m 0.02 -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"username\":\"gone$i\",\"password\":\"password$i\"}" "$URL/register" || true
done
sleep 1
CASE="alive after hang-ups" req GET /health
CASE="alive after hang-ups" expect 200
pass "clients that hang up early"

# A request with a header section over the cap is refused, and the server lives on.
LONG=$(head -c 9000 /dev/zero | tr '\0' a)
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Long: $LONG" "$URL/health") || true
[ "$CODE" != 200 ] || fail "a 9000-byte header was accepted"
CASE="alive" req GET /health
CASE="alive" expect 200
pass "header cap"
stop_server

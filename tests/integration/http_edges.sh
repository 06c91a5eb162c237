#!/bin/sh
# http_edges.sh: requests that libwebsockets 4.1 refuses inside its header parser (an
# escaped NUL in the path or query, a header section over its 4 KiB) end without an
# HTTP reply, as smserver(8) says and explains; each case checks that the connection
# closes at once (no hang), that nothing else was answered instead, that the server
# does not spin, and that it still answers. Requests next to those edges are answered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server

# edge NAME EXPECT REQUEST: send REQUEST (a Python bytes expression) on a fresh
# connection, or after one answered request on a kept-alive one when NAME starts with
# "kept-alive"; EXPECT is a status code, or "closed" for a close with no reply at all.
edge() {
    "$PY" - "$PORT" "$SM_PID" "$1" "$2" "$3" <<'PY' || fail "$1"
import os, re, socket, sys, time
port, pid, name, want, expr = sys.argv[1:6]
req = eval(expr)
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def read_reply(s):
    got = b""
    while not re.search(rb"\r\n\r\n", got):
        d = s.recv(65536)
        if not d:
            break
        got += d
    return got
s = socket.create_connection(("127.0.0.1", int(port)))
s.settimeout(5)
if name.startswith("kept-alive"):
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    first = read_reply(s)
    if not first.startswith(b"HTTP/1.1 200"):
        sys.exit("%s: the first request got %r" % (name, first[:40]))
    while b'"version"' not in first:
        first += s.recv(65536)
t0 = time.monotonic()
s.sendall(req)
got, closed = b"", False
try:
    while True:
        d = s.recv(65536)
        if not d:
            closed = True
            break
        got += d
        if want != "closed" and re.search(rb"\r\n\r\n", got):
            break
except ConnectionResetError:
    closed = True
except socket.timeout:
    pass
took = time.monotonic() - t0
c0 = cpu()
time.sleep(0.5)
used = cpu() - c0
codes = re.findall(rb"^HTTP/1\.[01] (\d{3}) ", got, re.M)
print("%s: %s after %.2f s%s, server CPU %.2f s in 0.5 s" % (
    name, [c.decode() for c in codes], took, " (closed)" if closed else "", used))
if want == "closed":
    if got or not closed:
        sys.exit("%s: expected a close with no reply, got %r%s" % (
            name, got[:60], "" if closed else " and no close"))
    if took > 2:
        sys.exit("%s: the close took %.1f s" % (name, took))
elif [c.decode() for c in codes] != [want]:
    sys.exit("%s: expected %s, got %r" % (name, want, got[:60]))
if used > 0.2:
    sys.exit("%s: the server spun (%.2f s of CPU in 0.5 s)" % (name, used))
PY
    CASE="alive after $1" req GET /health
    CASE="alive after $1" expect 200 '"status":"ok"'
}

H='Host: x\r\n'
edge "%00 in the path" closed "b'GET /agents/1%00 HTTP/1.1\r\n$H\r\n'"
edge "%00 in the query" closed "b'GET /health?x=%00 HTTP/1.1\r\n$H\r\n'"
edge "%00 in a POST's path" closed \
    "b'POST /ingest%00 HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n{}'"
edge "kept-alive: %00 in the second request" closed "b'GET /a%00 HTTP/1.1\r\n$H\r\n'"
edge "a 5000-byte header" closed "b'GET /health HTTP/1.1\r\n${H}X-Long: ' + b'a' * 5000 + b'\r\n\r\n'"
edge "a 64 KiB header" closed "b'GET /health HTTP/1.1\r\n${H}X-Long: ' + b'a' * 65536 + b'\r\n\r\n'"
edge "kept-alive: a 5000-byte header in the second request" closed \
    "b'GET /health HTTP/1.1\r\n${H}X-Long: ' + b'a' * 5000 + b'\r\n\r\n'"
edge "a 5000-byte path" closed "b'GET /' + b'a' * 5000 + b' HTTP/1.1\r\n$H\r\n'"
# Next to the edges: answered.
edge "a 3000-byte header" 200 "b'GET /health HTTP/1.1\r\n${H}X-Long: ' + b'a' * 3000 + b'\r\n\r\n'"
edge "%01 in the path" 404 "b'GET /a%01 HTTP/1.1\r\n$H\r\n'"
edge "%2500 (an escaped percent sign) in the path" 404 "b'GET /a%2500 HTTP/1.1\r\n$H\r\n'"
edge "a bad escape (%zz): libwebsockets' own 403" 403 "b'GET /a%zz HTTP/1.1\r\n$H\r\n'"
# curl says what a user sees.
rc=0
curl -s -o /dev/null "$URL/health?x=%00" 2>"$T/curl.err" || rc=$?
[ $rc = 52 ] || fail "curl on %00: exit $rc, expected 52 (empty reply): $(cat "$T/curl.err")"
pass "HTTP edges: %00 and oversized headers closed at once with no reply, as documented; neighbours answered"
stop_server

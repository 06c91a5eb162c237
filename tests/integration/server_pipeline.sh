#!/bin/sh
# server_pipeline.sh: HTTP/1.1 pipelining, found by fuzz_http. A client may send its next
# request before the reply to the one before. libwebsockets 4.1 hands the early bytes
# back on every turn of the loop while a job makes the reply: smserver spun at full CPU,
# ignored SIGTERM, and a pipelined request could take the place of the one in flight
# (its reply was lost). Now (server.c, hold_rx): pipelined requests after a GET or
# after one POST are answered in order; where 4.1 cannot go on (a third request after
# a body parsed from its buffer) the connection is closed, never spun on. Each case
# checks the replies, the server's CPU time over the next second, and that it still
# answers and stops on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

start_server
register alice 'correct horse'
login alice 'correct horse'

# pipe NAME EXPECTED REQUEST: send REQUEST (a Python bytes expression, @A@ = alice's
# access token) in one write; EXPECTED is the list of status codes that must come back
# in order ("closed" after them: the server must then close the connection).
pipe() {
    CASE=$1 "$PY" - "$PORT" "$SM_PID" "$ACCESS" "$2" "$3" <<'PY' || fail "$1"
import os, re, socket, sys, time
port, pid, token, expected, expr = sys.argv[1:6]
req = eval(expr).replace(b"@A@", token.encode())
def cpu():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(req)
want = expected.split()
must_close = want[-1] == "closed"
codes = [w for w in want if w != "closed"]
s.settimeout(5)
got, closed, deadline = b"", False, time.monotonic() + 5
while len(re.findall(rb"HTTP/1\.[01] (\d{3}) ", got)) < len(codes) or must_close:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    except ConnectionResetError:
        closed = True
        break
    if not d:
        closed = True
        break
    got += d
    if time.monotonic() > deadline:
        break
seen = [c.decode() for c in re.findall(rb"HTTP/1\.[01] (\d{3}) ", got)]
c0 = cpu()
time.sleep(1)
used = cpu() - c0
print("%s: replies %s%s, server CPU %.2f s in 1 s" % (os.environ["CASE"], seen,
      " then closed" if closed else "", used))
if seen != codes:
    sys.exit("%s: expected replies %s, got %s" % (os.environ["CASE"], codes, seen))
if must_close and not closed:
    sys.exit("%s: the server kept the connection open" % os.environ["CASE"])
if used > 0.3:
    sys.exit("%s: the server spun (%.2f s of CPU in 1 s)" % (os.environ["CASE"], used))
PY
    CASE="alive after $1" req GET /health
    CASE="alive after $1" expect 200 '"status":"ok"'
}

H='Host: x\r\n'
pipe "three GETs answered in order by jobs" "200 200 200" \
    "b'GET /health HTTP/1.1\r\n$H\r\n' * 3"
pipe "authenticated GETs" "200 200" \
    "b'GET /agents HTTP/1.1\r\n${H}Authorization: Bearer @A@\r\n\r\n' * 2"
pipe "immediate replies (404) in order" "404 404 404" \
    "b'GET /nope HTTP/1.1\r\n$H\r\n' * 3"
pipe "a POST, then a GET" "401 200" \
    "b'POST /agents HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n{}GET /health HTTP/1.1\r\n$H\r\n'"
pipe "405 with its body unread, then a GET" "405 200" \
    "b'POST /health HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n{}GET /health HTTP/1.1\r\n$H\r\n'"
pipe "POSTs with bodies: the first answered, then closed, no spin" "401 closed" \
    "b'POST /agents HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n{}' * 3"
pipe "authenticated POSTs: the first answered, then closed, no spin" "200 closed" \
    "b'POST /agents HTTP/1.1\r\n${H}Authorization: Bearer @A@\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"name\":\"p\"}' * 3"
pipe "a GET with a body, then a GET" "200 200" \
    "b'GET /health HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\n{}}GET /health HTTP/1.1\r\n$H\r\n'"
pipe "HTTP/1.0 with a byte after its body: answered, closed" "401 closed" \
    "b'POST /ingest HTTP/1.0\r\n${H}Content-Length: 3\r\n\r\n{}}x'"
# The fuzzer's inputs: junk headers, a body, then more requests in the same write.
pipe "fuzz_http's input" "401 closed" \
    "open('$top_srcdir/tests/fuzz/corpus/http/regress-pipelined-post-spin', 'rb').read()[1:]"
pipe "fuzz_http's input, HTTP/1.0" "401 closed" \
    "open('$top_srcdir/tests/fuzz/corpus/http/regress-http10-body-spin', 'rb').read()[1:]"
stop_server
echo "PASS: pipelined requests answered or closed, never spun on"

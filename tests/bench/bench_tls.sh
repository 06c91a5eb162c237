#!/bin/sh
# bench_tls.sh: what TLS costs a new connection to smserver. Two real servers run side
# by side, one plain and one with --tls-cert/--tls-key (RSA 2048, then ECDSA P-256); one
# client (python, one connection at a time, no session reuse) opens a connection, sends
# GET /health, reads the reply and closes, for SECONDS, plain and TLS runs interleaved.
# Prints connections per second of each and their ratio, and the full handshakes per
# second of `openssl s_time -new` for the TLS servers. Usage: bench_tls.sh [SECONDS]
# (default 3 per run, 3 runs each).
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/tls_lib.sh"
need openssl python3
SECS=${1:-3}
umask 077
make_tls "$T"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$T/ec.key" -out "$T/ec.csr" 2>/dev/null
openssl x509 -req -in "$T/ec.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -extfile "$T/srv.ext" -out "$T/ec.pem" 2>/dev/null

PIDS=
_kill_servers() { for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done; }
at_exit _kill_servers
# serve NAME ARGS...: a server on a free port; its port in $T/NAME.port.
serve() {
    n=$1
    shift
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$T/$n.st" --port-file "$T/$n.port" \
        --config /dev/null --log-level warn "$@" >"$T/$n.log" 2>&1 &
    PIDS="$PIDS $!"
    wait_for "smserver $n" test -s "$T/$n.port"
}
serve plain
serve rsa --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
serve ec --tls-cert "$T/ec.pem" --tls-key "$T/ec.key"

# conns PORT TLS: connections per second over SECS seconds.
conns() {
    python3 - "$1" "$2" "$SECS" "$T/ca.pem" <<'PY'
import socket, ssl, sys, time
port, tls, secs, ca = int(sys.argv[1]), sys.argv[2] == "1", float(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=ca) if tls else None
req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
n, end = 0, time.monotonic() + secs
start = time.monotonic()
while time.monotonic() < end:
    s = socket.create_connection(("127.0.0.1", port))
    if ctx:
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    s.sendall(req)
    reply = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        reply += b
    s.close()
    if not reply.startswith(b"HTTP/1.1 200"):
        sys.exit("bad reply: %r" % reply[:80])
    n += 1
print("%.0f" % (n / (time.monotonic() - start)))
PY
}
mean() { python3 -c 'import sys; v=[float(x) for x in sys.argv[1:]]; print("%.0f" % (sum(v)/len(v)))' "$@"; }
P0=$(cat "$T/plain.port")
PR=$(cat "$T/rsa.port")
PE=$(cat "$T/ec.port")
plain= rsa= ec=
for i in 1 2 3; do
    plain="$plain $(conns "$P0" 0)"
    rsa="$rsa $(conns "$PR" 1)"
    ec="$ec $(conns "$PE" 1)"
done
mp=$(mean $plain)
mr=$(mean $rsa)
me=$(mean $ec)
# stime PORT: full handshakes per wall-clock second (no request), openssl's own client
# (its "real seconds" are whole seconds: runs of SECS + 2).
stime() {
    openssl s_time -connect "127.0.0.1:$1" -new -time $((SECS + 2)) 2>/dev/null |
        sed -n 's/^\([0-9]*\) connections in \([0-9]*\) real seconds.*/\1 \2/p' |
        python3 -c 'import sys; n, t = map(float, sys.stdin.read().split()); print("%.0f" % (n / t))'
}
echo "plain HTTP: $mp connections/s (runs:$plain)"
echo "TLS RSA-2048: $mr connections/s (runs:$rsa), ratio to plain $(python3 -c "print('%.2f' % ($mr/$mp))")"
echo "TLS ECDSA P-256: $me connections/s (runs:$ec), ratio to plain $(python3 -c "print('%.2f' % ($me/$mp))")"
echo "openssl s_time -new: RSA-2048 $(stime "$PR") handshakes/s, ECDSA P-256 $(stime "$PE") handshakes/s"

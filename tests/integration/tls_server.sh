#!/bin/sh
# tls_server.sh: smserver with --tls-cert/--tls-key, certificates made here with openssl:
# bad pairs refused at the start (key readable by others, missing, expired, mismatched:
# exit 2 and a message naming the file); HTTPS with HSTS and TLS 1.2 at least; plain HTTP
# to the port gets a redirect, never the API; a real smagent posts over TLS (samples
# stored) and refuses an unknown CA or a wrong name; SIGHUP loads a new certificate
# without dropping an open connection, and keeps the old one when the new pair is bad.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/tls_lib.sh"
need openssl
make_tls "$T"
make_cert "$T" expired 127.0.0.1 IP:127.0.0.1 -1
make_cert "$T" wrong wrong.example DNS:wrong.example 2
make_cert "$T" next 127.0.0.1 'IP:127.0.0.1,DNS:localhost' 2
# curl trusts the test CA (and only it) from here on.
CURL_CA_BUNDLE=$T/ca.pem
export CURL_CA_BUNDLE

# refused CODE TEXT ARGS...: smserver with ARGS exits CODE at once, saying TEXT.
refused() {
    code=$1 text=$2
    shift 2
    rc=0
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$T/st0" --config /dev/null "$@" \
        >"$T/refused.out" 2>&1 || rc=$?
    [ $rc -eq "$code" ] || fail "$*: exit $rc, not $code: $(cat "$T/refused.out")"
    grep -qF -- "$text" "$T/refused.out" || fail "$*: no '$text' in: $(cat "$T/refused.out")"
}
cp "$T/srv.key" "$T/open.key"
chmod 644 "$T/open.key"
refused 2 "smserver: tls_key: $T/open.key: group or others have access (mode 0644)" \
    --tls-cert "$T/srv.pem" --tls-key "$T/open.key"
chmod 640 "$T/open.key"
refused 2 "(mode 0640)" --tls-cert "$T/srv.pem" --tls-key "$T/open.key"
refused 2 "smserver: tls_cert: $T/nosuch.pem: No such file or directory" \
    --tls-cert "$T/nosuch.pem" --tls-key "$T/srv.key"
refused 2 "smserver: tls_cert: $T/expired.pem: expired on " \
    --tls-cert "$T/expired.pem" --tls-key "$T/expired.key"
refused 2 "smserver: tls_key: $T/wrong.key: does not match the certificate $T/srv.pem" \
    --tls-cert "$T/srv.pem" --tls-key "$T/wrong.key"
refused 2 "smserver: tls_cert: $T/srv.key: no PEM certificate" \
    --tls-cert "$T/srv.key" --tls-key "$T/srv.key"
refused 2 "TLS needs both a certificate and a key" --tls-cert "$T/srv.pem"
# The same names in the configuration file.
printf 'tls_cert = %s\ntls_key = %s\n' "$T/expired.pem" "$T/expired.key" >"$T/expired.conf"
refused 2 "smserver: tls_cert: $T/expired.pem: expired on " --config "$T/expired.conf"
pass "key open to others, missing, expired, mismatched, not a certificate: exit 2 and why"

# The certificate the server is started with is a copy: SIGHUP reloads these paths.
cp "$T/srv.pem" "$T/live.pem"
cp "$T/srv.key" "$T/live.key"
printf 'tls_cert = %s\ntls_key = %s\n' "$T/live.pem" "$T/live.key" >"$T/tls.conf"
start_server --config "$T/tls.conf"
URL=https://127.0.0.1:$PORT
log_has "$SM_LOG" "listening on https://127.0.0.1:$PORT" || fail "no https in: $(cat "$SM_LOG")"
req GET /health
expect 200 '"status":"ok"'
grep -qi '^strict-transport-security: max-age=' "$T/headers" || fail "no HSTS: $(cat "$T/headers")"
grep -q '^HTTP/1.1 200' "$T/headers" || fail "not HTTP/1.1: $(head -1 "$T/headers")"
# TLS 1.1 is refused, TLS 1.2 taken.
openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 </dev/null >"$T/s11" 2>&1 &&
    fail "a TLS 1.1 handshake succeeded"
openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -CAfile "$T/ca.pem" -verify_return_error \
    </dev/null >"$T/s12" 2>&1 || fail "TLS 1.2 handshake: $(tail -5 "$T/s12")"
grep -q "Compression: NONE" "$T/s12" || fail "compression: $(grep -i compression "$T/s12")"
pass "HTTPS: health 200 over HTTP/1.1 with HSTS; TLS 1.1 refused, 1.2 taken, no compression"

# Plain HTTP to the TLS port: a redirect to https, not the API.
code=$(curl -s -o "$T/plain" -D "$T/plain.h" -w '%{http_code}' "http://127.0.0.1:$PORT/health") ||
    code=000
[ "$code" = 301 ] || fail "plain HTTP got $code: $(cat "$T/plain.h" "$T/plain")"
grep -qi "^location: https://127.0.0.1:$PORT/" "$T/plain.h" || fail "redirect: $(cat "$T/plain.h")"
grep -q status "$T/plain" && fail "plain HTTP got the API's reply"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"username":"eve","password":"eve-password-1"}' "http://127.0.0.1:$PORT/register") || code=000
[ "$code" = 301 ] || fail "plain HTTP POST got $code"
pass "plain HTTP to the TLS port: 301 to https://, no API reply"

# A real smagent over TLS.
register alice alice-password-1
login alice alice-password-1
add_agent "Authorization: Bearer $ACCESS" web1
printf '%s\n' "$AGENT_TOKEN" >"$T/token"
chmod 600 "$T/token"
APIDS=
_kill_agents() { for p in $APIDS; do kill -KILL "$p" 2>/dev/null || true; done; }
at_exit _kill_agents
agent() {
    n=$1
    shift
    "$SMAGENT" --token-file "$T/token" --interval 1 --spool "$T/$n.spool" --log-level debug \
        --config /dev/null "$@" >"$T/$n.log" 2>&1 &
    APID=$!
    APIDS="$APIDS $APID"
}
stop_agent() {
    kill -TERM "$APID"
    wait "$APID" || fail "smagent exited $? after SIGTERM"
}
stored() { sql "SELECT count(*) FROM samples" 2>/dev/null; }
have_stored() { [ "$(stored)" -ge "$1" ]; }
agent untrusted --server "$URL"
wait_for "a certificate refusal" log_has "$T/untrusted.log" "certificate"
agent plain --server "http://127.0.0.1:$PORT"
wait_for "the 301" log_has "$T/plain.log" "301"
kill -TERM $APIDS
[ "$(stored)" = 0 ] || fail "samples stored without a trusted certificate: $(stored)"
pass "smagent: an unknown CA is refused, http:// to the TLS port gets 301, nothing stored"
agent trusted --server "$URL" --ca-file "$T/ca.pem"
wait_for "samples stored over TLS" have_stored 2
stop_agent
pass "smagent --ca-file: samples posted over TLS and stored"

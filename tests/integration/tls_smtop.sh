#!/bin/sh
# tls_smtop.sh: smtop's client (client_probe) over HTTPS and WSS to a real smserver with
# TLS: an unknown CA is refused with OpenSSL's reason, --ca-file and the system store
# (SSL_CERT_FILE) are trusted; SIGHUP rotates the server's certificate while the live
# stream stays open; a certificate for another name is then refused by smtop and smagent;
# a bad pair at SIGHUP leaves the old one serving; a name-only certificate is checked
# against the URL's name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/tls_lib.sh"
need openssl
PROBE=$top_builddir/tests/integration/client_probe
[ -x "$PROBE" ] || fail "$PROBE is not built"
unset SMTOP_PASSWORD XDG_STATE_HOME SSL_CERT_FILE
make_tls "$T"
make_cert "$T" next 127.0.0.1 'IP:127.0.0.1,DNS:localhost' 2
make_cert "$T" wrong wrong.example DNS:wrong.example 2
CURL_CA_BUNDLE=$T/ca.pem
export CURL_CA_BUNDLE
cp "$T/srv.pem" "$T/live.pem"
cp "$T/srv.key" "$T/live.key"
start_server --tls-cert "$T/live.pem" --tls-key "$T/live.key"
URL=https://127.0.0.1:$PORT
register alice alice-password-1
login alice alice-password-1
add_agent "Authorization: Bearer $ACCESS" web1
A1=$AGENT_ID
TOKEN=$AGENT_TOKEN
printf 'alice-password-1\n' >"$T/pw"
ST=$T/probe-state
# serial: the serial number of the certificate the server presents now.
serial() {
    openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$T/ca.pem" </dev/null 2>/dev/null |
        openssl x509 -noout -serial
}
file_serial() { openssl x509 -in "$1" -noout -serial; }
# probe ARGS...: one short client_probe run to the first snapshot; output in $T/p.out/err.
probe() {
    rc=0
    "$PROBE" --user alice --password-file "$T/pw" --state-dir "$ST" --seconds 20 \
        --exit-after snapshot-end:1 "$@" >"$T/p.out" 2>"$T/p.err" || rc=$?
}

probe --server "$URL"
[ $rc -eq 1 ] || fail "unknown CA: exit $rc: $(cat "$T/p.out" "$T/p.err")"
grep -q "certificate is refused: unable to get local issuer certificate (a private CA needs --ca-file)" \
    "$T/p.err" || fail "unknown CA message: $(cat "$T/p.err")"
ls "$ST"/*.refresh >/dev/null 2>&1 && fail "a token was stored after a refused certificate"
probe --server "$URL" --ca-file "$T/ca.pem"
[ $rc -eq 0 ] && grep -q "^login password" "$T/p.out" || fail "--ca-file: $(cat "$T/p.out" "$T/p.err")"
probe --server "https://localhost:$PORT"
[ $rc -eq 1 ] || fail "localhost without the CA: exit $rc"
SSL_CERT_FILE=$T/ca.pem probe --server "https://localhost:$PORT"
[ $rc -eq 0 ] && grep -q "^agent $A1 web1" "$T/p.out" ||
    fail "system store (SSL_CERT_FILE): $(cat "$T/p.out" "$T/p.err")"
# A CA file that cannot be read: said at the start.
probe --server "$URL" --ca-file "$T/nosuch.pem"
[ $rc -eq 1 ] && grep -q "$T/nosuch.pem: No such file or directory" "$T/p.err" ||
    fail "missing CA file: exit $rc: $(cat "$T/p.err")"
# smtop itself, with ca_file from its settings file.
printf 'ca_file = %s\n' "$T/ca.pem" >"$T/smtop.conf"
rc=0
XDG_STATE_HOME=$T/xdg "$SMTOP" --config "$T/smtop.conf" --server "$URL" --user alice \
    --password-file "$T/pw" -b -n 1 >"$T/top.out" 2>"$T/top.err" || rc=$?
[ $rc -eq 0 ] && grep -q "web1" "$T/top.out" || fail "smtop with ca_file: exit $rc: $(cat "$T/top.err")"
pass "smtop: unknown CA refused with the reason; --ca-file, ca_file and the system store trusted"

# The live stream over WSS, kept open across a certificate rotation.
"$PROBE" --server "$URL" --ca-file "$T/ca.pem" --user alice --password-file "$T/pw" \
    --state-dir "$ST" --seconds 60 >"$T/live" 2>"$T/live.err" &
P1=$!
_kill_probe() { kill "$P1" 2>/dev/null || true; }
at_exit _kill_probe
# lines FILE PATTERN: how many lines of FILE match.
lines() { n=$(grep -c -E -- "$2" "$1" 2>/dev/null) || n=0; echo "$n"; }
has_lines() { [ "$(lines "$1" "$2")" -ge "$3" ]; }
wait_for "the stream live" has_lines "$T/live" "^state live" 1
[ "$(post_once "$TOKEN")" = 200 ] || fail "ingest over TLS"
wait_for "a live sample over WSS" has_lines "$T/live" "^sample $A1 " 1
[ "$(serial)" = "$(file_serial "$T/srv.pem")" ] || fail "not serving srv.pem"
cp "$T/next.pem" "$T/live.pem"
cp "$T/next.key" "$T/live.key"
kill -HUP "$SM_PID"
wait_for "the reload" log_has "$SM_LOG" "SIGHUP: reloaded the TLS certificate"
[ "$(serial)" = "$(file_serial "$T/next.pem")" ] || fail "new handshakes do not get next.pem"
[ "$(post_once "$TOKEN")" = 200 ] || fail "ingest after the reload"
wait_for "a sample after the reload" has_lines "$T/live" "^sample $A1 " 2
[ "$(lines "$T/live" "^state (connecting|reconnecting)")" -le 1 ] ||
    fail "the stream reconnected: $(cat "$T/live")"
pass "SIGHUP: new handshakes get the new certificate; the open WSS stream keeps going"

# A bad pair at SIGHUP: refused, the previous certificate still served.
cp "$T/wrong.key" "$T/live.key"
kill -HUP "$SM_PID"
wait_for "the refusal" log_has "$SM_LOG" "does not match the certificate $T/live.pem; still serving"
[ "$(serial)" = "$(file_serial "$T/next.pem")" ] || fail "the bad pair replaced the good one"
kill -0 "$SM_PID" || fail "smserver died on a bad SIGHUP pair"
pass "SIGHUP with a mismatched key: refused, the previous certificate still served"

# A certificate for another name (trusted CA): refused by smtop and by smagent.
cp "$T/wrong.pem" "$T/live.pem"
cp "$T/wrong.key" "$T/live.key"
kill -HUP "$SM_PID"
wait_for "the second reload" has_lines "$SM_LOG" "SIGHUP: reloaded the TLS certificate" 2
probe --server "$URL" --ca-file "$T/ca.pem"
[ $rc -eq 1 ] && grep -q "certificate is refused: IP address mismatch" "$T/p.err" ||
    fail "wrong name: exit $rc: $(cat "$T/p.err")"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
"$SMAGENT" --token-file "$T/token" --interval 1 --spool "$T/spool" --config /dev/null \
    --server "$URL" --ca-file "$T/ca.pem" >"$T/agent.log" 2>&1 &
AP=$!
_kill_agent() { kill "$AP" 2>/dev/null || true; }
at_exit _kill_agent
wait_for "smagent's refusal" log_has "$T/agent.log" "certificate"
kill -TERM "$AP"
wait "$AP" || true
grep -q "subject name" "$T/agent.log" || fail "smagent, wrong name: $(cat "$T/agent.log")"
pass "a certificate for another name: smtop and smagent refuse it"

# A certificate for the name only (no IP): the name of the URL is checked, also on the
# connections made to the address learnt from the first one.
make_cert "$T" name localhost DNS:localhost 2
cp "$T/name.pem" "$T/live.pem"
cp "$T/name.key" "$T/live.key"
kill -HUP "$SM_PID"
wait_for "the third reload" has_lines "$SM_LOG" "SIGHUP: reloaded the TLS certificate" 3
probe --server "https://localhost:$PORT" --ca-file "$T/ca.pem"
[ $rc -eq 0 ] && grep -q "^agent $A1 web1" "$T/p.out" || fail "by name: $(cat "$T/p.err")"
pass "a certificate for localhost only: https://localhost is verified by its name"
kill -TERM "$P1"
wait "$P1" || true
stop_server

#!/bin/sh
# agent_https.sh: smagent verifies TLS certificates (a server signed by an unknown CA is
# refused; --ca-file trusts a private CA) and never follows a redirect. The responder is
# fake_ingest.py (it can redirect); tls_server.sh and tls_smtop.sh use smserver's own TLS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
need openssl
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is not installed"
FAKE=$top_srcdir/tests/integration/fake_ingest.py

PIDS=
_kill_all() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done; }
at_exit _kill_all
printf 'fake-token\n' >"$T/token"
chmod 600 "$T/token"

# A private CA and a server certificate for 127.0.0.1 signed by it.
make_tls "$T"

# start_fake NAME MODE [tls]: sets FURL.
start_fake() {
    if [ "${3:-}" = tls ]; then
        FAKE_TLS_CERT=$T/srv.pem FAKE_TLS_KEY=$T/srv.key "$PY" "$FAKE" "$2" "$T/$1.port" "$T/$1.req" &
        scheme=https
    else
        "$PY" "$FAKE" "$2" "$T/$1.port" "$T/$1.req" &
        scheme=http
    fi
    PIDS="$PIDS $!"
    wait_for "the responder" test -s "$T/$1.port"
    FURL=$scheme://127.0.0.1:$(cat "$T/$1.port")
}
# agent NAME ARGS...: run smagent at 1 s, logging to $T/NAME.log; sets APID.
agent() {
    n=$1
    shift
    "$SMAGENT" --token-file "$T/token" --interval 1 --spool "$T/$n.spool" --log-level debug \
        "$@" >"$T/$n.log" 2>&1 &
    APID=$!
    PIDS="$PIDS $APID"
}
stop() {
    kill -TERM "$APID"
    wait "$APID" || fail "smagent exited $? after SIGTERM"
}

start_fake tls ok tls
agent untrusted --server "$FURL"
wait_for "a certificate refusal" log_has "$T/untrusted.log" "certificate"
stop
log_has "$T/tls.req" '"status"' && fail "a request went through without a trusted certificate"
ls "$T"/untrusted.spool/seg-* >/dev/null 2>&1 || fail "samples were not spooled"
pass "an unknown CA is refused and the samples are kept"

agent trusted --server "$FURL" --ca-file "$T/ca.pem"
wait_for "delivery over https" log_has "$T/tls.req" '"status": 200'
stop
pass "--ca-file trusts a private CA"

start_fake redir redirect
agent redirected --server "$FURL"
wait_for "the 307" log_has "$T/redirected.log" "HTTP 307"
stop
log_has "$T/redir.req" '/elsewhere' && fail "the redirect was followed"
pass "redirects are not followed"

#!/bin/sh
# agent_nocurl.sh: a plain-http smagent maps neither libcurl nor any TLS library (it posts
# with lib/http_client); https loads libcurl when asked for and delivers; SIGHUP switches
# http -> https -> http; an https URL with no loadable libcurl is a clear error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
need openssl
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is not installed"
[ -r /proc/self/maps ] || skip "no /proc/PID/maps"
FAKE=$top_srcdir/tests/integration/fake_ingest.py

PIDS=
_kill_all() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done; }
at_exit _kill_all
printf 'fake-token\n' >"$T/token"
chmod 600 "$T/token"

make_tls "$T"

"$PY" "$FAKE" ok "$T/plain.port" "$T/plain.req" &
PIDS="$PIDS $!"
FAKE_TLS_CERT=$T/srv.pem FAKE_TLS_KEY=$T/srv.key "$PY" "$FAKE" ok "$T/tls.port" "$T/tls.req" &
PIDS="$PIDS $!"
wait_for "the http responder" test -s "$T/plain.port"
wait_for "the https responder" test -s "$T/tls.port"
HURL=http://127.0.0.1:$(cat "$T/plain.port")
SURL=https://127.0.0.1:$(cat "$T/tls.port")

count200() { grep -c '"status": 200' "$1" 2>/dev/null || true; }
delivered() { c=$(count200 "$1"); [ "${c:-0}" -ge "$2" ]; }
# The shared objects a process maps (libcurl, libssl, libcrypto, libgnutls...).
tls_libs() { grep -oE 'lib(curl|ssl|crypto|gnutls|nss3)[^/ ]*\.so[.0-9]*' "/proc/$1/maps" | sort -u; }

printf 'server = %s\nca_file = %s\ninterval = 1\nlog_level = debug\n' "$HURL" "$T/ca.pem" \
    >"$T/smagent.conf"
"$SMAGENT" --config "$T/smagent.conf" --token-file "$T/token" --spool "$T/spool" \
    >"$T/agent.log" 2>&1 &
APID=$!
PIDS="$PIDS $APID"
wait_for "delivery over http" delivered "$T/plain.req" 2
libs=$(tls_libs "$APID")
[ -z "$libs" ] || fail "a plain-http agent maps: $libs"
grep -q 'libc\.so' "/proc/$APID/maps" || fail "the maps check reads nothing (no libc in the maps)"
pass "a plain-http agent delivers and maps no libcurl or TLS library"

# http -> https on SIGHUP: libcurl is loaded then, and the samples arrive.
printf 'server = %s\nca_file = %s\ninterval = 1\nlog_level = debug\n' "$SURL" "$T/ca.pem" \
    >"$T/smagent.conf"
kill -HUP "$APID"
wait_for "delivery over https after SIGHUP" delivered "$T/tls.req" 2
tls_libs "$APID" | grep -q libcurl || fail "an https agent does not map libcurl?"
pass "SIGHUP from http to https loads libcurl and delivers"

# https -> http.
n=$(count200 "$T/plain.req")
printf 'server = %s\ninterval = 1\nlog_level = debug\n' "$HURL" >"$T/smagent.conf"
kill -HUP "$APID"
wait_for "delivery over http again" delivered "$T/plain.req" $((n + 2))
pass "SIGHUP from https back to http delivers"

# No loadable libcurl: an https URL fails clearly at start; a reload to https keeps http.
kill -TERM "$APID"
wait "$APID" || fail "smagent exited $? after SIGTERM"
SM_LIBCURL=libsm-no-such-curl.so.4 "$SMAGENT" --server "$SURL" --token-file "$T/token" \
    --spool "$T/spool2" --interval 1 >"$T/nocurl.log" 2>&1 &
NPID=$!
PIDS="$PIDS $NPID"
wait_for "smagent to give up" sh -c "! kill -0 $NPID 2>/dev/null"
wait "$NPID" && fail "smagent ran with an https URL and no libcurl"
grep -q "https needs libcurl" "$T/nocurl.log" || fail "unclear error: $(cat "$T/nocurl.log")"
pass "an https URL without a loadable libcurl is a clear error"

printf 'server = %s\ninterval = 1\nlog_level = debug\n' "$HURL" >"$T/smagent.conf"
SM_LIBCURL=libsm-no-such-curl.so.4 "$SMAGENT" --config "$T/smagent.conf" \
    --token-file "$T/token" --spool "$T/spool3" >"$T/agent3.log" 2>&1 &
APID=$!
PIDS="$PIDS $APID"
n=$(count200 "$T/plain.req")
wait_for "delivery over http" delivered "$T/plain.req" $((n + 1))
printf 'server = %s\ninterval = 1\nlog_level = debug\n' "$SURL" >"$T/smagent.conf"
kill -HUP "$APID"
wait_for "the reload error" log_has "$T/agent3.log" "https needs libcurl"
n=$(count200 "$T/plain.req")
wait_for "delivery over http to go on" delivered "$T/plain.req" $((n + 2))
kill -TERM "$APID"
wait "$APID" || fail "smagent exited $? after SIGTERM"
pass "a reload to https without libcurl keeps sending over http"

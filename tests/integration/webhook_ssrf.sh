#!/bin/sh
# webhook_ssrf.sh: a webhook or Telegram channel cannot make smserver reach its own
# loopback, the cloud metadata address or a private network (server-side request
# forgery) unless webhook_allow_private says so: refused when the channel is made,
# and again at delivery on the address libcurl connects to; redirects are not followed
# and no proxy from the environment is used. The receiver is a real HTTP server on
# 127.0.0.1; the names used resolve without a network (localhost, *.localhost).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
J='Content-Type: application/json'
RLOG=$T/received
PLOG=$T/proxied
: >"$RLOG"
: >"$PLOG"
PIDS=

# receiver LOG PORTFILE: a webhook_receiver.py on a free port (written to PORTFILE).
receiver() {
    "$PY" "$top_srcdir/tests/integration/webhook_receiver.py" "$1" --port-file "$2" \
        </dev/null >/dev/null 2>&1 &
    PIDS="$PIDS $!"
    i=0
    while [ ! -s "$2" ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || fail "the webhook receiver did not start"
        sleep 0.1
    done
}
stop_receivers() { for p in $PIDS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
at_exit stop_receivers
receiver "$RLOG" "$T/rport"
RPORT=$(cat "$T/rport")
receiver "$PLOG" "$T/pport" # stands in for a proxy: it must see nothing
PPORT=$(cat "$T/pport")

# received PATH: how many requests the receiver got at PATH.
received() { grep -c "\"path\": \"$1\"" "$RLOG" || true; }
received_at_least() { [ "$(received "$1")" -ge "$2" ]; }

conf() { printf '%s\n' "telegram_api_base = http://127.0.0.1:$RPORT/tg" "$@" >"$T/server.conf"; }
# Every proxy variable libcurl honours points at the fake proxy.
run() {
    http_proxy=http://127.0.0.1:$PPORT HTTPS_PROXY=http://127.0.0.1:$PPORT \
        https_proxy=http://127.0.0.1:$PPORT ALL_PROXY=http://127.0.0.1:$PPORT \
        all_proxy=http://127.0.0.1:$PPORT start_server --config "$T/server.conf" --log-level debug
}
channel() { # NAME URL: POST a webhook channel
    req POST /alerts/channels -H "$AA" -H "$J" \
        -d "{\"name\":\"$1\",\"type\":\"webhook\",\"url\":\"$2\"}"
}
tg_channel() {
    req POST /alerts/channels -H "$AA" -H "$J" \
        -d "{\"name\":\"$1\",\"type\":\"telegram\",\"chat_id\":\"7\",\"bot_token\":\"1:abc\"}"
}

# ---- a bad webhook_allow_private is a clear start-up error, exit 2.
for bad in 'maybe:maybe: not a numeric' '10.1.2.3/8:10.1.2.3/8: bits are set' \
    '10.0.0.0/33:10.0.0.0/33: the prefix length must be a number from 0 to 32' '127.0.0.1, localhost:localhost: not a numeric' \
    '0177.0.0.1:0177.0.0.1: not a numeric'; do
    conf "webhook_allow_private = ${bad%%:*}"
    rc=0
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --config "$T/server.conf" \
        >"$T/out" 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "webhook_allow_private = ${bad%%:*}: exit $rc, want 2"
    grep -qF "webhook_allow_private: ${bad#*:}" "$T/out" ||
        fail "webhook_allow_private = ${bad%%:*}: $(cat "$T/out")"
done
pass "a bad webhook_allow_private stops the start with exit 2"

# ---- by default: refused when the channel is made, 400 naming the field.
conf
run
register alice 'alice password'
login alice 'alice+password'
AA="Authorization: Bearer $ACCESS"
for u in "http://127.0.0.1:$RPORT/hook|127.0.0.1 (loopback)" \
    "http://localhost:$RPORT/hook|(loopback)" \
    "http://hooks.localhost:$RPORT/hook|(loopback)" \
    "http://[::1]:$RPORT/hook|::1 (loopback)" \
    "http://[::ffff:127.0.0.1]:$RPORT/hook|::ffff:127.0.0.1 (loopback)" \
    "http://0.0.0.0:$RPORT/hook|0.0.0.0 (unspecified)" \
    "http://2130706433:$RPORT/hook|127.0.0.1 (loopback)" \
    "http://0177.0.0.1:$RPORT/hook|127.0.0.1 (loopback)" \
    "http://0x7f.1:$RPORT/hook|127.0.0.1 (loopback)" \
    "http://user:pw@127.1:$RPORT/hook|127.0.0.1 (loopback)" \
    "https://127.0.0.1:$RPORT/|127.0.0.1 (loopback)" \
    "http://169.254.169.254/latest/meta-data/|169.254.169.254 (link-local)" \
    "http://[fe80::1%25lo]:$RPORT/|fe80::1 (link-local)" \
    "http://10.0.0.1/|10.0.0.1 (private)" \
    "http://172.16.5.4/|172.16.5.4 (private)" \
    "http://192.168.1.1/|192.168.1.1 (private)" \
    "http://100.64.0.1/|100.64.0.1 (shared" \
    "http://[fd00::1]/|fd00::1 (private)" \
    "http://224.0.0.1/|224.0.0.1 (multicast)" \
    "http://[ff02::1]/|ff02::1 (multicast)" \
    "http://240.0.0.1/|240.0.0.1 (reserved)" \
    "http://localhost.:$RPORT/hook|url: "; do
    channel c "${u%|*}"
    CASE="create ${u%|*}" expect 400 '"detail":"url: '
    CASE="create ${u%|*}" expect 400 "${u#*|}"
done
grep -q pw "$T/body" && fail "a refusal quotes the URL's password"
tg_channel tg
expect 400 '"detail":"telegram_api_base: the host resolves to 127.0.0.1 (loopback)'
channel public http://192.0.2.1:9/hook # a documentation address: public, never connected
expect 201 '"secret"'
[ "$(wc -l <"$RLOG")" -eq 0 ] || fail "making channels sent something: $(cat "$RLOG")"
pass "a channel to a loopback, link-local, private or multicast address is refused"
stop_server

# ---- allowed on purpose: delivered, but no redirect followed and no proxy used.
conf 'webhook_allow_private = 127.0.0.0/8, ::1   # the local receivers'
run
channel local "http://127.0.0.1:$RPORT/hook"
expect 201
LOCAL=$(field id)
channel named "http://hooks.localhost:$RPORT/named"
expect 201
NAMED=$(field id)
channel redir "http://2130706433:$RPORT/redirect"
expect 201
REDIR=$(field id)
tg_channel tg
expect 201
TG=$(field id)
channel meta http://169.254.169.254/latest/meta-data/
CASE="not in the list" expect 400 'url: the host resolves to 169.254.169.254 (link-local)'
for ch in $LOCAL $NAMED $REDIR $TG; do
    req POST "/alerts/channels/$ch/test" -H "$AA"
    expect 202
done
wait_for "the test to 127.0.0.1" received_at_least /hook 1
wait_for "the test to hooks.localhost" received_at_least /named 1
wait_for "the test to the redirecting receiver" received_at_least /redirect 1
wait_for "the Telegram test" received_at_least /tg/bot1:abc/sendMessage 1
wait_for "the redirect given up" log_has "$SM_LOG" "channel $REDIR: giving up"
[ "$(received /redirected)" -eq 0 ] || fail "a redirect was followed"
[ "$(wc -l <"$PLOG")" -eq 0 ] || fail "a proxy from the environment was used: $(cat "$PLOG")"
pass "allowed networks are delivered to; no redirect, no proxy"
stop_server

# ---- the allow list taken away: the same channels are refused at delivery.
conf
run
BEFORE=$(wc -l <"$RLOG")
for ch in $LOCAL $NAMED $TG; do
    req POST "/alerts/channels/$ch/test" -H "$AA"
    expect 202
done
wait_for "the refusal to 127.0.0.1" log_has "$SM_LOG" \
    "channel $LOCAL: not sent: the receiver's address 127.0.0.1 is loopback"
# hooks.localhost is ::1 and 127.0.0.1: both refused, the first one named.
wait_for "the refusal to hooks.localhost" log_has "$SM_LOG" "channel $NAMED: not sent: the receiver's address"
wait_for "the refusal to Telegram" log_has "$SM_LOG" \
    "channel $TG: not sent: the receiver's address 127.0.0.1 is loopback"
wait_for "the refusals counted" log_has "$SM_LOG" "channel $TG: giving up after 1 attempts"
[ "$(wc -l <"$RLOG")" -eq "$BEFORE" ] || fail "a refused receiver got a request: $(tail -n 3 "$RLOG")"
pass "a channel made while allowed is refused at delivery once it is not"
stop_server

# ---- yes: everything allowed.
conf 'webhook_allow_private = yes'
run
channel meta2 "http://[::ffff:127.0.0.1]:$RPORT/yes"
expect 201
req POST "/alerts/channels/$(field id)/test" -H "$AA"
expect 202
wait_for "the test with yes" received_at_least /yes 1
pass "webhook_allow_private = yes allows every address"
stop_server
grep -qF "1:abc" "$SM_LOG" && fail "the bot token is in the log"
[ "$(wc -l <"$PLOG")" -eq 0 ] || fail "a proxy from the environment was used"
exit 0

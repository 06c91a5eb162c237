#!/bin/sh
# channel_check_slow.sh: making a webhook channel resolves its host on a worker (the SSRF
# check, notify_target_check), which a slow name holds for up to 5 s. Only one such check
# runs at a time, so slow names hold at most one of the two workers: while a 3 s lookup is
# in flight, a second channel is refused at once (429, Retry-After, naming the field), and
# other requests that need a worker are answered. Runs in a private user, mount and
# network namespace: /etc/resolv.conf is replaced (a bind mount) by one naming
# slow_dns.py on 127.0.0.1, which answers every name with 127.0.0.1 after 3 s.
if [ -z "${SM_CHANNEL_DNS_NS:-}" ]; then
    if ! command -v unshare >/dev/null 2>&1 || ! unshare -rmn true 2>/dev/null; then
        echo "SKIP: no user, mount and network namespaces here (unshare -rmn)" >&2
        exit 77
    fi
    SM_CHANNEL_DNS_NS=1 exec unshare -rmn sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

"$PY" "$top_srcdir/tests/integration/slow_dns.py" 3 "$T/dns.ready" >"$T/dns.log" 2>&1 &
DNS=$!
stop_dns() { kill "$DNS" 2>/dev/null || true; }
at_exit stop_dns
wait_for "the DNS server" test -s "$T/dns.ready"
printf 'nameserver 127.0.0.1\noptions timeout:20 attempts:1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || skip "cannot bind-mount /etc/resolv.conf"

start_server
register alice 'alice password'
login alice 'alice+password'
AA="Authorization: Bearer $ACCESS"
J='Content-Type: application/json'

# The first channel's check waits on the slow name.
curl -s -o "$T/slow.body" -w '%{http_code}' -H "$AA" -H "$J" \
    -d '{"name":"slow","type":"webhook","url":"http://slow1.test:9/hook"}' \
    "$URL/alerts/channels" >"$T/slow.code" &
SLOW=$!
wait_for "the first check's lookup" log_has "$T/dns.log" "query from"
# While it waits: a second channel is refused at once, and a worker still answers.
req POST /alerts/channels -H "$AA" -H "$J" \
    -d '{"name":"second","type":"webhook","url":"http://slow2.test:9/hook"}'
CASE="a second check meanwhile" expect 429 '"detail":"url: another channel'
grep -qi '^retry-after: 5' "$T/headers" || fail "the 429 has no Retry-After: $(cat "$T/headers")"
req GET /agents -H "$AA"
CASE="a worker meanwhile" expect 200
kill -0 "$SLOW" 2>/dev/null || fail "the first check was not in flight any more (the DNS server answers after 3 s)"
pass "while one address check waits on a slow name: a second is refused (429), a worker answers"

wait "$SLOW" || true
[ "$(cat "$T/slow.code")" = 400 ] || fail "the slow check: $(cat "$T/slow.code") $(cat "$T/slow.body")"
grep -q '"detail":"url: the host resolves to 127.0.0.1 (loopback)' "$T/slow.body" ||
    fail "the slow check: $(cat "$T/slow.body")"
# Once it is over, the next check runs.
req POST /alerts/channels -H "$AA" -H "$J" \
    -d '{"name":"after","type":"webhook","url":"http://192.0.2.1:9/hook"}'
CASE="a check after" expect 201
pass "the slow check ends with its own answer; the next one runs"
stop_server

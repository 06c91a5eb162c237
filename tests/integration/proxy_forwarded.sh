#!/bin/sh
# proxy_forwarded.sh: smserver behind a real haproxy running share/examples/haproxy.cfg
# (its ports replaced; "option forwardfor" in it), with trusted_proxies = 127.0.0.1.
# Clients reach the balancer from different loopback addresses (curl --interface): the
# login limiter counts each client apart, not the balancer's one address for all of
# them; an X-Forwarded-For a client makes up is not believed, through the balancer or
# sent straight to the server; /metrics' loopback rule sees the client; a trusted
# peer's header that is not a list of addresses is a 400 naming it; bad settings exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
need haproxy curl
[ -r "$top_srcdir/share/examples/haproxy.cfg" ] || fail "no share/examples/haproxy.cfg"
grep -q '^ *option forwardfor' "$top_srcdir/share/examples/haproxy.cfg" ||
    fail "the example haproxy.cfg does not send X-Forwarded-For"

printf 'trusted_proxies = 127.0.0.1\n' >"$T/smserver.conf"
start_server --config "$T/smserver.conf"
SM_URL=$URL
SM_PORT=${URL##*:}

# The shipped example with this test's ports; its second instance is a closed port.
LB_PORT=$(free_port)
DEAD_PORT=$(free_port)
sed -e "s/127\.0\.0\.1:8001/127.0.0.1:$LB_PORT/" -e "s/127\.0\.0\.1:8101/127.0.0.1:$SM_PORT/" \
    -e "s/127\.0\.0\.1:8102/127.0.0.1:$DEAD_PORT/" "$top_srcdir/share/examples/haproxy.cfg" \
    >"$T/haproxy.cfg"
haproxy -c -q -f "$T/haproxy.cfg" || fail "haproxy refuses the example configuration"
haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
LB_PID=$!
_kill_lb() { kill -KILL "$LB_PID" 2>/dev/null || true; }
at_exit _kill_lb
LB_URL=http://127.0.0.1:$LB_PORT
URL=$LB_URL
up() {
    req GET /health
    [ "$CODE" = 200 ]
}
wait_for "the balancer to answer /health" up

URL=$SM_URL
register alice 'correct horse battery'
URL=$LB_URL

# login_from ADDR PASSWORD [CURL-ARGS...]: POST /token through the balancer from ADDR.
login_from() {
    a=$1 pw=$2
    shift 2
    req POST /token --interface "$a" -d "username=alice&password=$pw" "$@"
}
# Five failures from 127.0.0.2 (the per-user-and-address limit); the sixth is refused.
for i in 1 2 3 4 5; do
    login_from 127.0.0.2 wrong
    CASE="failure $i from 127.0.0.2" expect 401
done
login_from 127.0.0.2 'correct horse battery'
CASE="the right password from 127.0.0.2 after 5 failures" expect 429
grep -qi '^retry-after:' "$T/headers" || fail "429 without Retry-After"
# Another client of the same balancer is not locked out with it.
login_from 127.0.0.3 'correct horse battery'
CASE="alice from 127.0.0.3 through the balancer" expect 200
pass "through haproxy the login limiter counts each client, not the balancer"

# A client's own X-Forwarded-For is not believed: haproxy appends the address it saw
# and smserver reads the rightmost untrusted entry.
login_from 127.0.0.2 'correct horse battery' -H 'X-Forwarded-For: 127.0.0.9'
CASE="127.0.0.2 claiming 127.0.0.9 through the balancer" expect 429
# Straight to the server from an address that is not a trusted proxy: ignored.
URL=$SM_URL
login_from 127.0.0.2 'correct horse battery' -H 'X-Forwarded-For: 127.0.0.9'
CASE="127.0.0.2 claiming 127.0.0.9 straight to the server" expect 429
pass "an X-Forwarded-For made up by the client is not believed"

# /metrics: loopback only. The balancer is on loopback; the client it names is not.
req GET /metrics
CASE="/metrics from 127.0.0.1" expect 200
req GET /metrics -H 'X-Forwarded-For: 203.0.113.7'
CASE="/metrics for a client at 203.0.113.7 behind a trusted proxy" expect 403 'loopback'
URL=$LB_URL
req GET /metrics --interface 127.0.0.2
CASE="/metrics through the balancer from 127.0.0.2" expect 200
pass "/metrics judges the client the balancer names"

# A trusted peer's header that is not a list of numeric addresses, or is too long.
URL=$SM_URL
for bad in 'junk' '203.0.113.7:4000' '203.0.113.7,' "$(printf '%0600d' 0)"; do
    req GET /health -H "X-Forwarded-For: $bad"
    CASE="X-Forwarded-For: $(printf '%.20s' "$bad")" expect 400 'X-Forwarded-For'
done
# Two header lines are one list: the last line is the nearest proxy's.
req GET /metrics -H 'X-Forwarded-For: 127.0.0.5' -H 'X-Forwarded-For: 203.0.113.7'
CASE="two X-Forwarded-For lines" expect 403
req GET /health
CASE="the server after bad headers" expect 200
pass "a bad X-Forwarded-For from a trusted proxy: 400 naming the header"
stop_server

# Bad settings: exit 2 with the setting and the item named.
for v in 'yes' '300.1.1.1' '10.0.0.1/40'; do
    printf 'trusted_proxies = %s\n' "$v" >"$T/bad.conf"
    rc=0
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --config "$T/bad.conf" \
        >"$T/err" 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "trusted_proxies = $v: exit $rc, expected 2"
    grep -q 'trusted_proxies' "$T/err" || fail "trusted_proxies = $v: $(cat "$T/err")"
done
pass "bad trusted_proxies: exit 2 naming the setting"

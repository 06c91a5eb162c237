#!/bin/sh
# agent_dns.sh: a slow DNS server does not stall smagent's schedule. The name of the
# server URL is looked up on glibc's resolver thread (lib/http_client.c), so while a
# lookup takes 3 s the agent keeps sampling every second: the samples reach a real
# smserver one second apart, with no gap and no "fell behind the schedule".
# Runs in a private user, mount and network namespace: /etc/resolv.conf is replaced (a
# bind mount) by one naming slow_dns.py on 127.0.0.1.
if [ -z "${SM_AGENT_DNS_NS:-}" ]; then
    if ! command -v unshare >/dev/null 2>&1 || ! unshare -rmn true 2>/dev/null; then
        echo "SKIP: no user, mount and network namespaces here (unshare -rmn)" >&2
        exit 77
    fi
    SM_AGENT_DNS_NS=1 exec unshare -rmn sh "$0" "$@"
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
add_agent "Authorization: Bearer $ACCESS" web1
printf '%s\n' "$AGENT_TOKEN" >"$T/token"
chmod 600 "$T/token"
"$SMAGENT" --server "http://slowdns.test:$PORT" --token-file "$T/token" --interval 1 \
    --spool "$T/spool" --log-level debug 2>"$T/agent.log" &
AGENT=$!
stop_agent() { kill "$AGENT" 2>/dev/null || true; }
at_exit stop_agent

stored() { [ "$(sql "select count(*) from samples")" -ge "$1" ]; }
WAIT_TRIES=400 wait_for "10 samples stored" stored 10
log_has "$T/dns.log" "query from" || fail "the agent did not ask the DNS server"
log_has "$T/agent.log" "fell behind" && fail "the agent's schedule stalled: $(cat "$T/agent.log")"
sql "select ts from samples order by ts" >"$T/ts"
"$PY" - "$T/ts" <<'PY' || fail "samples are not one second apart: $(tr '\n' ' ' <"$T/ts")"
import sys
ts = [int(x) for x in open(sys.argv[1]).read().split()]
gaps = [b - a for a, b in zip(ts, ts[1:])]
sys.exit(0 if gaps and all(500 <= g <= 1500 for g in gaps) else 1)
PY
pass "a 3 s name lookup: $(wc -l <"$T/ts") samples one second apart, the schedule kept"

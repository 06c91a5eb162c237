#!/bin/sh
# history_series.sh: in server mode the history view lists every series the server
# stores for the agent (GET /history/{id}/series), not only those of the samples seen
# since smtop started: a filesystem and an interface that only an older sample carried.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
unset SMTOP_PASSWORD

start_server
register alice alice-password-1
login alice alice-password-1
add_agent "Authorization: Bearer $ACCESS" web1
printf '%s\n' "$AGENT_TOKEN" >"$T/web1.agent"
now=$(date +%s)
cat >"$T/batch.json" <<EOF
{"host": {"hostname": "web1", "os": "Debian GNU/Linux 12", "kernel": "6.1.0", "arch": "x86_64",
          "cpu_model": "test", "cores": 2, "boot_time": 1732400000, "agent_version": "0.1.0"},
 "samples": [{"timestamp": $((now - 600)), "seq": 0,
   "cpu": {"usage_percent": 40.0, "per_core_usage": [40.0, 40.0]},
   "disk": {"partitions": [{"device": "/dev/vdb1", "mountpoint": "/old", "fstype": "ext4",
            "total": 100, "used": 42, "free": 58, "percent": 42.0}]},
   "network": {"bytes_sent": 0, "bytes_recv": 0,
               "interfaces": [{"name": "eth9", "rx_bytes_per_s": 100, "tx_bytes_per_s": 50}]}},
  {"timestamp": $now, "seq": 1,
   "cpu": {"usage_percent": 10.0, "per_core_usage": [10.0, 10.0]},
   "memory": {"total": 8000000000, "available": 6000000000, "used": 2000000000, "used_percent": 25.0}}]}
EOF
code=$(curl -s -o "$T/ingest.out" -w '%{http_code}' -H "X-Agent-Token: $(cat "$T/web1.agent")" \
    -H 'Content-Type: application/json' --data-binary @"$T/batch.json" "$URL/ingest")
[ "$code" = 200 ] || fail "ingest: $code $(cat "$T/ingest.out")"
printf 'alice-password-1\n' >"$T/pw"

start_shell 120 40 XDG_STATE_HOME=$T/xdg LANG=C.UTF-8
run_smtop --server "$URL" --user alice --password-file "$T/pw" -d 0.5
wait_for "^web1 "
keys Enter
wait_for "^web1  Debian GNU/Linux 12"
keys g
wait_for "cpu\.usage +last 5m, live"
# Only the older sample had these: they come from the server's list of series.
wait_for "fs\.used_percent\{mount=/old\}"
wait_for "net\.rx_bytes_per_s\{iface=eth9\}"
screen | grep -q "series of agent" && fail "series list error: $(screen)"
pass "the history view lists the series the server stores (an old filesystem and interface)"
keys q
wait_for "EXITED:0"

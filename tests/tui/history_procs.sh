#!/bin/sh
# history_procs.sh: time travel in server mode. Samples with processes are posted for
# past minutes; in the history view `p` puts a time cursor on the last whole minute and
# lists that minute's top processes (a fixture process name), `{` moves it ten minutes
# back to an older snapshot, and once more to a span with none, which the panel says.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
unset SMTOP_PASSWORD

start_server
register alice alice-password-1
login alice alice-password-1
add_agent "Authorization: Bearer $ACCESS" web1
printf '%s\n' "$AGENT_TOKEN" >"$T/web1.agent"
now=$(date +%s)
"$PY" - "$now" >"$T/batch.json" <<'PY'
import json, sys
now = int(sys.argv[1])
def sample(ts, top):
    return {"timestamp": ts, "cpu": {"usage_percent": 30.0, "per_core_usage": [30.0, 30.0]},
            "processes": [{"pid": 4000 + k, "ppid": 1, "user": "web", "state": "R" if k == 0 else "S",
                           "name": top if k == 0 else "helper%d" % k,
                           "cmdline": ("/usr/bin/%s --hot" % top) if k == 0 else "",
                           "cpu_percent": 95.0 if k == 0 else 1.0, "rss_bytes": 104857600,
                           "threads": 3, "start_time": now - 3600} for k in range(10)]}
print(json.dumps({"host": {"hostname": "web1", "os": "Debian GNU/Linux 12", "kernel": "6.1.0",
                           "arch": "x86_64", "cpu_model": "test", "cores": 2,
                           "boot_time": 1732400000, "agent_version": "0.1.0"},
                  "samples": [sample(now - 700, "ancientproc"), sample(now - 100, "fixtureburner"),
                              sample(now, "latestproc")]}))
PY
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
keys 2
wait_for "cpu\.usage +last 1h, live"
screen | grep -q "Processes at" && fail "the panel shows before p: $(screen)"
keys p
wait_for "Processes at [0-9][0-9]:[0-9][0-9] +\(snapshot of [0-9:]+, 10 processes\)"
wait_for "fixtureburner"
screen | grep -q "latestproc" && fail "a later minute's process is shown: $(screen)"
pass "p lists the top processes of the cursor's minute"
keys -l '{'
wait_for "ancientproc"
screen | grep -q "fixtureburner" && fail "the newer snapshot is still shown: $(screen)"
pass "{ moves the cursor ten minutes back, to that minute's snapshot"
keys -l '{'
wait_for "no process snapshot at or before this minute"
keys -l '}}'
wait_for "fixtureburner"
pass "a minute with no snapshot says so; } comes back"
keys p
wait_gone "Processes at"
keys q
wait_for "EXITED:0"

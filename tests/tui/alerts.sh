#!/bin/sh
# alerts.sh: smtop --server shows the server's alerts: a real smserver, a real smagent
# (--interval 1) and a rule made through the API that always holds (cpu.usage > -1, for 0
# s). The fleet view lists the firing alert and marks its host; the host view names it;
# -b and --json frames carry it; deleting the rule makes it go away on screen and in
# the frames. A second rule made while smtop runs appears without a restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
unset SMTOP_PASSWORD

start_server
register alice alice-password-1
login alice alice-password-1
AUTH="Authorization: Bearer $ACCESS"
J='Content-Type: application/json'
add_agent "$AUTH" web1
printf '%s\n' "$AGENT_TOKEN" >"$T/web1.agent"
chmod 600 "$T/web1.agent"
"$SMAGENT" --server "$URL" --token-file "$T/web1.agent" --interval 1 --spool "$T/spool" \
    --foreground >"$T/agent.log" 2>&1 &
AGENT_PID=$!
_kill_agent() { kill "$AGENT_PID" 2>/dev/null || true; }
at_exit _kill_agent

req POST /alerts -H "$AUTH" -H "$J" -d '{"name":"cpu-always","metric":"cpu.usage","op":">",
    "threshold":-1,"for_seconds":0,"severity":"critical"}'
expect 201
RULE=$(field id)
# The server fires on the agent's next sample.
i=0
until req GET /alerts/active -H "$AUTH" && grep -q '"firing"' "$T/body"; do
    i=$((i + 1))
    [ $i -le 200 ] || fail "the rule never fired: $(cat "$T/body")"
    sleep 0.1
done

printf 'alice-password-1\n' >"$T/pw"
SM="$SMTOP --server $URL --user alice --password-file $T/pw"

# 1. Batch frames carry the firing alert.
XDG_STATE_HOME=$T/xdg $SM -b -n 1 >"$T/b1" 2>"$T/b1.err" || fail "smtop -b: $(cat "$T/b1.err")"
grep -Eq '^ALERT critical +firing +cpu-always  web1  cpu.usage = [-0-9.e]+  since ' "$T/b1" ||
    fail "-b frame lacks the alert: $(cat "$T/b1")"
grep -q '^!web1 ' "$T/b1" || fail "-b frame does not mark web1: $(cat "$T/b1")"
XDG_STATE_HOME=$T/xdg $SM --json -n 1 >"$T/j1" 2>"$T/j1.err" || fail "smtop --json: $(cat "$T/j1.err")"
"$PY" - "$T/j1" "$RULE" <<'EOF' || fail "--json frame: $(cat "$T/j1")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
web = [r for r in rows if r["name"] == "web1"][0]
a = web["alerts"]
assert len(a) == 1, a
assert a[0]["rule_id"] == int(sys.argv[2]) and a[0]["state"] == "firing", a
assert a[0]["name"] == "cpu-always" and a[0]["severity"] == "critical", a
assert a[0]["metric"] == "cpu.usage" and a[0]["since"] > 0, a
EOF
pass "-b and --json frames include the firing alert"

# 2. The fleet view: the alerts strip and the marked host; the host view's marker.
start_shell 100 30 XDG_STATE_HOME=$T/xdg LANG=C.UTF-8
run_smtop --server "$URL" --user alice --password-file "$T/pw" -d 0.5
wait_for "ALERTS  1 firing, 0 pending"
wait_for "critical +firing +cpu-always  web1  cpu.usage = "
wait_for "^!web1 +online"
pass "the fleet view lists the alert and marks web1"
keys Enter
wait_for "^web1  ALERT critical: cpu-always \(cpu.usage\)"
keys Escape
wait_for "^!web1 +online"
pass "the host view shows the alert marker"
keys '?'
wait_for "smtop keys"
keys End
wait_for "!NAME +fleet view: an alert of this agent is firing"
keys Escape
wait_for "^!web1 +online"
pass "help explains the alert marks"

# 3. A rule made while smtop runs shows up (stream message or the periodic fetch).
req POST /alerts -H "$AUTH" -H "$J" -d '{"name":"mem-always","metric":"mem.used_percent",
    "op":">","threshold":-1,"for_seconds":0,"severity":"warning"}'
expect 201
RULE2=$(field id)
wait_for "ALERTS  2 firing, 0 pending" 40
wait_for "warning +firing +mem-always  web1  mem.used_percent = "
pass "an alert that fires while smtop runs appears"

# 4. Deleting the rules resolves them: gone from the screen and from -b.
req DELETE "/alerts/$RULE" -H "$AUTH"
expect 200
req DELETE "/alerts/$RULE2" -H "$AUTH"
expect 200
wait_gone "cpu-always|mem-always|ALERTS" 40
wait_for "^web1 +online"
XDG_STATE_HOME=$T/xdg $SM -b -n 1 >"$T/b2" 2>"$T/b2.err" || fail "smtop -b: $(cat "$T/b2.err")"
grep -q '^ALERT' "$T/b2" && fail "-b frame still lists an alert: $(cat "$T/b2")"
grep -q '^web1 ' "$T/b2" || fail "-b frame lost web1: $(cat "$T/b2")"
pass "deleted rules leave the screen and the frames"
keys q
wait_for "EXITED:0"

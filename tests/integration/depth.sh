#!/bin/sh
# depth.sh: host depth (processes, sensors, pressure, cgroups, GPUs) through a real
# server: a sample with every family is stored, its series are listed by
# /history/{id}/series and exported by /metrics, the newest sample keeps its
# processes, alert rules on its series fire; an over-cap or bad sample is a 400 naming
# the field with nothing written; a real smagent --once on this host sends the process
# section and is accepted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
J='Content-Type: application/json'

printf 'metrics_agent_series = true\n' >"$T/server.conf"
start_server --config "$T/server.conf"
register erin 'erin password 1'
login erin 'erin+password+1'
AUTH="Authorization: Bearer $ACCESS"
add_agent "$AUTH" host1
ID=$AGENT_ID
TOK=$AGENT_TOKEN

# The fuzz seed with every section, stamped now.
now=$("$PY" -c 'import time; print(int(time.time()) - 5)')
"$PY" - "$top_srcdir/tests/fuzz/corpus/ingest/depth.json" "$now" >"$T/depth.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["timestamp"] = int(sys.argv[2])
print(json.dumps(s))
PY
req POST /ingest -H "X-Agent-Token: $TOK" -H "$J" --data-binary @"$T/depth.json"
expect 200 '"stored":1'
req GET "/history/$ID/series" -H "$AUTH"
expect 200
"$PY" - "$T/body" <<'PY' || fail "depth series not listed: $(cat "$T/body")"
import json, sys
have = {(s["name"], tuple(sorted(s.get("labels", {}).items()))) for s in json.load(open(sys.argv[1]))["series"]}
want = [
    ("temp.celsius", (("sensor", "coretemp-isa-0000/Package id 0"),)),
    ("fan.rpm", (("sensor", "nct6775-isa-0290/fan2"),)),
    ("psi.cpu.some_avg10", ()),
    ("psi.memory.full_avg10", ()),
    ("psi.io.full_avg10", ()),
    ("cgroup.cpu_percent", (("cgroup", "nginx.service"),)),
    ("cgroup.memory_bytes", (("cgroup", "nginx.service"),)),
    ("cgroup.cpu_percent", (("cgroup", "web"),)),
    ("gpu.busy_percent", (("gpu", "0000:03:00.0"),)),
    ("gpu.memory_used_bytes", (("gpu", "0000:03:00.0"),)),
    ("gpu.celsius", (("gpu", "0000:03:00.0"),)),
    ("gpu.power_watts", (("gpu", "0000:03:00.0"),)),
]
missing = [w for w in want if w not in have]
if missing:
    sys.exit("missing %r" % missing)
# Absent values make no series: psi.cpu.full_avg10 was not sent, the web container no memory.
if ("psi.cpu.full_avg10", ()) in have or ("cgroup.memory_bytes", (("cgroup", "web"),)) in have:
    sys.exit("an absent value made a series")
if any(n.startswith("proc") for n, _ in have):
    sys.exit("processes became series")
PY
req GET "/history/$ID/series?name=temp.celsius&sensor=coretemp-isa-0000/Package%20id%200&start=-1h" -H "$AUTH"
expect 200
[ "$(body 'j["data"][0]["value"]')" = 54 ] || fail "temp.celsius value: $(cat "$T/body")"
pass "a sample with every family is stored; its series are listed with their labels"

req GET /metrics
expect 200
grep -qF 'statusmonitor_agent_temp_celsius{agent_id="'"$ID"'",agent="host1",user="erin",sensor="coretemp-isa-0000/Package id 0"} 54' \
    "$T/body" || fail "temp.celsius in /metrics: $(grep temp "$T/body")"
grep -q '^statusmonitor_agent_psi_memory_full_avg10{.*} 0.75$' "$T/body" ||
    fail "psi in /metrics: $(grep psi "$T/body")"
grep -q '^statusmonitor_agent_cgroup_cpu_percent{.*cgroup="nginx.service"} 12.5$' "$T/body" ||
    fail "cgroup in /metrics: $(grep cgroup "$T/body")"
grep -q '^statusmonitor_agent_gpu_power_watts{.*gpu="0000:03:00.0"} 75.5$' "$T/body" ||
    fail "gpu in /metrics: $(grep gpu "$T/body")"
pass "/metrics exports the depth series"

# The newest sample keeps the processes (the live stream's first snapshot).
latest=$(sql "SELECT sample FROM latest WHERE agent_id = $ID")
printf '%s' "$latest" >"$T/latest.json"
[ "$(json "$T/latest.json" '[p["pid"] for p in j["processes"]]')" = "[4242, 7]" ] ||
    fail "processes in the latest sample: $latest"
[ "$(json "$T/latest.json" 'j["processes"][0]["cmdline"]')" = "nginx: worker process été" ] ||
    fail "command line in the latest sample: $latest"
pass "the latest sample keeps the processes"

# Alert rules on the depth series work as on any other: one on each family fires on
# the next sample; one whose threshold the sample does not pass stays quiet.
rule() { # METRIC THRESHOLD
    "$PY" -c 'import json, sys; print(json.dumps({"name": "depth " + sys.argv[1],
        "metric": sys.argv[1], "op": ">", "threshold": float(sys.argv[2])}))' "$1" "$2" >"$T/rule.json"
    req POST /alerts -H "$AUTH" -H "$J" --data-binary @"$T/rule.json"
    expect 201
    field id
}
R_TEMP=$(rule 'temp.celsius{sensor=coretemp-isa-0000/Package id 0}' 50)
R_PSI=$(rule 'psi.memory.full_avg10' 0.5)
R_CG=$(rule 'cgroup.cpu_percent{cgroup=nginx.service}' 10)
R_GPU=$(rule 'gpu.power_watts{gpu=0000:03:00.0}' 70)
R_QUIET=$(rule 'temp.celsius{sensor=coretemp-isa-0000/Package id 0}' 60)
"$PY" - "$T/depth.json" >"$T/depth2.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["timestamp"] += 2
print(json.dumps(s))
PY
req POST /ingest -H "X-Agent-Token: $TOK" -H "$J" --data-binary @"$T/depth2.json"
expect 200 '"stored":1'
firing() { req GET "/alerts/$1/events" -H "$AUTH" && grep -q '"state":"firing"' "$T/body"; }
for r in $R_TEMP $R_PSI $R_CG $R_GPU; do
    wait_for "rule $r firing" firing "$r"
done
firing "$R_QUIET" && fail "a temperature rule above the sample's value fired: $(cat "$T/body")"
pass "alert rules on temperature, pressure, cgroup and GPU series fire like any other"

# Over a cap, or a bad member, in a batch whose first sample is good: 400 naming the
# field, and nothing of the request written.
before=$(sql "SELECT count(*) FROM samples")
bad() { # NAME PYTHON-EXPR-ON-s WANT
    "$PY" - "$T/depth.json" "$2" >"$T/bad.json" <<'PY'
import copy, json, sys
s = json.load(open(sys.argv[1]))
good = dict(copy.deepcopy(s), timestamp=s["timestamp"] - 1)
exec(sys.argv[2])
print(json.dumps({"samples": [good, s]}))
PY
    req POST /ingest -H "X-Agent-Token: $TOK" -H "$J" --data-binary @"$T/bad.json"
    CASE=$1 expect 400 "$3"
}
bad procs-cap 's["processes"] = [dict(pid=i + 1, name="p") for i in range(65)]' \
    'samples[1]: processes: more than 64 entries'
bad cmdline-cap 's["processes"][0]["cmdline"] = "x" * 512' \
    'samples[1]: processes[0].cmdline: longer than 511 bytes'
bad cgroups-cap 's["cgroups"] = [dict(kind="service", name="u%d.service" % i) for i in range(129)]' \
    'samples[1]: cgroups: more than 128 entries'
bad sensors-cap 's["sensors"] = [dict(kind="temp", chip="c", label="t%d" % i, celsius=1) for i in range(129)]' \
    'samples[1]: sensors: more than 128 entries'
bad gpus-cap 's["gpus"] = [dict(name="g", id=str(i)) for i in range(17)]' \
    'samples[1]: gpus: more than 16 entries'
bad pid-type 's["processes"][1]["pid"] = "7"' 'samples[1]: processes[1].pid: must be a whole number'
bad psi-range 's["pressure"]["io"]["some_avg10"] = 250' \
    'samples[1]: pressure.io.some_avg10: must be a number from 0 to 100'
bad cgroup-dup 's["cgroups"][1]["name"] = "nginx.service"' \
    'samples[1]: cgroups[1]: name \"nginx.service\" appears twice'
[ "$(sql "SELECT count(*) FROM samples")" = "$before" ] || fail "a refused request wrote samples"
pass "over a cap or a bad member: 400 naming the field, nothing written"

# A real agent on this host: the process section is there (top 3 by CPU and top 3 by
# RSS: 3 to 6 entries, kernel threads with no RSS among them maybe), and the server
# takes it.
cat >"$T/agent.conf" <<CONF
processes = 3
CONF
"$SMAGENT" --once -c "$T/agent.conf" >"$T/once.json" || fail "smagent --once failed"
n=$(json "$T/once.json" 'len(j["processes"])')
[ "$n" -ge 3 ] && [ "$n" -le 6 ] || fail "smagent --once with processes = 3 sent $n processes"
json "$T/once.json" 'all(p["pid"] > 0 and p["name"] and p["rss_bytes"] >= 0 for p in j["processes"]) and max(p["rss_bytes"] for p in j["processes"]) > 0' |
    grep -qx True || fail "process entries: $(cat "$T/once.json")"
req POST /ingest -H "X-Agent-Token: $TOK" -H "$J" --data-binary @"$T/once.json"
expect 200 '"stored":1'
printf 'processes = 0\n' >"$T/agent.conf"
"$SMAGENT" --once -c "$T/agent.conf" >"$T/once.json" || fail "smagent --once failed"
grep -q '"processes"' "$T/once.json" && fail "processes = 0 still sends processes"
pass "a real smagent --once sends the process section (and none with processes = 0)"
stop_server

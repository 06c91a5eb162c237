#!/bin/sh
# psutil_ingest.sh: what the original Python agent sends when psutil leaves a field out or
# empty (no cpufreq, no load average, no partitions, no network counters, no swap) is
# stored with that value absent (no point, never 0) and answered 200, one request per
# case of psutil_cases.txt; what is really wrong is still refused with 400 naming the
# field. Then smtop shows such a sample with "-" (or an en dash) where a value is absent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
need setsid
unset SMTOP_PASSWORD XDG_STATE_HOME
XDG_CONFIG_HOME=$T/no-config
export XDG_CONFIG_HOME

start_server
register alice 'alice password'
login alice 'alice+password'
add_agent "Authorization: Bearer $ACCESS" vm1
TOKEN=$AGENT_TOKEN

# Every case, one POST /ingest each, checked in the database after its reply: the
# SQLite file, or on PostgreSQL (suite_pg.sh) the test's database there, through psql.
DB=$SM_STATE/statusmonitor.db
! on_pg || DB="pg:$(pg_db_conninfo "$(pg_db_name "$DB")")"
"$PY" - "$top_srcdir/tests/integration/psutil_cases.txt" "$URL" "$TOKEN" \
    "$DB" "$top_srcdir/tests/integration" <<'PYEOF' ||
import copy, json, sys, time, urllib.error, urllib.request
cases_file, url, token, db_path, here = sys.argv[1:6]
sys.path.insert(0, here)
import smdb

# The original agent's sample from a host that reports everything (psutil on bare metal).
BASE = {
    "cpu": {"usage_percent": 12.5, "per_core_usage": [10.0, 15.0],
            "per_core_freq": [2400.0, 2400.0],
            "freq": {"current": 3000.0, "min": 800.0, "max": 4500.0},
            "load_avg": [0.5, 0.4, 0.3]},
    "memory": {"total": 8000000000, "available": 4000000000, "used_percent": 50.0},
    "disk": {"partitions": [{"device": "/dev/vda1", "mountpoint": "/", "fstype": "ext4",
                             "total": 100, "used": 40, "free": 60, "percent": 40.0}],
             "io": {"read_count": 10, "write_count": 20, "read_bytes": 4096,
                    "write_bytes": 8192, "read_time": 1, "write_time": 2}},
    "network": {"bytes_sent": 1000, "bytes_recv": 2000, "packets_sent": 1,
                "packets_recv": 2, "errin": 0, "errout": 0, "dropin": 0, "dropout": 0},
}

def apply(sample, change):
    change = change.strip()
    if change in ("", "(none)"):
        return
    drop = change.startswith("-")
    path, _, value = change.lstrip("-").partition("=")
    keys = path.split(".")
    node = sample
    for k in keys[:-1]:
        node = node[k]
    if drop:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = json.loads(value)

def split_series(s):
    name, _, rest = s.partition("{")
    labels = rest.rstrip("}") if rest else ""
    return name, labels

class PgDb:
    """The few reads below on the PostgreSQL backend (a row per sample, series ids and
    values as arrays), through psql with the values bound as psql variables."""
    def __init__(self, conninfo):
        self.conninfo = conninfo
    def points(self, name, labels, ts):
        import subprocess
        sql = ("SELECT x.v FROM samples p CROSS JOIN LATERAL unnest(p.sids, p.vals) AS x(sid, v)"
               " JOIN series s ON s.id = x.sid"
               " WHERE s.name = :'n' AND s.labels = :'l' AND p.ts = :'t'::bigint;\n")
        out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-v", "n=" + name,
                              "-v", "l=" + labels, "-v", "t=%d" % ts, self.conninfo],
                             input=sql, capture_output=True, text=True, check=True).stdout
        return [(float(v),) for v in out.split()]
    def close(self):
        pass

def connect(path):
    return PgDb(path[3:]) if path.startswith("pg:") else smdb.connect(path)

def points(db, series, ts):
    name, labels = split_series(series)
    if isinstance(db, PgDb):
        return db.points(name, labels, ts)
    return db.execute(
        "select p.value from raw_points p join series s on s.id = p.series_id "
        "where s.name = ? and s.labels = ? and p.ts = ?", (name, labels, ts)).fetchall()

failed = 0
now = int(time.time())
n = 0
for line in open(cases_file):
    if not line.strip() or line.startswith("#"):
        continue
    n += 1
    cols = [c.strip() for c in line.rstrip("\n").split("|")]
    assert len(cols) == 5, "malformed case line: " + line
    name, changes, reply, absent, present = cols
    sample = copy.deepcopy(BASE)
    for ch in changes.split(";"):
        apply(sample, ch)
    ts = now - 3600 + n  # one second per case: each its own sample
    sample["timestamp"] = ts + 0.25  # the agent's time.time() has fractions
    req = urllib.request.Request(url + "/ingest", data=json.dumps(sample).encode(),
                                 headers={"X-Agent-Token": token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            code, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read().decode()
    want = reply.split(None, 1)
    problems = []
    if code != int(want[0]):
        problems.append("status %d, want %s: %s" % (code, want[0], body))
    elif code == 200 and json.loads(body).get("status") != "ok":
        problems.append("reply " + body)
    elif len(want) > 1 and want[1] not in json.loads(body).get("detail", ""):
        problems.append("detail does not name %s: %s" % (want[1], body))
    db = connect(db_path)
    ts_ms = int(round((ts + 0.25) * 1000))
    for s in absent.split():
        got = points(db, s, ts_ms)
        if got:
            problems.append("%s has a point %r, want none" % (s, got[0][0]))
    for s in present.split():
        # NAME{label=value}=VALUE: the value's "=" is the one after the labels.
        start = s.find("}") + 1
        series, _, value = s[start:].partition("=")
        series = s[:start] + series
        got = points(db, series, ts_ms)
        if len(got) != 1:
            problems.append("%s has %d points, want 1" % (series, len(got)))
        elif value and abs(got[0][0] - float(value)) > 1e-9:
            problems.append("%s is %r, want %s" % (series, got[0][0], value))
    db.close()
    if problems:
        failed += 1
        print("FAIL: %s: %s" % (name, "; ".join(problems)))
    else:
        print("ok: %s" % name)
print("%d cases, %d failed" % (n, failed))
assert n >= 30, "the case table lost its cases"
sys.exit(1 if failed else 0)
PYEOF
    fail "a psutil case was not stored or refused as it should be"
pass "every psutil case stored with its absent values absent, or refused naming the field"

# The newest sample of vm1: a bare VM (no frequency, load, partitions, io or network
# counters, no swap). smtop --json leaves the absent values out; its fleet row shows "-"
# for the network rates.
cat >"$T/bare.json" <<JSON
{"timestamp": $(date +%s), "cpu": {"usage_percent": 7.5, "per_core_usage": [5.0, 10.0],
 "freq": {}, "load_avg": []}, "memory": {"total": 8000000000, "available": 6000000000,
 "used_percent": 25.0}, "disk": {"partitions": [], "io": {}}, "network": {}}
JSON
CASE="bare VM" req POST /ingest -H "X-Agent-Token: $TOKEN" -H 'Content-Type: application/json' \
    --data-binary @"$T/bare.json"
CASE="bare VM" expect 200 '"status":"ok"'
printf 'alice password\n' >"$T/pw"
XDG_STATE_HOME=$T/state-home setsid "$SMTOP" --server "$URL" --user alice --password-file "$T/pw" \
    --json -n 1 </dev/null >"$T/json" 2>"$T/json.err" || fail "smtop --json: $(cat "$T/json.err")"
"$PY" - "$T/json" <<'PYEOF' || fail "smtop --json shows an absent value: $(cat "$T/json")"
import json, sys
j = json.loads(open(sys.argv[1]).read().splitlines()[0])
c = j["cpu"]
assert c["usage_percent"] == 7.5, c
assert "load_avg" not in c and "freq" not in c and "per_core_freq" not in c, c
assert "swap_percent" not in j["memory"] and "swap_total" not in j["memory"], j["memory"]
n = j.get("network", {})
for k in ("bytes_sent", "bytes_recv", "rx_bytes_per_s", "tx_bytes_per_s", "packets_sent"):
    assert k not in n, (k, n)
assert "disk" not in j or "read_bytes_per_s" not in j["disk"].get("io", {}), j.get("disk")
PYEOF
XDG_STATE_HOME=$T/state-home setsid "$SMTOP" --server "$URL" --user alice --password-file "$T/pw" \
    -b -n 1 </dev/null >"$T/batch" 2>"$T/batch.err" || fail "smtop -b: $(cat "$T/batch.err")"
grep -q -E '^vm1 +(online|offline) +7\.5 +- +25\.0 +- +- +-' "$T/batch" ||
    fail "fleet row of a bare VM: $(cat "$T/batch")"
pass "smtop --json leaves absent values out and -b shows them as '-'"

# smtop -b on this project's collector with a VM's /proc and /sys (no cpufreq, no swap):
# the frequency and the swap percentage read as an en dash on a UTF-8 locale.
fx=$FIXTURES/debian12-vm/t0
if locale -a 2>/dev/null | grep -qi '^c\.utf-\?8$'; then
    LC_ALL=C.UTF-8 "$SMTOP" -b -n 1 -d 0.1 --proc-root "$fx/proc" --sys-root "$fx/sys" \
        >"$T/vm" 2>"$T/vm.err" || fail "smtop -b on the VM fixture: $(cat "$T/vm.err")"
    grep -q '^CPU: .*freq –$' "$T/vm" || fail "VM fixture: frequency not '–': $(cat "$T/vm")"
    grep -q '^Swap: total 0B  used 0B (–)$' "$T/vm" ||
        fail "VM fixture: swap percentage not '–': $(cat "$T/vm")"
fi
LC_ALL=C "$SMTOP" -b -n 1 -d 0.1 --proc-root "$fx/proc" --sys-root "$fx/sys" >"$T/vm" ||
    fail "smtop -b on the VM fixture (C locale)"
grep -q '^CPU: .*freq -$' "$T/vm" || fail "VM fixture, C locale: frequency not '-': $(cat "$T/vm")"
pass "smtop -b shows an absent frequency and swap percentage as a dash"
stop_server

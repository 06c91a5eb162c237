#!/usr/bin/python3
"""fault_libs.py: allocation failures inside libwebsockets and libcurl, for every N over
one full request, against a real smserver (run by fault_libs.sh).

usage: fault_libs.py SMSERVER SMAGENT SRCDIR WORKDIR [CASE ...]
(WORKDIR/tls holds ca.pem, srv.pem and srv.key for the agent case: tls_lib.sh make_tls)

The server's test hook (smserver/fault.c, SMSERVER_FAULT_ALLOC=lws:N or curl:N) makes
the Nth allocation of that library after start-up fail, once. For each case, a first
run with no failure counts the allocations the request makes (the run's count minus
that of a start and stop alone); then for every N from 1 to that count a fresh server
(a copy of one prepared state directory) gets the request with allocation N failing,
and must: log that allocation N failed, answer the request or refuse it (a status or a
closed connection, never a crash or a hang), store an acknowledged sample, keep serving
(a second request answered), and exit 0 on SIGTERM, which under LeakSanitizer (the
--enable-sanitizers build) also means nothing leaked. One line per case:
"CASE: N runs, outcomes {...}". Cases: ingest, login, subscribe (lws); notify,
channel (curl, in smserver); agent (curl in smagent, SMAGENT_FAULT_ALLOC, posting over
https to a server with no fault: the agent either keeps every sample, the one whose
post failed sent again from its spool, or stops at start-up with a message, exit 1).
Exit 1 at the first run that breaks a rule. FAULT_LIBS_N=N runs only that N.
"""
import atexit
import itertools
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

SMSERVER, SMAGENT, SRCDIR, WORK = sys.argv[1:5]
# The agent case once crashed inside Debian's libcurl 7.88.1: two of the ~94 allocations of
# a first post over https (a strdup while SSL_read stores the server's TLS 1.3 session
# ticket) made it free a block twice. smagent now turns the TLS session cache off
# (sender.c), so no ticket is stored, and the case runs by default.
CASES = sys.argv[5:] or ["ingest", "login", "subscribe", "notify", "channel", "agent"]
LIB = {"ingest": "lws", "login": "lws", "subscribe": "lws", "notify": "curl", "channel": "curl",
       "agent": "curl"}
TLS = os.path.join(WORK, "tls")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TEMPLATE = os.path.join(WORK, "template")
CONF = os.path.join(WORK, "server.conf")
RLOG = os.path.join(WORK, "received.log")


def die(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


LIVE = []  # processes to end if this script stops early (die, an exception)


def end_live():
    for p in LIVE:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(end_live)


class Server:
    def __init__(self, state, fault=None, tag="run", args=()):
        self.state = state
        self.log = os.path.join(WORK, tag + ".log")
        pf = os.path.join(WORK, tag + ".port")
        if os.path.exists(pf):
            os.unlink(pf)
        env = dict(os.environ)
        env.pop("SMSERVER_FAULT_ALLOC", None)
        if fault:
            env["SMSERVER_FAULT_ALLOC"] = fault
        self.p = subprocess.Popen([SMSERVER, "--listen", "127.0.0.1:0", "--state-dir", state,
                                   "--port-file", pf, "--config", CONF, "--log-level", "info"]
                                  + list(args),
                                  stdout=open(self.log, "w"), stderr=subprocess.STDOUT, env=env)
        LIVE.append(self.p)
        for _ in range(400):
            if os.path.exists(pf) and os.path.getsize(pf) > 0:
                break
            if self.p.poll() is not None:
                die("smserver did not start: " + open(self.log).read()[-2000:])
            time.sleep(0.025)
        else:
            die("smserver did not write its port file")
        self.port = int(open(pf).read())
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            die("smserver did not stop on SIGTERM: " + open(self.log).read()[-2000:])
        return rc, open(self.log).read()


def http(url, method="GET", body=None, headers=None, timeout=3):
    """Status code, body; "closed" when the connection ended without a reply."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError) as e:
        if isinstance(e, socket.timeout) or "timed out" in str(e):
            return "timeout", b""
        return "closed", b""


def alive(url):
    """The server answers: /health 200 within 2 tries (the failure may have been
    reached only after the request, by this check)."""
    for _ in range(2):
        st, _b = http(url + "/health")
        if st == 200:
            return True
    return False


def samples(state):
    db = sqlite3.connect(os.path.join(state, "statusmonitor.db"))
    n = db.execute("SELECT count(*) FROM samples").fetchone()[0]
    db.close()
    return n


def received(path):
    if not os.path.exists(RLOG):
        return 0
    return sum(1 for line in open(RLOG) if json.loads(line)["path"] == path)


def fault_line(log, lib):
    m = re.search(r"fault: %s: (?:allocation (\d+) of (\d+) failed|(\d+) allocations, "
                  r"allocation (\d+) not reached)" % lib, log)
    if not m:
        die("no fault report in the log:\n" + log[-2000:])
    if m.group(1):
        return True, int(m.group(2))
    return False, int(m.group(3))


# ------------------------------------------------------------------ set-up
rport_file = os.path.join(WORK, "rport")
receiver = subprocess.Popen([PY, os.path.join(SRCDIR, "tests/integration/webhook_receiver.py"),
                             RLOG, "--port-file", rport_file])
for _ in range(200):
    if os.path.exists(rport_file) and os.path.getsize(rport_file) > 0:
        break
    time.sleep(0.05)
atexit.register(receiver.terminate)
RPORT = int(open(rport_file).read())
with open(CONF, "w") as f:
    f.write("webhook_allow_private = 127.0.0.0/8\n")

srv = Server(TEMPLATE, tag="setup")
J = {"Content-Type": "application/json"}
st, b = http(srv.url + "/register", "POST", json.dumps(
    {"username": "alice", "password": "correct horse"}).encode(), J)
assert st == 200, (st, b)
st, b = http(srv.url + "/token", "POST", b"username=alice&password=correct+horse",
             {"Content-Type": "application/x-www-form-urlencoded"})
assert st == 200, (st, b)
ACCESS = json.loads(b)["access_token"]
AUTH = {"Authorization": "Bearer " + ACCESS}
st, b = http(srv.url + "/agents", "POST", b'{"name":"box"}', dict(J, **AUTH))
assert st == 200, (st, b)
AGENT_TOKEN = json.loads(b)["token"]
st, b = http(srv.url + "/alerts/channels", "POST", json.dumps(
    {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:%d/hook" % RPORT}).encode(),
    dict(J, **AUTH))
assert st == 201, (st, b)
CHANNEL = json.loads(b)["id"]
SAMPLE = subprocess.run([SMAGENT, "--once"], capture_output=True, check=True).stdout
st, b = http(srv.url + "/ingest", "POST", SAMPLE, dict(J, **{"X-Agent-Token": AGENT_TOKEN}))
assert st == 200, (st, b)
rc, log = srv.stop()
assert rc == 0, log
TOKEN_FILE = os.path.join(WORK, "token")
with open(TOKEN_FILE, "w") as f:
    f.write(ACCESS)
os.chmod(TOKEN_FILE, 0o600)
BASE_SAMPLES = samples(TEMPLATE)


# ------------------------------------------------------------------ the requests
def fresh_sample():
    """A sample of this machine with a timestamp of its own (never a duplicate)."""
    s = json.loads(SAMPLE)
    s["timestamp"] = time.time()
    return json.dumps(s).encode()


def do_ingest(s):
    st, _b = http(s.url + "/ingest", "POST", fresh_sample(),
                  dict(J, **{"X-Agent-Token": AGENT_TOKEN}))
    return st


def do_login(s):
    st, b = http(s.url + "/token", "POST", b"username=alice&password=correct+horse",
                 {"Content-Type": "application/x-www-form-urlencoded"})
    if st == 200 and "access_token" not in json.loads(b):
        die("login: a 200 without a token")
    return st


def do_subscribe(s):
    r = subprocess.run([PY, os.path.join(SRCDIR, "tests/integration/wsclient.py"),
                        "ws://127.0.0.1:%d/ws" % s.port, "--token-file", TOKEN_FILE,
                        "--subscribe", "all", "--count", "2", "--seconds", "5"],
                       capture_output=True, text=True, timeout=30)
    msgs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    types = [m.get("type") for m in msgs if "type" in m]
    if "sample" in types:
        return "sample"
    if "ready" in types:
        return "ready only"
    return "closed"


def do_notify(s):
    before = received("/hook")
    st, _b = http(s.url + "/alerts/channels/%d/test" % CHANNEL, "POST", b"", AUTH)
    if st != 202:
        return st
    for _ in range(150):  # a failed attempt is retried 1 s later
        if received("/hook") > before:
            return "delivered"
        time.sleep(0.05)
    return "not delivered in 7.5 s"


NAMES = itertools.count(1)


def do_channel(s):
    st, _b = http(s.url + "/alerts/channels", "POST", json.dumps(
        {"name": "more%d" % next(NAMES), "type": "webhook",
         "url": "http://127.0.0.1:%d/more" % RPORT}).encode(), dict(J, **AUTH))
    if st == 400 and b"the host name does not resolve" in _b:
        return "400 does not resolve"
    return st


ACTIONS = {"ingest": do_ingest, "login": do_login, "subscribe": do_subscribe,
           "notify": do_notify, "channel": do_channel}


def after_ok(case, s):
    """The server still does what the case exercised."""
    if not alive(s.url):
        return "not serving /health"
    if case == "notify":
        if do_notify(s) != "delivered":
            return "a second test notification was not delivered"
    if case == "channel" and do_channel(s) != 201:
        return "a second channel could not be made"
    return None


def run(case, n, tag):
    state = os.path.join(WORK, "state-" + tag)
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(TEMPLATE, state)
    lib = LIB[case]
    s = Server(state, "%s:%d" % (lib, n), tag)
    outcome = ACTIONS[case](s) if case != "idle" else None
    # The calibration runs (n == NEVER) count the request alone, without the checks.
    problem = after_ok(case, s) if case != "idle" and n != NEVER else None
    rc, log = s.stop()
    fired, count = fault_line(log, lib)
    where = "%s with %s allocation %d failing" % (case, lib, n)
    if rc != 0:
        die("%s: smserver exited %d (a crash, or a leak under LeakSanitizer):\n%s" % (
            where, rc, log[-4000:]))
    if problem:
        die("%s: %s (the request got %s):\n%s" % (where, problem, outcome, log[-3000:]))
    if case == "ingest" and outcome == 200 and samples(state) != BASE_SAMPLES + 1:
        die("%s: the sample was acknowledged but is not stored" % where)
    # An accepted test notification is delivered (a failed attempt is retried), and the
    # server's lack of memory is its own 503, never a 400 that blames the URL.
    if case == "notify" and n != NEVER and outcome != "delivered":
        die("%s: the test notification was %s" % (where, outcome))
    # libcurl's resolver thread reports its own lack of memory as a name that does not
    # resolve (CURLE_COULDNT_RESOLVE_HOST, even for 127.0.0.1): that 400 is libcurl's
    # word, counted apart; any other 400 is ours.
    if case == "channel" and n != NEVER and outcome not in (201, 503, "400 does not resolve"):
        die("%s: the channel got %s, expected 201 or 503" % (where, outcome))
    shutil.rmtree(state, ignore_errors=True)
    return outcome, fired, count


def samples_ts(state):
    db = sqlite3.connect(os.path.join(state, "statusmonitor.db"))
    ts = [r[0] / 1000.0 for r in db.execute("SELECT ts FROM samples ORDER BY ts")]  # ms
    db.close()
    return ts


def run_agent(n, tag):
    """smagent with its Nth libcurl allocation failing, posting every second over https
    to a server with no fault; until 2 samples are stored (or it stopped)."""
    state = os.path.join(WORK, "state-" + tag)
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(TEMPLATE, state)
    s = Server(state, None, tag + "-srv", ("--tls-cert", os.path.join(TLS, "srv.pem"),
                                          "--tls-key", os.path.join(TLS, "srv.key")))
    tokf = os.path.join(WORK, "agent.token")
    with open(tokf, "w") as f:
        f.write(AGENT_TOKEN + "\n")
    os.chmod(tokf, 0o600)
    spool = os.path.join(WORK, "spool-" + tag)
    shutil.rmtree(spool, ignore_errors=True)
    alog = os.path.join(WORK, tag + "-agent.log")
    env = dict(os.environ, SMAGENT_FAULT_ALLOC="curl:%d" % n)
    start = time.time()
    a = subprocess.Popen([SMAGENT, "--server", "https://127.0.0.1:%d" % s.port, "--token-file",
                          tokf, "--ca-file", os.path.join(TLS, "ca.pem"), "--interval",
                          "1", "--spool", spool, "--log-level", "debug"],
                         stdout=open(alog, "w"), stderr=subprocess.STDOUT, env=env)
    LIVE.append(a)
    want = BASE_SAMPLES + (1 if n == NEVER else 2)
    for _ in range(300):
        if a.poll() is not None or samples(state) >= want:
            break
        time.sleep(0.05)
    if a.poll() is None:
        a.send_signal(signal.SIGTERM)
        try:
            arc = a.wait(30)
        except subprocess.TimeoutExpired:
            a.kill()
            die("agent with curl allocation %d failing: no exit on SIGTERM" % n)
        outcome = "kept posting"
    else:
        arc = a.returncode
        outcome = "stopped at start-up"
    alogt = open(alog).read()
    where = "agent with curl allocation %d failing" % n
    if outcome == "stopped at start-up" and (arc != 1 or "libcurl" not in alogt):
        die("%s: exited %d:\n%s" % (where, arc, alogt[-3000:]))
    if outcome == "kept posting" and arc != 0:
        die("%s: smagent exited %d (a crash, or a leak under LeakSanitizer):\n%s" % (
            where, arc, alogt[-4000:]))
    ts = samples_ts(state)[BASE_SAMPLES:]
    if outcome == "kept posting":
        if len(ts) < want - BASE_SAMPLES:
            die("%s: %d samples stored in 15 s:\n%s" % (where, len(ts), alogt[-3000:]))
        # The first sample is the one taken at start (its post may be the one that
        # failed: then it comes from the spool), and none is missing after it.
        if ts[0] - start > 2.5 or any(b - a_ > 1.5 for a_, b in zip(ts, ts[1:])):
            die("%s: a sample is missing: started %.1f, stored %s" % (where, start, ts))
    rc, log = s.stop()
    if rc != 0:
        die("%s: smserver exited %d" % (where, rc))
    fired, count = fault_line(alogt, "curl")
    shutil.rmtree(state, ignore_errors=True)
    return outcome, fired, count


NEVER = 10**9
total = {"lws": 0, "curl": 0}
for case in CASES:
    lib = LIB[case]
    LIB["idle"] = lib
    if case == "agent":
        _o, _f, k = run_agent(NEVER, "calib")
    else:
        _o, _f, idle = run("idle", NEVER, "calib")
        _o, _f, busy = run(case, NEVER, "calib")
        k = busy - idle
    if k <= 0:
        die("%s: the request made no %s allocation (%d against %d idle)" % (case, lib, busy, idle))
    outcomes = {}
    fired_in = 0
    only = os.environ.get("FAULT_LIBS_N")  # to rerun one N by hand
    for n in [int(only)] if only else range(1, k + 1):
        outcome, fired, _c = run_agent(n, "n") if case == "agent" else run(case, n, "n")
        if not fired:
            die("%s: %s allocation %d of %d was never reached" % (case, lib, n, k))
        fired_in += 1
        outcomes[str(outcome)] = outcomes.get(str(outcome), 0) + 1
    total[lib] += k
    print("%s (%s): %d allocations in the request, %d runs each with one failing; outcomes %s"
          % (case, lib, k, fired_in, json.dumps(outcomes, sort_keys=True)), flush=True)
print("total injected failures: libwebsockets %d, libcurl %d" % (total["lws"], total["curl"]))

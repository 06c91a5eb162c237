#!/usr/bin/python3
"""fault_kill.py: SIGKILL smserver again and again while agents post, and check after
every restart that nothing it acknowledged was lost or stored twice.

usage: fault_kill.py SMSERVER STATE_DIR AGENTS_FILE KILLS [--seed S]

AGENTS_FILE holds one "ID TOKEN" line per agent. One thread per agent posts batches of
1-4 samples (timestamps 1 ms apart, an hour ago) over keep-alive connections; a batch is
acknowledged by a 200 and resent, as smagent does, until it is. The main thread starts
smserver on a fixed loopback port, waits a random 0.05-1.5 s (the moment varies: the
kill lands while requests are being parsed, queued, committed or answered), SIGKILLs
it, starts it again on the same state directory, and checks with its own read-only
connection (the server is running, so the WAL is not checkpointed behind its back):
every acknowledged sample is stored with its points, no (agent, time) is stored twice,
no sample that was never sent is stored, and PRAGMA integrity_check says ok.
Prints one summary line; exits 1 on the first violation.
"""
import argparse
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smdb  # noqa: E402  (the tests' own reader of the packed raw points)

ap = argparse.ArgumentParser()
ap.add_argument("smserver")
ap.add_argument("state")
ap.add_argument("agents")
ap.add_argument("kills", type=int)
ap.add_argument("--seed", type=int, default=None)
a = ap.parse_args()
seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
rng = random.Random(seed)
agents = [l.split() for l in open(a.agents) if l.strip()]
db_path = os.path.join(a.state, "statusmonitor.db")
port_file = os.path.join(a.state, "..", "kill.port")
log = open(os.path.join(a.state, "..", "kill-server.log"), "ab")

mu = threading.Lock()
acked = set()  # (agent_id, ts_ms)
sent = set()
stop = threading.Event()
port = [0]
stats = {"posts": 0, "ok": 0, "failed": 0, "resent": 0, "503": 0}


running = []  # the smserver of this round, killed on a failure


def die(msg):
    print("FAIL (seed %d): %s" % (seed, msg), file=sys.stderr)
    sys.stdout.flush()
    for p in running:
        p.kill()
    os._exit(1)


def agent_loop(agent_id, token, base_ms):
    r = random.Random(seed + agent_id)
    k = 0
    conn = None
    batch = None
    while not stop.is_set():
        if batch is None:
            n = r.randint(1, 4)
            batch = [base_ms + k + i for i in range(n)]
            k += n
            with mu:
                sent.update((agent_id, t) for t in batch)
            retry = False
        body = json.dumps({"samples": [
            {"timestamp": t / 1000.0,
             "cpu": {"usage_percent": (t % 97) + 0.5},
             "memory": {"used_percent": 40.0}} for t in batch]})
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port[0], timeout=20)
            conn.request("POST", "/ingest", body,
                         {"X-Agent-Token": token, "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            with mu:
                stats["posts"] += 1
            if resp.status == 200:
                j = json.loads(data)
                if j["stored"] + j["duplicates"] != len(batch):
                    die("agent %d: reply %s for %d samples" % (agent_id, data, len(batch)))
                if not retry and j["duplicates"]:
                    die("agent %d: first send of %s reported duplicates" % (agent_id, batch))
                with mu:
                    acked.update((agent_id, t) for t in batch)
                    stats["ok"] += 1
                    stats["resent"] += retry
                batch = None
            else:
                if resp.status == 503:
                    with mu:
                        stats["503"] += 1
                    if not resp.getheader("Retry-After"):
                        die("503 without Retry-After")
                elif resp.status != 200:
                    die("agent %d: status %d: %s" % (agent_id, resp.status, data))
                retry = True
        except (OSError, http.client.HTTPException):
            # The server died under us: the batch may or may not be stored. Resend it.
            with mu:
                stats["failed"] += 1
            if conn is not None:
                conn.close()
            conn = None
            retry = True
            time.sleep(0.02)


def start_server():
    try:
        os.unlink(port_file)
    except FileNotFoundError:
        pass
    listen = "127.0.0.1:%d" % port[0]
    p = subprocess.Popen([a.smserver, "--listen", listen, "--state-dir", a.state,
                          "--port-file", port_file], stdout=log, stderr=log)
    running[:] = [p]
    for _ in range(400):
        if p.poll() is not None:
            die("smserver exited %d at start (see kill-server.log)" % p.returncode)
        try:
            with open(port_file) as f:
                v = f.read().strip()
            if v:
                port[0] = int(v)
                return p
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    die("smserver did not write its port file")


def check(round_no):
    with mu:
        want = set(acked)  # acknowledged before the read: must all be there
    c = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=30,
                        isolation_level=None)
    try:
        c.execute("BEGIN")  # one snapshot for every query below
        ic = c.execute("PRAGMA integrity_check").fetchall()
        if ic != [("ok",)]:
            die("round %d: integrity_check: %s" % (round_no, ic))
        rows = c.execute("SELECT agent_id, ts, data FROM samples").fetchall()
        stored = {(a, t) for a, t, _ in rows}
        if len(stored) != len(rows):
            die("round %d: a sample is stored twice" % round_no)
        with mu:
            maybe = set(sent)  # sent before the read ended: all that may be there
        lost = want - stored
        if lost:
            die("round %d: %d acknowledged samples lost, e.g. %s" % (round_no, len(lost),
                                                                     sorted(lost)[:5]))
        extra = {s for s in stored if s[0] in ids} - maybe
        if extra:
            die("round %d: stored samples never sent: %s" % (round_no, sorted(extra)[:5]))
        # Every stored sample holds its cpu.usage point (a sample and its points are one
        # row) in a well-formed blob: smdb.decode raises on a malformed one and refuses
        # a series twice in one sample.
        cpu = dict(c.execute("SELECT agent_id, id FROM series WHERE name = 'cpu.usage'"))
        for a, t, data in rows:
            if a not in ids:
                continue
            try:
                sids = [sid for sid, _ in smdb.decode(data)]
            except ValueError as e:
                die("round %d: sample (%d, %d): bad point blob: %s" % (round_no, a, t, e))
            if cpu.get(a) not in sids:
                die("round %d: sample (%d, %d) has no cpu.usage point" % (round_no, a, t))
    finally:
        c.close()
    return len(want), len(stored)


ids = {int(i) for i, _ in agents}
base_ms = (int(time.time()) - 3600) * 1000
srv = start_server()
threads = [threading.Thread(target=agent_loop, args=(int(i), tok, base_ms), daemon=True)
           for i, tok in agents]
for t in threads:
    t.start()
kills = 0
nacked = nstored = 0
for round_no in range(1, a.kills + 1):
    # Let the agents get going, then kill at a random moment.
    before = stats["ok"]
    deadline = time.time() + 20
    while stats["ok"] < before + 2 and time.time() < deadline:
        time.sleep(0.01)
    if stats["ok"] < before + 2:
        die("round %d: no ingest succeeded within 20 s" % round_no)
    time.sleep(rng.uniform(0.05, 1.5))
    srv.send_signal(signal.SIGKILL)
    srv.wait()
    kills += 1
    srv = start_server()
    nacked, nstored = check(round_no)
# Let every pending batch through, then a last check.
stop.set()
for t in threads:
    t.join(30)
nacked, nstored = check(a.kills + 1)
srv.send_signal(signal.SIGTERM)
if srv.wait(30) != 0:
    die("smserver exited %d after SIGTERM" % srv.returncode)
print("kills=%d posts=%d acked_posts=%d failed_posts=%d resent_acked=%d refused_503=%d "
      "acked_samples=%d stored_samples=%d lost=0 duplicated=0 integrity=ok seed=%d" %
      (kills, stats["posts"], stats["ok"], stats["failed"], stats["resent"], stats["503"],
       nacked, nstored, seed))

#!/usr/bin/python3
"""power_cut.py: cut the power under smserver again and again while agents post, and check
after every restart that every sample it acknowledged is on the "disk".

usage: power_cut.py SMSERVER STATE_DIR SHADOW_DIR LIBPOWERCUT AGENTS_FILE ROUNDS
                    [--seed S] [--lie]
       power_cut.py selftest LIBPOWERCUT DIR SHADOW_DIR
       power_cut.py cut DIR SHADOW_DIR

smserver runs with libpowercut.so preloaded on STATE_DIR (see powercut.c): the layer
keeps in SHADOW_DIR what a power cut would leave, only what was fsynced. Each round: start
smserver, let the agents (one thread each, batches of 1-4 samples, resent until a 200, as
smagent does) post, SIGKILL smserver at a random moment 0.05-1.5 s later, then "cut": the
state directory's files are replaced by the durable image (the names of the last
directory sync, with the bytes of each file's last sync; in even rounds also a random half
of the writes made since, in order, as a disk that wrote some dirty pages back). smserver starts again under the
layer on that image; a read-only connection then checks that every sample acknowledged
before the kill is stored once, that nothing never sent is stored, and PRAGMA
integrity_check. Prints one line per round and a summary; exits 1 on the first
violation.

--lie: one round with SM_POWERCUT_LIE=1 (syncs succeed and make nothing durable). The
check must then find acknowledged samples lost: exits 0 when it does, 1 when it does not
(the test could not see a loss).

cut: replace DIR's files by the durable image in SHADOW_DIR, once.

selftest: the layer's own cases on an empty DIR (what a sync keeps, what it drops: bytes
written after a sync, a name never synced, a rename not synced, a truncation synced, an
open with O_TRUNC).
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import struct
import sqlite3
import subprocess
import sys
import threading
import time


def pending(path):
    """The writes and size changes logged since a file's last sync: (offset, bytes) or
    (size, None), in order (struct pc_pending in powercut.c)."""
    out = []
    with open(path, "rb") as f:
        buf = f.read()
    i = 0
    while i + 16 <= len(buf):
        off, n = struct.unpack_from("=qq", buf, i)
        i += 16
        if n < 0:
            out.append((off, None))
        else:
            out.append((off, buf[i:i + n]))
            i += n
    return out


def cut(state, shadow, some=None):
    """Replace the state directory's files by the durable image: the names of the last
    directory sync, the bytes of each file's last sync; with SOME (a random.Random), also
    each write or size change made since that sync with odds 1/2, in their order (the
    disk wrote some dirty pages back, not others). Returns, over the files other than the
    -shm index (written through mmap, not modelled), the names lost, the names whose
    bytes differ from the live ones, how many 512-byte blocks differ, and how many of the
    unsynced writes were kept and dropped."""
    image = {}
    with open(os.path.join(shadow, "map")) as f:
        for line in f:
            fid, mode, name = line.rstrip("\n").split(" ", 2)
            data = bytearray(open(os.path.join(shadow, "data", fid), "rb").read())
            image[name] = (data, int(mode, 8), os.path.join(shadow, "pending", fid))
    kept = dropped = 0
    for name, (data, _, pend) in image.items():
        for off, b in pending(pend) if os.path.exists(pend) else []:
            if some is None or some.random() >= 0.5:
                dropped += 1
                continue
            kept += 1
            if b is None:
                del data[off:]
                data.extend(bytes(off - len(data)))
            else:
                if len(data) < off:
                    data.extend(bytes(off - len(data)))
                data[off:off + len(b)] = b
    lost_names, differ, nbytes = [], [], 0
    for name in os.listdir(state):
        p = os.path.join(state, name)
        if not os.path.isfile(p) or os.path.islink(p):
            continue
        if not name.endswith("-shm"):
            if name not in image:
                lost_names.append(name)
            else:
                live = open(p, "rb").read()
                dur = bytes(image[name][0])
                if live != dur:
                    differ.append(name)
                    n = max(len(live), len(dur))
                    live, dur = live.ljust(n, b"\0"), dur.ljust(n, b"\0")
                    nbytes += sum(1 for i in range(0, n, 512) if live[i:i + 512] != dur[i:i + 512])
        os.unlink(p)
    for name, (data, mode, _) in image.items():
        dst = os.path.join(state, name)
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(dst, mode)
    return lost_names, differ, nbytes, kept, dropped


SELFTEST_CHILD = r"""
import os, sys
d = sys.argv[1]
W = os.O_WRONLY | os.O_CREAT
dfd = os.open(d, os.O_RDONLY)
fa = os.open(d + "/a", W, 0o600)  # new, synced, name synced: kept as of its sync
os.write(fa, b"synced")
os.fsync(fa)
fg = os.open(d + "/g", W, 0o600)  # new, name synced, bytes never synced: empty
os.write(fg, b"ggg")
os.unlink(d + "/h")  # unlinked before the directory sync: gone
os.fsync(dfd)
os.write(fa, b"-unsynced")  # after the sync: dropped
fb = os.open(d + "/b", W, 0o600)  # bytes synced, name not: gone
os.write(fb, b"bbb")
os.fdatasync(fb)
os.rename(d + "/c", d + "/c2")  # not synced: c keeps its old bytes, c2 is not there
fe = os.open(d + "/e", os.O_RDWR)  # truncated and synced: short
os.ftruncate(fe, 2)
os.fsync(fe)
ff = os.open(d + "/f", os.O_RDWR)  # overwritten, not synced: as it was
os.pwrite(ff, b"X", 1)
ft = os.open(d + "/t", os.O_WRONLY | os.O_TRUNC)  # emptied, grown, synced: zeros
os.ftruncate(ft, 4)
os.fsync(ft)
os._exit(0)  # the power goes: no close, no clean-up
"""


def selftest(lib, state, shadow):
    """The layer's own cases: run a child under it, cut, compare with what must remain."""
    for name, data in (("c", b"old"), ("e", b"eeee"), ("f", b"ffff"), ("h", b"hhh"),
                       ("t", b"tttttt")):
        with open(os.path.join(state, name), "wb") as f:
            f.write(data)
    env = dict(os.environ, LD_PRELOAD=lib, SM_POWERCUT_DIR=state, SM_POWERCUT_SHADOW=shadow)
    subprocess.run([sys.executable, "-c", SELFTEST_CHILD, state], env=env, check=True)
    # A cut that keeps every unsynced write, on a copy: the live bytes under the synced names.
    shutil.copytree(state, state + ".all")
    shutil.copytree(shadow, shadow + ".all")

    class All:
        def random(self):
            return 0.0
    cut(state + ".all", shadow + ".all", All())
    got = {n: open(os.path.join(state + ".all", n), "rb").read()
           for n in sorted(os.listdir(state + ".all"))}
    want = {"a": b"synced-unsynced", "c": b"old", "e": b"ee", "f": b"fXff", "g": b"ggg",
            "t": b"\0\0\0\0"}
    if got != want:
        print("FAIL: after a cut keeping every write %r, not %r" % (got, want), file=sys.stderr)
        sys.exit(1)
    cut(state, shadow)
    got = {n: open(os.path.join(state, n), "rb").read() for n in sorted(os.listdir(state))}
    want = {"a": b"synced", "c": b"old", "e": b"ee", "f": b"ffff", "g": b"",
            "t": b"\0\0\0\0"}
    if got != want:
        print("FAIL: after the cut %r, not %r" % (got, want), file=sys.stderr)
        sys.exit(1)
    print("selftest: after the cut %s" % " ".join("%s=%r" % kv for kv in got.items()))


if len(sys.argv) == 5 and sys.argv[1] == "selftest":
    selftest(*sys.argv[2:])
    sys.exit(0)
if len(sys.argv) == 4 and sys.argv[1] == "cut":
    names, differ, blocks, _, _ = cut(*sys.argv[2:])
    print("the cut dropped names [%s], blocks of [%s]: %d" % (" ".join(names), " ".join(differ),
                                                              blocks))
    sys.exit(0)

ap = argparse.ArgumentParser()
ap.add_argument("smserver")
ap.add_argument("state")
ap.add_argument("shadow")
ap.add_argument("lib")
ap.add_argument("agents")
ap.add_argument("rounds", type=int)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--lie", action="store_true")
a = ap.parse_args()
seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
rng = random.Random(seed)
agents = [l.split() for l in open(a.agents) if l.strip()]
ids = {int(i) for i, _ in agents}
db_path = os.path.join(a.state, "statusmonitor.db")
port_file = os.path.join(a.state, "..", "cut.port")
log = open(os.path.join(a.state, "..", "cut-server.log"), "ab")

mu = threading.Lock()
acked = set()  # (agent_id, ts_ms)
sent = set()
stop = threading.Event()
port = [0]
stats = {"posts": 0, "ok": 0, "failed": 0}
running = []


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
        body = json.dumps({"samples": [
            {"timestamp": t / 1000.0, "cpu": {"usage_percent": (t % 97) + 0.5},
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
                with mu:
                    acked.update((agent_id, t) for t in batch)
                    stats["ok"] += 1
                batch = None
            elif resp.status != 503:
                die("agent %d: status %d: %s" % (agent_id, resp.status, data))
        except (OSError, http.client.HTTPException):
            # The server died under us: the batch may or may not be stored. Resend it.
            with mu:
                stats["failed"] += 1
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.02)


def start_server(lie):
    try:
        os.unlink(port_file)
    except FileNotFoundError:
        pass
    env = dict(os.environ, LD_PRELOAD=a.lib, SM_POWERCUT_DIR=a.state,
               SM_POWERCUT_SHADOW=a.shadow, SM_POWERCUT_LIE="1" if lie else "0")
    # A sanitizer build: the runtime need not come first, the layer only wraps calls.
    env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                 "verify_asan_link_order=0"]))
    p = subprocess.Popen([a.smserver, "--listen", "127.0.0.1:%d" % port[0], "--state-dir",
                          a.state, "--port-file", port_file], stdout=log, stderr=log, env=env)
    running[:] = [p]
    for _ in range(600):
        if p.poll() is not None:
            die("smserver exited %d at start (see cut-server.log)" % p.returncode)
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


def check(round_no, want):
    c = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=30,
                        isolation_level=None)
    try:
        c.execute("BEGIN")
        ic = c.execute("PRAGMA integrity_check").fetchall()
        if ic != [("ok",)]:
            return "integrity_check: %s" % ic, 0
        rows = c.execute("SELECT agent_id, ts FROM samples").fetchall()
    finally:
        c.close()
    stored = set(rows)
    if len(stored) != len(rows):
        return "a sample is stored twice", 0
    lost = want - stored
    found = len(want) - len(lost)
    if lost:
        return "%d of %d acknowledged samples lost, e.g. %s" % (len(lost), len(want),
                                                               sorted(lost)[:3]), found
    with mu:
        maybe = set(sent)
    extra = {s for s in stored if s[0] in ids} - maybe
    if extra:
        return "stored samples never sent: %s" % sorted(extra)[:3], found
    return None, found


base_ms = (int(time.time()) - 3600) * 1000
rounds = 1 if a.lie else a.rounds
srv = start_server(a.lie)
threads = [threading.Thread(target=agent_loop, args=(int(i), tok, base_ms), daemon=True)
           for i, tok in agents]
for t in threads:
    t.start()
total_acked = total_found = total_kept = 0
for round_no in range(1, rounds + 1):
    before = stats["ok"]
    deadline = time.time() + 30
    while stats["ok"] < before + 2 and time.time() < deadline:
        time.sleep(0.01)
    if stats["ok"] < before + 2:
        die("round %d: no ingest succeeded within 30 s" % round_no)
    time.sleep(rng.uniform(0.05, 1.5))
    srv.send_signal(signal.SIGKILL)
    srv.wait()
    with mu:
        want = set(acked)  # every acknowledgement came before the kill
    # Odd rounds keep nothing unsynced, even ones a random half of the unsynced writes.
    some = random.Random(rng.random()) if round_no % 2 == 0 and not a.lie else None
    names, differ, blocks, kept, dropped = cut(a.state, a.shadow, some)
    srv = start_server(False)
    err, found = check(round_no, want)
    print("round %d: acked=%d found=%d; the cut kept %d and dropped %d unsynced writes;"
          " lost names [%s], blocks of [%s]: %d"
          % (round_no, len(want), found, kept, dropped, " ".join(names), " ".join(differ),
             blocks))
    sys.stdout.flush()
    total_acked, total_found = len(want), found
    total_kept += kept
    if err and a.lie:
        stop.set()
        srv.kill()
        print("lie: the check saw the loss: %s (seed %d)" % (err, seed))
        sys.exit(0)
    if err:
        die("round %d: %s" % (round_no, err))
stop.set()
for t in threads:
    t.join(30)
srv.send_signal(signal.SIGTERM)
if srv.wait(30) != 0:
    die("smserver exited %d after SIGTERM" % srv.returncode)
if a.lie:
    print("FAIL: with syncs that make nothing durable, no acknowledged sample was lost "
          "(seed %d)" % seed, file=sys.stderr)
    sys.exit(1)
print("cuts=%d posts=%d acked_posts=%d failed_posts=%d unsynced_writes_kept=%d "
      "acked_samples=%d found=%d lost=0 integrity=ok seed=%d"
      % (rounds, stats["posts"], stats["ok"], stats["failed"], total_kept, total_acked,
         total_found, seed))

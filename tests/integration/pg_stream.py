#!/usr/bin/python3
"""pg_stream.py: the live stream across instances, measured. Agents post to instance A
(1 Hz each, spread over the second); one viewer on A and one on B (both subscribed to
all of the user's agents) record when each sample arrives. The latency of a sample is
from A's 200 reply to its arrival at the viewer. The viewer on A is the baseline (the
stream of one instance); the viewer on B receives what A committed through PostgreSQL.

usage: pg_stream.py POST_URL WS_A WS_B TOKENFILE AGENTSFILE [--seconds S] [--threads K]

AGENTSFILE: one "agent_id token_file" per line. TOKENFILE: the user's access token.
Tokens are read from files, never from argv. Prints one JSON line: sent, received and
duplicated per viewer, and p50/p99/max of the latency in ms on each.
"""
import argparse
import asyncio
import http.client
import json
import sys
import threading
import time
import urllib.parse

import websockets

ap = argparse.ArgumentParser()
ap.add_argument("post_url")
ap.add_argument("ws_a")
ap.add_argument("ws_b")
ap.add_argument("token_file")
ap.add_argument("agents_file")
ap.add_argument("--seconds", type=int, default=5)
ap.add_argument("--threads", type=int, default=8)
a = ap.parse_args()
token = open(a.token_file).read().strip()
agents = []
for line in open(a.agents_file):
    aid, tf = line.split()
    agents.append((int(aid), open(tf).read().strip()))

replied = {}  # (agent_id, ts_ms) -> monotonic time of the 200 reply
bad = []
lock = threading.Lock()


def poster(mine, start):
    u = urllib.parse.urlparse(a.post_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    n = len(agents)
    for sec in range(a.seconds):
        for idx, (aid, tok) in mine:
            # Agent idx posts at start + sec + idx/n: an even spread over each second.
            at = start + sec + idx / n
            d = at - time.time()
            if d > 0:
                time.sleep(d)
            ts = int((time.time()) * 1000)
            body = json.dumps({"timestamp": ts / 1000.0,
                               "cpu": {"usage_percent": (aid * 7 + sec) % 100}})
            try:
                conn.request("POST", "/ingest", body,
                             {"X-Agent-Token": tok, "Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException) as e:
                bad.append(str(e))
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                continue
            t = time.monotonic()
            if r.status == 200:
                with lock:
                    replied[(aid, ts)] = t
            else:
                bad.append(r.status)


async def viewer(url, got, ready):
    async with websockets.connect(url, max_size=16 << 20, open_timeout=5) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.send(json.dumps({"type": "subscribe", "agents": "all"}))
        while True:
            m = json.loads(await ws.recv())
            if m.get("type") == "snapshot":
                ready.set()
            if m.get("type") == "sample":
                ts = round(m["sample"]["timestamp"] * 1000)
                got.setdefault((m["agent_id"], ts), []).append(time.monotonic())


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return round(v[min(len(v) - 1, int(p / 100.0 * len(v)))] * 1000, 1)


async def main():
    got_a, got_b = {}, {}
    ra, rb = asyncio.Event(), asyncio.Event()
    ta = asyncio.create_task(viewer(a.ws_a, got_a, ra))
    tb = asyncio.create_task(viewer(a.ws_b, got_b, rb))
    await asyncio.wait_for(asyncio.gather(ra.wait(), rb.wait()), 10)
    start = time.time() + 0.5
    per = [[] for _ in range(a.threads)]
    for idx, ag in enumerate(agents):
        per[idx % a.threads].append((idx, ag))
    ths = [threading.Thread(target=poster, args=(p, start)) for p in per if p]
    for t in ths:
        t.start()
    while any(t.is_alive() for t in ths):
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # the last samples' way to the viewers
    ta.cancel()
    tb.cancel()
    res = {"sent": len(replied), "errors": len(bad)}
    for name, got in (("a", got_a), ("b", got_b)):
        lat = [got[k][0] - t for k, t in replied.items() if k in got]
        res[name] = {"received": sum(1 for k in replied if k in got),
                     "duplicated": sum(1 for k in got if len(got[k]) > 1),
                     "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": pct(lat, 100)}
    print(json.dumps(res))


asyncio.run(main())

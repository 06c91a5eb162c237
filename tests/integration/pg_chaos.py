#!/usr/bin/python3
"""pg_chaos.py: the poster and the viewer of tests/integration/pg_chaos.sh, both through
the balancer while the test kills and restarts the smserver instances behind it. Each
runs until the file STOP exists, then writes its report (JSON) to OUT.

usage: pg_chaos.py post URL TOKENFILE STOP OUT [--interval S]
       pg_chaos.py view WSURL TOKENFILE STOP OUT

post sends one sample at a time as one agent, each with its own timestamp (whole
milliseconds, strictly increasing), and resends a sample whose reply was not 200 (a
refused connection, a reset, a 502/503, a time-out) until it is acknowledged, as smagent
does: a sample committed whose reply was lost comes back, and must be stored once. The
report lists every acknowledged timestamp (ms), the attempts, the failed attempts and
the replies that said "duplicates" (a resend of a sample already stored).

view is a live-stream viewer (python3-websockets) that reconnects whenever its
connection ends, and counts the samples received on each connection; the report has
the connections, the reconnects, the samples received twice on one connection and the
longest time between two samples.

The tokens are read from files, never from argv.
"""
import asyncio
import http.client
import json
import os
import sys
import time
import urllib.parse


def write(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def post(url, token_file, stop, out, interval):
    token = open(token_file).read().strip()
    u = urllib.parse.urlparse(url)
    conn = None
    acked, attempts, failures, dup_replies, errors = [], 0, 0, 0, {}
    last_ms = 0
    given_up = 0
    while not os.path.exists(stop):
        ms = max(int(time.time() * 1000), last_ms + 1)
        last_ms = ms
        body = json.dumps({"timestamp": ms / 1000.0,
                           "cpu": {"usage_percent": ms % 100},
                           "memory": {"total": 1000, "available": 500, "used_percent": 50.0}})
        t0 = time.time()
        while True:
            attempts += 1
            why = None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                conn.request("POST", "/ingest", body,
                             {"X-Agent-Token": token, "Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                if r.status == 200:
                    if json.loads(data).get("duplicates", 0) > 0:
                        dup_replies += 1
                    acked.append(ms)
                    break
                why = "HTTP %d" % r.status
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                why = type(e).__name__
                if conn is not None:
                    conn.close()
                conn = None
            failures += 1
            errors[why] = errors.get(why, 0) + 1
            if time.time() - t0 > 60:
                given_up += 1
                break
            time.sleep(0.1)
        time.sleep(interval)
    write(out, {"acked": acked, "attempts": attempts, "failures": failures,
                "duplicate_replies": dup_replies, "given_up": given_up, "errors": errors})


async def view(url, token_file, stop, out):
    import websockets

    token = open(token_file).read().strip()
    conns = []  # [samples, seconds open]
    last_sample = None
    longest_gap = 0.0
    refused = 0
    dups = 0
    loop = asyncio.get_running_loop()
    while not os.path.exists(stop):
        try:
            ws = await websockets.connect(url, open_timeout=5, max_size=16 << 20)
        except Exception:
            refused += 1
            await asyncio.sleep(0.2)
            continue
        opened = loop.time()
        n = 0
        seen = set()  # (agent, timestamp) on this connection
        try:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await ws.send(json.dumps({"type": "subscribe", "agents": "all"}))
            while not os.path.exists(stop):
                try:
                    msg = await asyncio.wait_for(ws.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                m = json.loads(msg)
                if isinstance(m, dict) and m.get("type") == "sample":
                    key = (m.get("agent_id"), (m.get("sample") or {}).get("timestamp"))
                    if key in seen:
                        dups += 1
                    seen.add(key)
                    now = loop.time()
                    if last_sample is not None:
                        longest_gap = max(longest_gap, now - last_sample)
                    last_sample = now
                    n += 1
            await ws.close()
        except websockets.exceptions.ConnectionClosed:
            pass
        except OSError:
            pass
        conns.append([n, round(loop.time() - opened, 3)])
    write(out, {"connections": conns, "reconnects": max(len(conns) - 1, 0),
                "refused": refused, "duplicates": dups, "longest_gap_s": round(longest_gap, 3),
                "samples": sum(c[0] for c in conns)})


def main():
    a = sys.argv[1:]
    if len(a) >= 5 and a[0] == "post":
        interval = float(a[6]) if len(a) >= 7 and a[5] == "--interval" else 0.05
        post(a[1], a[2], a[3], a[4], interval)
    elif len(a) == 5 and a[0] == "view":
        asyncio.run(view(a[1], a[2], a[3], a[4]))
    else:
        sys.exit(__doc__)


main()

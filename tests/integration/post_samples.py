#!/usr/bin/python3
"""post_samples.py: post N samples as one agent over one keep-alive connection.

usage: post_samples.py URL TOKENFILE N [--start T] [--step S] [--ifaces K] [--procs P]
                       [--batch B]

Sample i has timestamp START + i * STEP (default: now - N * STEP, 1 s apart), K
network interfaces (to make it large) and P processes (a "processes" array as
smagent sends it). With --batch B, B samples go in each request (the
{"samples": [...]} shape). Prints the number of samples answered 200; exits 1 if
any reply was not 200. The token is read from a file, never from argv.
"""
import argparse
import http.client
import json
import sys
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("url")
ap.add_argument("token_file")
ap.add_argument("n", type=int)
ap.add_argument("--start", type=float)
ap.add_argument("--step", type=float, default=1.0)
ap.add_argument("--ifaces", type=int, default=0)
ap.add_argument("--procs", type=int, default=0)
ap.add_argument("--batch", type=int, default=0)
a = ap.parse_args()
token = open(a.token_file).read().strip()
u = urllib.parse.urlparse(a.url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
start = a.start if a.start is not None else time.time() - a.n * a.step
ok = 0
pend = []
for i in range(a.n):
    s = {"timestamp": start + i * a.step,
         "cpu": {"usage_percent": (i * 7) % 100, "per_core_usage": [1.0, 2.0]},
         "memory": {"total": 1000, "available": 500, "used_percent": 50.0},
         "network": {"bytes_sent": i, "bytes_recv": 2 * i,
                     "interfaces": [{"name": "if%05d" % k, "rx_bytes_per_s": k, "tx_bytes_per_s": k}
                                    for k in range(a.ifaces)]}}
    if a.procs:
        s["processes"] = [{"pid": 1000 + k, "ppid": 1, "user": "www-data", "state": "S",
                           "name": "worker%02d" % k,
                           "cmdline": "/usr/sbin/worker%02d --config /etc/worker.conf" % k,
                           "cpu_percent": float((i * 13 + k * 7) % 100), "rss_bytes": 52428800 + k,
                           "threads": 4, "start_time": 1765000000.0 + k}
                          for k in range(a.procs)]
    if a.batch:
        pend.append(s)
        if len(pend) < a.batch and i < a.n - 1:
            continue
        s = {"samples": pend}
    conn.request("POST", "/ingest", json.dumps(s),
                 {"X-Agent-Token": token, "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    ok += (len(pend) if a.batch else 1) if r.status == 200 else 0
    pend = []
print(ok)
sys.exit(0 if ok == a.n else 1)

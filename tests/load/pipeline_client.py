#!/usr/bin/env python3
"""pipeline_client.py: clients for the pipelining tests (tests/integration/pipeline_hostile.sh,
tests/bench/bench_pipeline.sh) against a real smserver.

Usage: pipeline_client.py PORT PID SECONDS KIND[,KIND...] [TOKEN]

Each KIND runs in its own thread for SECONDS:
  pipeline  connect, send 64 requests in one write, read until the server closes; again
  flood     connect, write pipelined requests without reading, 1 MiB, then read; again
  churn     connect, one request with "Connection: close", read it; again (the baseline:
            what any client may cost the server without pipelining)
  normal    one kept-alive connection, one request at a time (reconnecting when told
            "Connection: close"), 100 per second at most; with TOKEN, GET /agents as that
            user (a worker job makes each reply), otherwise GET /health
Prints one line per kind: "KIND replies=N conns=N failed=N slowest=S" and a last line
"cpu loop=S total=S secs=S": the CPU time of the server's event loop thread (the
process's first thread) and of the whole process over the run.
"""
import os
import re
import socket
import sys
import threading
import time

port, pid, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
kinds = sys.argv[4].split(",")
token = sys.argv[5] if len(sys.argv) > 5 else ""
GET = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
CLOSE = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
AUTH = b"GET /agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token.encode()


def cpu(path):
    f = open(path).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


stop = threading.Event()
stats = {}


def count(kind, key, n=1):
    stats[kind][key] += n


def read_to_close(s):
    got = b""
    s.settimeout(10)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    return got


def run_pipeline(kind):
    while not stop.is_set():
        s = socket.create_connection(("127.0.0.1", port))
        count(kind, "conns")
        try:
            s.sendall(GET * 64)
        except OSError:
            pass
        got = read_to_close(s)
        s.close()
        n = len(re.findall(rb"HTTP/1\.1 200 ", got))
        count(kind, "replies", n)
        if n == 0:
            count(kind, "failed")


def run_flood(kind):
    blob = GET * (1048576 // len(GET))
    while not stop.is_set():
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(10)
        count(kind, "conns")
        try:
            s.sendall(blob)
        except OSError:
            pass  # the server closed after its one reply: expected
        got = read_to_close(s)
        s.close()
        count(kind, "replies", len(re.findall(rb"HTTP/1\.1 200 ", got)))


def run_churn(kind):
    while not stop.is_set():
        s = socket.create_connection(("127.0.0.1", port))
        count(kind, "conns")
        s.sendall(CLOSE)
        got = read_to_close(s)
        s.close()
        if got.startswith(b"HTTP/1.1 200 "):
            count(kind, "replies")
        else:
            count(kind, "failed")


def run_normal(kind):
    req = AUTH if token else GET
    end = b"]" if token else b"}"
    s = None
    while not stop.is_set():
        t = time.monotonic()
        try:
            if s is None:
                s = socket.create_connection(("127.0.0.1", port))
                s.settimeout(10)
                count(kind, "conns")
            s.sendall(req)
            got = b""
            while not (b"\r\n\r\n" in got and got.rstrip().endswith(end)):
                d = s.recv(65536)
                if not d:
                    raise OSError("closed before the reply")
                got += d
            if not got.startswith(b"HTTP/1.1 200 "):
                raise OSError("status %r" % got[:15])
            count(kind, "replies")
            if b"connection: close" in got.lower():
                s.close()
                s = None
        except OSError as e:
            count(kind, "failed")
            print("normal: %s" % e, file=sys.stderr)
            if s:
                s.close()
            s = None
        took = time.monotonic() - t
        stats[kind]["slowest"] = max(stats[kind]["slowest"], took)
        time.sleep(max(0.0, 0.01 - took))


threads = []
for k in kinds:
    stats[k] = {"replies": 0, "conns": 0, "failed": 0, "slowest": 0.0}
    threads.append(threading.Thread(target=globals()["run_" + k], args=(k,)))
loop0 = cpu("/proc/%s/task/%s/stat" % (pid, pid))
all0 = cpu("/proc/%s/stat" % pid)
t0 = time.monotonic()
for t in threads:
    t.start()
time.sleep(secs)
stop.set()
for t in threads:
    t.join()
took = time.monotonic() - t0
for k in kinds:
    s = stats[k]
    print("%s replies=%d conns=%d failed=%d slowest=%.3f" % (k, s["replies"], s["conns"],
                                                           s["failed"], s["slowest"]))
print("cpu loop=%.2f total=%.2f secs=%.1f" % (cpu("/proc/%s/task/%s/stat" % (pid, pid)) - loop0,
                                              cpu("/proc/%s/stat" % pid) - all0, took))

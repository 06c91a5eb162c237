#!/usr/bin/python3
"""fake_ingest.py: a scripted stand-in for smserver's POST /ingest.

The real server cannot be made to answer 503, 429 with Retry-After or 413 on demand,
so the agent's reply policy is tested against this: it answers by MODE and logs each
request as a JSON line {"t", "n", "ts", "status"} to LOG.

Usage: fake_ingest.py MODE PORTFILE LOG
  outage413    requests 1-3 get 503; then batches of more than 2 samples get 413
  retry-after  request 1 gets 429 with Retry-After: 3
  bad          request 1 gets 400
  reset        request 1 is read, then the connection is closed with no reply (a reply
               lost after the server stored the samples)
  redirect     every request gets 307 to /elsewhere (which would answer 200)
  ok           every request gets 200
With FAKE_TLS_CERT and FAKE_TLS_KEY set it speaks https.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

MODE, PORTFILE, LOG = sys.argv[1:4]
count = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        global count
        count += 1
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        ts = [s["timestamp"] for s in body.get("samples", [])]
        status, extra = 200, {}
        if self.path == "/elsewhere":
            status = 200
        elif self.path != "/ingest":
            status = 404
        elif MODE == "redirect":
            status, extra = 307, {"Location": "/elsewhere"}
        if self.headers.get("X-Agent-Token") != "fake-token":
            status = 401
        elif status != 200:
            pass
        elif MODE == "outage413":
            if count <= 3:
                status = 503
            elif len(ts) > 2:
                status = 413
        elif MODE == "retry-after" and count == 1:
            status, extra = 429, {"Retry-After": "3"}
        elif MODE == "bad" and count == 1:
            status = 400
        elif MODE == "reset" and count == 1:
            with open(LOG, "a") as f:
                f.write(json.dumps({"t": time.monotonic(), "n": len(ts), "ts": ts, "status": 0}) + "\n")
            self.close_connection = True
            self.connection.shutdown(2)
            return
        reply = b'{"detail": "scripted"}' if status != 200 else b'{"stored": 1}'
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
        with open(LOG, "a") as f:
            f.write(json.dumps({"t": time.monotonic(), "n": len(ts), "ts": ts, "status": status,
                                "path": self.path}) + "\n")


server = HTTPServer(("127.0.0.1", 0), Handler)
if os.environ.get("FAKE_TLS_CERT"):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.environ["FAKE_TLS_CERT"], os.environ["FAKE_TLS_KEY"])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()

#!/usr/bin/python3
"""webhook_receiver.py: a local HTTP receiver for alert notifications (tests only).

usage: webhook_receiver.py LOG [--port N] [--port-file FILE]

Listens on 127.0.0.1 (port N, or a free one written to FILE), answers every POST with
200 (a path starting with /redirect with 307 to /redirected) and appends one JSON line
per request to LOG: {"path", "headers", "body"}.
"""
import argparse
import http.server
import json

ap = argparse.ArgumentParser()
ap.add_argument("log")
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--port-file")
a = ap.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8")
        with open(a.log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers.items()),
                                "body": body}) + "\n")
        if self.path.startswith("/redirect"):
            self.send_response(307)
            self.send_header("Location", "/redirected")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "11")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *args):
        pass


http.server.HTTPServer.allow_reuse_address = True
srv = http.server.HTTPServer(("127.0.0.1", a.port), Handler)
if a.port_file:
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
srv.serve_forever()

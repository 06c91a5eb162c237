#!/usr/bin/python3
"""stuck_client.py: a WebSocket client that authenticates, subscribes and then stops
reading (a tiny receive buffer, no library buffering), until FILE exists; then it reads
whatever arrives for a few seconds and prints a JSON summary of what it saw:
{"samples": N, "lag": true/false, "dropped": N, "close": CODE or null}.

usage: stuck_client.py HOST PORT TOKENFILE UNTILFILE [SECONDS]
"""
import base64
import json
import os
import re
import socket
import struct
import sys
import time


def frame(text):
    """A masked client text frame."""
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    head = bytes([0x81])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


host, port, token_file, until = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
token = open(token_file).read().strip()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect((host, port))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (host, port, key)).encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(1)
    if not chunk:
        print(json.dumps({"error": "handshake closed"}))
        sys.exit(1)
    head += chunk
if b" 101 " not in head.split(b"\r\n")[0]:
    print(json.dumps({"error": head.split(b"\r\n")[0].decode()}))
    sys.exit(1)
s.sendall(frame(json.dumps({"type": "auth", "token": token})))
s.sendall(frame(json.dumps({"type": "subscribe", "agents": "all"})))
# Stuck: read nothing until told.
deadline = time.time() + 120
while not os.path.exists(until) and time.time() < deadline:
    time.sleep(0.1)
data = b""
s.settimeout(0.5)
end = time.time() + seconds
while time.time() < end:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        break
    data += chunk
m = re.search(rb'"type":"lag","dropped":(\d+)', data)
close = None
i = data.rfind(b"\x88")
if i >= 0 and i + 4 <= len(data):
    close = struct.unpack(">H", data[i + 2:i + 4])[0]
print(json.dumps({"samples": data.count(b'"type":"sample"'), "lag": bool(m),
                  "dropped": int(m.group(1)) if m else 0, "close": close}))

#!/usr/bin/python3
"""fake_smserver.py: a server that speaks just enough of smserver's API to log a client
in, then sends a malformed live stream, for testing smtop against bad input.

usage: fake_smserver.py PORTFILE

Listens on 127.0.0.1 port 0 and writes the port to PORTFILE. POST /token and /refresh
answer with tokens; GET /agents with []; anything else 404. GET /ws upgrades (protocol
"sm"), waits for the first client message, then sends: a valid snapshot with agent
"good", and then bad messages one by one: text that is not JSON, a snapshot with bad
fields, a sample with a bad agent_id, JSON nested too deep, a sample with a bad
timestamp, a binary frame, an alert without a rule id, a firing alert whose name holds
an escape sequence and is 300 characters long, a message of an unknown type, and finally a valid sample of
"good" (so a client that survived shows cpu 42.0 and then 43.0). The connection then
stays open until the client leaves.

For the client's REST replies (tests/integration/smtop_client_replies.sh), GET /big
answers 200 with a JSON body larger than the client's 16 MiB cap, /notjson with a body
that is not JSON, /chunked with JSON in chunked transfer encoding, /cut with half the body
its Content-Length promises before closing, and /whoami with 200 when the request carried
the access token last issued (else 401).
"""
import asyncio
import base64
import hashlib
import json
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt():
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps({"sub": "1", "exp": int(time.time()) + 1800}).encode())
    return "%s.%s.%s" % (head, body, b64url(b"x" * 32))


def frame(data, opcode=1):
    n = len(data)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + n.to_bytes(2, "big")
    else:
        head += bytes([127]) + n.to_bytes(8, "big")
    return head + data


def sample(cpu):
    return {"timestamp": time.time(), "cpu": {"usage_percent": cpu, "per_core_usage": [cpu]},
            "memory": {"total": 1000, "available": 500, "used_percent": 50.0}}


def script():
    now = time.time()
    good = {"agent_id": 2, "name": "good", "online": True, "last_seen": now,
            "host": {"hostname": "good", "cores": 1}, "sample": sample(42.0)}
    yield 1, json.dumps({"type": "snapshot", "agents": [good]}).encode()
    yield 1, b"this is not json"
    yield 1, json.dumps({"type": "snapshot", "agents": [
        {"agent_id": 2, "name": "good", "online": True, "last_seen": now,
         "host": {"hostname": 5}, "sample": {"cpu": {"usage_percent": 500}}}]}).encode()
    yield 1, b'{"type":"sample","agent_id":"x","sample":{}}'
    yield 1, b"[" * 200 + b"]" * 200
    yield 1, b'{"type":"sample","agent_id":2,"sample":{"timestamp":"garbage"}}'
    yield 2, b"\x00\xff\x10binary"
    yield 1, b'{"type":"alert","agent_id":2,"rule_id":"x","state":"firing"}'
    yield 1, json.dumps({"type": "alert", "agent_id": 2, "rule_id": 7,
                         "name": "evil\u001b[31mname" + "x" * 300, "metric": "cpu.usage",
                         "labels": "", "severity": "critical", "state": "firing", "value": 43.0,
                         "timestamp": now}).encode()
    yield 1, b'{"type":"surprise","agent_id":2}'
    yield 1, json.dumps({"type": "sample", "agent_id": 2, "sample": sample(43.0)}).encode()


async def reply(writer, status, body):
    data = json.dumps(body).encode()
    writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n%s" % (status, len(data), data))
    await writer.drain()
    writer.close()


ISSUED = set()


async def reply_raw(writer, head, body):
    writer.write(head + body)
    await writer.drain()
    writer.close()


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except Exception:
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    if n:
        await reader.readexactly(n)
    if method == "POST" and path in ("/token", "/refresh"):
        tok = jwt()
        ISSUED.add(tok)
        await reply(writer, 200, {"access_token": tok, "refresh_token": "r" * 43,
                                  "token_type": "bearer", "expires_in": 1800})
        return
    if method == "GET" and path == "/big":
        body = b'{"pad":"' + b"x" * (17 << 20) + b'"}'
        await reply_raw(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body), body)
        return
    if method == "GET" and path == "/notjson":
        body = b"<html>not json</html>"
        await reply_raw(writer, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body), body)
        return
    if method == "GET" and path == "/chunked":
        parts = [b'{"first":1,', b'"second":', b'2}']
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        await reply_raw(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", body)
        return
    if method == "GET" and path == "/cut":
        await reply_raw(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 100\r\nConnection: close\r\n\r\n", b'{"half":')
        return
    if method == "GET" and path == "/whoami":
        auth = headers.get("authorization", "")
        ok = auth.startswith("Bearer ") and auth[7:] in ISSUED
        await reply(writer, 200 if ok else 401, {"user": "u"} if ok else {"detail": "no token"})
        return
    if method == "GET" and path == "/agents":
        await reply(writer, 200, [])
        return
    if not (method == "GET" and path == "/ws" and "sec-websocket-key" in headers):
        await reply(writer, 404, {"detail": "Not found"})
        return
    accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: sm\r\n\r\n")
    await writer.drain()
    try:
        await reader.read(1)  # the auth message has started to arrive
        for opcode, data in script():
            writer.write(frame(data, opcode))
            await writer.drain()
            await asyncio.sleep(0.05)
        while await reader.read(4096):  # until the client leaves
            pass
    except Exception:
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    async with server:
        await server.serve_forever()


asyncio.run(main())

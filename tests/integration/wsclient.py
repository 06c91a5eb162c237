#!/usr/bin/python3
"""wsclient.py: a WebSocket client that is not ours (Debian's python3-websockets), for
the live-stream tests. Prints every message received as one JSON line, then a final
line {"closed": CODE, "reason": "..."} when the server closes the connection.

usage: wsclient.py URL [--token-file F] [--auth message|protocol|none] [--first TEXT]
                   [--subscribe all|1,2] [--origin O] [--count N [--count-type T]] [--seconds S]
                   [--delay-auth S] [--stall S] [--rcvbuf BYTES] [--send TEXT ...]
                   [--send-raw HEX] [--send-binary TEXT]

--auth message sends {"type":"auth","token":...} first; protocol offers the token as
a subprotocol after ours ("sm, bearer.TOKEN"); none sends nothing. --first sends TEXT as
the first message instead. --stall S stops reading for S seconds after subscribing
(a stuck client). --send-raw sends the bytes HEX as one text frame without checking
that they are UTF-8; --send-binary sends TEXT as a binary frame. --count N stops after N
messages, or after N messages of type T with --count-type T. The token is read from a file so that it never appears in argv.
"""
import argparse
import asyncio
import json
import sys

import websockets


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--token-file")
    ap.add_argument("--auth", default="message", choices=["message", "protocol", "none"])
    ap.add_argument("--first")
    ap.add_argument("--subscribe")
    ap.add_argument("--origin")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--count-type", help="count only messages of this type toward --count")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--delay-auth", type=float, default=0)
    ap.add_argument("--stall", type=float, default=0)
    ap.add_argument("--send", action="append", default=[])
    ap.add_argument("--send-raw")
    ap.add_argument("--send-binary")
    ap.add_argument("--rcvbuf", type=int, default=0, help="small socket receive buffer (a slow reader)")
    a = ap.parse_args()
    token = open(a.token_file).read().strip() if a.token_file else ""
    kw = {"max_size": 16 << 20, "open_timeout": 5}
    if a.origin:
        kw["origin"] = a.origin
    if a.auth == "protocol":
        kw["subprotocols"] = ["sm", "bearer." + token]
    if a.rcvbuf:
        import socket
        import urllib.parse
        u = urllib.parse.urlparse(a.url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        sock.connect((u.hostname, u.port))
        kw["sock"] = sock
    try:
        ws = await websockets.connect(a.url, **kw)
    except websockets.exceptions.InvalidStatusCode as e:
        out({"refused": e.status_code})
        return
    except Exception as e:  # handshake refused in another way
        out({"refused": str(e)})
        return
    got = 0
    try:
        if a.delay_auth:
            await asyncio.sleep(a.delay_auth)
        if a.first is not None:
            await ws.send(a.first)
        elif a.auth == "message":
            await ws.send(json.dumps({"type": "auth", "token": token}))
        if a.subscribe:
            agents = "all" if a.subscribe == "all" else [int(x) for x in a.subscribe.split(",")]
            await ws.send(json.dumps({"type": "subscribe", "agents": agents}))
        for text in a.send:
            await ws.send(text)
        if a.send_raw:
            # Below the library's API: a text frame whose payload is not UTF-8.
            await ws.write_frame(True, 0x1, bytes.fromhex(a.send_raw))
        if a.send_binary:
            await ws.send(a.send_binary.encode())
        if a.stall:
            await asyncio.sleep(a.stall)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + a.seconds
        while a.count == 0 or got < a.count:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                msg = await asyncio.wait_for(ws.recv(), left)
            except asyncio.TimeoutError:
                break
            m = json.loads(msg)
            out(m)
            if a.count_type is None or (isinstance(m, dict) and m.get("type") == a.count_type):
                got += 1
        await ws.close()
        out({"closed": ws.close_code, "reason": ws.close_reason})
    except websockets.exceptions.ConnectionClosed as e:
        out({"closed": e.code, "reason": e.reason})


asyncio.run(main())

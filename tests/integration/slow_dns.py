#!/usr/bin/python3
"""slow_dns.py: a DNS server for one test that answers every A query with 127.0.0.1 (and
every other query with no record), each after DELAY seconds, on UDP 127.0.0.1:53. Meant
for a private network namespace (agent_dns.sh), where it first brings the loopback
interface up. Writes READY_FILE once listening; logs one line per query to stdout.

usage: slow_dns.py DELAY READY_FILE
"""
import fcntl
import socket
import struct
import sys
import threading

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifr = struct.pack("16sH", b"lo", 0)
    flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))
    s.close()


def answer(query):
    """The reply to one query: the question echoed, an A record of 127.0.0.1 if asked."""
    qid, _, qdcount = struct.unpack("!HHH", query[:6])
    pos = 12
    while query[pos] != 0:  # the question name, as labels
        pos += 1 + query[pos]
    qtype, _ = struct.unpack("!HH", query[pos + 1:pos + 5])
    question = query[12:pos + 5]
    records = b""
    if qtype == 1:
        records = struct.pack("!HHHIH4s", 0xC00C, 1, 1, 0, 4, socket.inet_aton("127.0.0.1"))
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1 if records else 0, 0, 0) + question + records


def main():
    delay, ready = float(sys.argv[1]), sys.argv[2]
    loopback_up()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    with open(ready, "w") as f:
        f.write("ready\n")
    while True:
        query, peer = sock.recvfrom(512)
        if len(query) < 17:
            continue
        print("query from %s:%d (%d bytes)" % (peer[0], peer[1], len(query)), flush=True)
        threading.Timer(delay, sock.sendto, (answer(query), peer)).start()


if __name__ == "__main__":
    main()

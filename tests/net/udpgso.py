"""udpgso.py - UDP datagrams sent as GSO super-packets, checked one by one.

  udpgso.py sink ADDR PORT OUT         receive until 2 s pass without a
                                       datagram; write a JSON summary to OUT
  udpgso.py send ADDR PORT N SIZE K    N sends of K datagrams (UDP_SEGMENT =
                                       SIZE): K-1 of SIZE bytes and a last
                                       one 500 bytes shorter

Every datagram carries its number and a SHA-256 of its own payload, so the
sink can tell an intact datagram from one that segmentation or coalescing
cut at the wrong place, glued to another, or changed; numbers seen twice
are counted too.  The sender paces itself (UDP has no flow control): a
loss count says how much, and the caller decides what is acceptable.
"""
import hashlib
import json
import os
import socket
import struct
import sys
import time

UDP_SEGMENT = 103       # linux/udp.h


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def datagram(n, size):
    body = bytes((n * 7 + i) & 0xff for i in range(size - 36))
    return struct.pack("!I", n) + hashlib.sha256(body).digest() + body


def sink(addr, port, out):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, port))
    s.settimeout(30)
    seen, good, bad, dup, sizes = set(), 0, 0, 0, set()
    try:
        while True:
            d = s.recv(65536)
            s.settimeout(2)
            sizes.add(len(d))
            n = struct.unpack("!I", d[:4])[0] if len(d) >= 36 else None
            if n is None or hashlib.sha256(d[36:]).digest() != d[4:36]:
                bad += 1
            elif n in seen:
                dup += 1
            else:
                seen.add(n)
                good += 1
    except socket.timeout:
        pass
    with open(out + ".tmp", "w") as f:
        json.dump({"good": good, "bad": bad, "dup": dup, "sizes": sorted(sizes)}, f)
    os.rename(out + ".tmp", out)


def send(addr, port, count, size, k):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, size)
    s.connect((addr, port))
    n = 0
    for _ in range(count):
        s.send(b"".join(datagram(n + j, size if j < k - 1 else size - 500)
                        for j in range(k)))
        n += k
        time.sleep(0.003)


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sink(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
             int(sys.argv[6]))

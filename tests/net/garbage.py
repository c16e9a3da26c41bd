"""garbage.py DST FILE...: every file (fuzz seeds: first byte is the
harness mode, dropped) sent as one datagram to UDP 500, UDP 4500 and as raw
ESP, then truncated and oversized datagrams and random ones.  Prints
"sent500 sent4500 sentesp" for the counters to be checked against."""
import os
import random
import socket
import sys
import time

dst, files = sys.argv[1], sys.argv[2:]
random.seed(7)
bodies = [open(f, "rb").read()[1:] for f in files]
bodies += [os.urandom(n) for n in (0, 1, 2, 3, 4, 7, 8, 12, 16, 27, 28, 60)]
bodies += [os.urandom(random.randint(1, 1500)) for _ in range(300)]
bodies += [bytes(65000), os.urandom(65000), b"\xff" * 9000]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
esp = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
sent = [0, 0, 0]
for i, b in enumerate(bodies):
    for k, (sock, port) in enumerate(((udp, 500), (udp, 4500), (esp, 0))):
        try:
            sock.sendto(b, (dst, port))
            sent[k] += 1
        except OSError:
            pass
    if i % 50 == 0:
        time.sleep(0.01)	# a burst, not a socket-buffer overflow
print(*sent)

"""trickle.py SOCKET SECONDS: a control client that sends its request one
byte at a time, a byte every 1.5 s, and then reads nothing.  Prints
"closed" if the daemon hung up on it before it was done, else "done"."""
import socket
import sys
import time

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
end = time.time() + float(sys.argv[2])
req = b"text show"
i = 0
try:
    while time.time() < end:
        s.send(req[i % len(req):i % len(req) + 1])
        i += 1
        time.sleep(1.5)
    print("done")
except OSError:
    print("closed")

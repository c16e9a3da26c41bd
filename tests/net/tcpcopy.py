"""tcpcopy.py - one TCP connection's worth of data, checked end to end.

  tcpcopy.py sink ADDR PORT OUT   accept one connection, write the SHA-256
                                  of everything received to OUT
  tcpcopy.py send ADDR PORT FILE  connect (retrying while the sink starts)
                                  and send FILE

TCP checksums only catch what a bad checksum catches; the hash catches
segmentation or coalescing that loses, repeats or reorders bytes.
"""
import hashlib
import os
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def sink(addr, port, out):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(60)
    c, _ = s.accept()
    c.settimeout(60)
    h = hashlib.sha256()
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d)
    with open(out + ".tmp", "w") as f:
        f.write(h.hexdigest() + "\n")
    os.rename(out + ".tmp", out)


def send(addr, port, path):
    for _ in range(100):
        try:
            c = socket.create_connection((addr, port), timeout=60)
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("cannot connect to %s port %d" % (addr, port))
    with open(path, "rb") as f:
        c.sendall(f.read())
    c.shutdown(socket.SHUT_WR)
    c.close()


if __name__ == "__main__":
    mode, addr, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sink(addr, port, path) if mode == "sink" else send(addr, port, path)

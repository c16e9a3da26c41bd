"""notify.py SOCKET OUT NS IFACE...: a stand-in for systemd's notification
socket (sd_notify(3)): one line per datagram to OUT as "TIME_MS MESSAGE",
where MESSAGE's lines are joined by '|'.  On READY=1 it also records
whether every IFACE exists in namespace NS at that moment."""
import os
import socket
import subprocess
import sys
import time

path, out, ns, ifaces = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
with open(out, "a", buffering=1) as f:
    while True:
        m = s.recv(4096).decode(errors="replace").strip().replace("\n", "|")
        line = "%d %s" % (time.monotonic() * 1000, m)
        if "READY=1" in m:
            ok = all(subprocess.run(["ip", "-n", ns, "link", "show", "dev", i],
                                    capture_output=True).returncode == 0 for i in ifaces)
            line += " ifaces=%s" % ("all" if ok else "missing")
        f.write(line + "\n")

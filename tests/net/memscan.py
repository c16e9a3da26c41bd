"""memscan.py PID STRING: how many times STRING occurs in the writable
memory of process PID (heap, stack, data), read through /proc/PID/mem.
STRING "hex:..." stands for the bytes that hex spells (a binary key);
memscan.py PID --hex HEX says the same.
Root can read a non-dumpable process's memory; the count is printed."""
import re
import sys

pid, arg = int(sys.argv[1]), sys.argv[2]
if arg == "--hex":
    needle = bytes.fromhex(sys.argv[3])
elif arg.startswith("hex:"):
    needle = bytes.fromhex(arg[4:])
else:
    needle = arg.encode()
count = 0
with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        start, end, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if "r" not in perms or "w" not in perms or end - start > (1 << 30):
            continue
        try:
            mem.seek(start)
            count += mem.read(end - start).count(needle)
        except OSError:
            pass
print(count)

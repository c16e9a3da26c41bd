#!/usr/bin/python3
"""The first IKE SA's SK_ei/SK_er (and SK_ai/SK_ar) from charon's log at
ike = 4, where it dumps each as "Sk_ei secret => N bytes @ 0x..." followed
by hex lines "   0: 4A 6B ...  ASCII".  Prints them as KEY=hex lines.
Usage: charon_keys.py CHARON_LOG"""
import re
import sys

want = {"Sk_ei": None, "Sk_er": None, "Sk_ai": None, "Sk_ar": None}
cur, need, buf = None, 0, []
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"(Sk_[ea][ir]) secret => (\d+) bytes", line)
    if m:
        cur, need, buf = (m.group(1), int(m.group(2)), []) if want[m.group(1)] is None else (None, 0, [])
        if cur and need == 0:
            want[cur], cur = "", None
        continue
    if cur:
        m = re.search(r"\]\s+\d+: (.*)$", line)
        if not m:
            cur = None
            continue
        for tok in m.group(1).split()[:min(16, need - len(buf))]:
            if not re.fullmatch(r"[0-9A-Fa-f]{2}", tok):
                break
            buf.append(tok.lower())
        if len(buf) >= need:
            want[cur], cur = "".join(buf), None
for k, v in want.items():
    print("%s=%s" % (k, v or ""))
if not want["Sk_ei"] or not want["Sk_er"]:
    sys.exit("charon_keys.py: no Sk_ei/Sk_er in %s (filelog ike = 4?)" % sys.argv[1])

#!/usr/bin/python3
"""wire_check.py PCAP charon LOG@OFFSET...  or  PCAP pluto LOG@OFFSET SHIMLOG@OFFSET: tshark, a third
implementation, reads a whole interop case off the wire.  Every encrypted
IKE message (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL) must decrypt and
authenticate, every ESP packet must decrypt with a good ICV, and no packet
may be malformed or carry an expert error.

The keys come from the peer's own logs, read from OFFSET on (what it
logged during this case):
  charon  charon.log at ike = 4 / chd = 4: each IKE SA's Sk_e[ir]/Sk_a[ir]
          and each Child SA's encryption keys, without SPIs; which key set
          belongs to which SPI is found by trying them (a wrong key fails
          tshark's integrity check).
  pluto   pluto.log at plutodebug=base,private: "ikev2 I|R SPIi SPIr
          INTEG:KEY ENC:KEY" per IKE SA (it omits the AES-GCM salt, so the
          matrix gives pluto's IKE SAs AES-CBC + HMAC-SHA2); the XFRM shim's
          log has each ESP SA with SPI, addresses and key.
Prints one summary line; exits 1 with the reason on failure."""
import re
import subprocess
import sys
from collections import Counter

EXCH = {"34": "IKE_SA_INIT", "35": "IKE_AUTH", "36": "CREATE_CHILD_SA", "37": "INFORMATIONAL"}
GCM = {16: "AES-GCM-128 with 16 octet ICV [RFC5282]", 24: "AES-GCM-192 with 16 octet ICV [RFC5282]",
       32: "AES-GCM-256 with 16 octet ICV [RFC5282]"}
CBC = {16: "AES-CBC-128 [RFC3602]", 24: "AES-CBC-192 [RFC3602]", 32: "AES-CBC-256 [RFC3602]"}
INTEG = {0: "NONE [RFC4306]", 32: "HMAC_SHA2_256_128 [RFC4868]", 48: "HMAC_SHA2_384_192 [RFC4868]",
         64: "HMAC_SHA2_512_256 [RFC4868]"}
ESP_GCM = "AES-GCM with 16 octet ICV [RFC4106]"


def fail(msg):
    print("FAIL: wire_check: " + msg)
    sys.exit(1)


def tail(arg):
    path, _, off = arg.partition("@")
    with open(path, errors="replace") as f:
        f.seek(int(off or 0))
        return f.read().splitlines()


def ike_set(ei, er, ai, ar, aead):
    """An IKE key set as the ikev2_decryption_table wants it (the AES-GCM
    keys carry their 4-byte salt: RFC 5282 §7.1)."""
    if aead:
        enc = GCM.get(len(ei) // 2 - 4)
    else:
        enc = CBC.get(len(ei) // 2)
    integ = INTEG.get(len(ai) // 2)
    if not enc or integ is None:
        fail("no tshark name for IKE keys of %d/%d bytes" % (len(ei) // 2, len(ai) // 2))
    return (ei, er, enc, ai, ar, integ)


def charon_keys(lines):
    """Key sets in the order charon derived them: IKE (Sk_*) and ESP
    (encryption initiator/responder key)."""
    ike, esp, cur, need, buf, got = [], [], None, 0, [], {}
    for line in lines + [""]:
        if cur:
            m = re.search(r"\]\s+\d+: (.*)$", line)
            toks = [t for t in (m.group(1).split()[:16] if m else []) if re.fullmatch(r"[0-9A-Fa-f]{2}", t)]
            buf += toks[:need - len(buf)]
            if m and len(buf) < need:
                continue
            got[cur], cur = "".join(buf).lower(), None
            if "Sk_pr" in got:
                aead = got.get("Sk_ai", "") == ""
                ike.append(ike_set(got["Sk_ei"], got["Sk_er"], got.get("Sk_ai", ""),
                                   got.get("Sk_ar", ""), aead))
                got = {}
            if "encryption responder key" in got:
                esp.append(got.pop("encryption initiator key", ""))
                esp.append(got.pop("encryption responder key"))
        m = re.search(r"(Sk_[eap][ir]|encryption (?:initiator|responder) key)(?: secret)? => (\d+) bytes", line)
        if m:
            cur, need, buf = m.group(1), int(m.group(2)), []
            if need == 0:
                got[cur], cur = "", None
    return ike, [k for k in esp if k]


def pluto_keys(lines, shim):
    """{(ispi, rspi): key set} from pluto's "ikev2 I/R" lines and
    {spi: key} from its shim's NEWSA/UPDSA lines."""
    half, ike = {}, {}
    for line in lines:
        m = re.search(r"ikev2 ([IR]) 0x([0-9a-f]+) 0x([0-9a-f]+) (\S*):(?:0x)?([0-9a-f]*) (\S+):0x([0-9a-f]+)", line)
        if not m:
            continue
        role, si, sr, integ, ikey, enc, ekey = m.groups()
        half[(si, sr, role)] = (ekey, ikey, "gcm" in enc)
        if (si, sr, "I") in half and (si, sr, "R") in half:
            (ei, ai, aead), (er, ar, _) = half[(si, sr, "I")], half[(si, sr, "R")]
            if aead:
                fail("pluto logs AES-GCM IKE keys without their salt: give its IKE SAs AES-CBC")
            ike[(si, sr)] = [ike_set(ei, er, ai, ar, False)]
    esp = {}
    for line in shim:
        m = re.search(r" [NU][EP][WD]SA spi=0x([0-9a-f]+) proto=50 src=(\S+) dst=(\S+) .*aead=rfc4106\S* .*key=([0-9a-f]+)", line)
        if m:
            spi, src, dst, key = m.groups()
            # by SPI alone: across a NAT, the addresses on vtid's side differ
            esp[int(spi, 16)] = [key]
    return ike, esp


def tshark(pcap, ike_tab, esp_tab, fields, filt=None):
    opts = ["-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE"]
    for (si, sr), (ei, er, enc, ai, ar, integ) in ike_tab.items():
        opts += ["-o", 'uat:ikev2_decryption_table:%s,%s,%s,%s,"%s",%s,%s,"%s"'
                 % (si, sr, ei, er, enc, ai, ar, integ)]
    for (src, dst, spi), key in esp_tab.items():
        opts += ["-o", 'uat:esp_sa:"IPv4","%s","%s","0x%08x","%s","0x%s","NULL",""'
                 % (src, dst, spi, ESP_GCM, key)]
    cmd = ["tshark", "-r", pcap] + opts + ["-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    if filt:
        cmd += ["-Y", filt]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail("tshark: " + r.stderr.strip()[-300:])
    return [line.split("|") for line in r.stdout.splitlines()]


def frames(pcap, ike_tab, esp_tab):
    """Per frame: (number, IKE SPIs, exchange, ESP SA, decrypted?)."""
    rows = tshark(pcap, ike_tab, esp_tab,
                  ["frame.number", "isakmp.ispi", "isakmp.rspi", "isakmp.exchangetype",
                   "esp.spi", "ip.src", "ip.dst", "isakmp.enc.decrypted", "esp.icv_good",
                   "_ws.expert.message"], "isakmp or esp")
    out = []
    for n, si, sr, ex, spi, src, dst, dec, good, expert in rows:
        si, sr, ex = si.split(",")[0], sr.split(",")[0], ex.split(",")[0]
        if ex:
            enc = ex in ("35", "36", "37")
            ok = not enc or (dec != "" and "Integrity Checksum Data is incorrect" not in expert)
            out.append((n, (si, sr), ex, None, ok))
        elif spi:
            # the outer header's: a decrypted packet adds the inner ones
            src, dst, spi = src.split(",")[0], dst.split(",")[0], spi.split(",")[0]
            out.append((n, None, None, (src, dst, int(spi, 16)), good.split(",")[0] in ("1", "True")))
    return out


def assign(pcap, items_ike, items_esp):
    """Try each item's candidates in turn: run r gives every SA its r-th
    candidate; an SA keeps the first candidate under which its frames
    decrypt.  Returns the tables that decrypt most."""
    ike_tab, esp_tab = {}, {}
    rounds = max([len(c) for c in list(items_ike.values()) + list(items_esp.values())] + [0])
    for r in range(rounds):
        ti = {k: c[r] for k, c in items_ike.items() if k not in ike_tab and r < len(c)}
        te = {k: c[r] for k, c in items_esp.items() if k not in esp_tab and r < len(c)}
        bad_ike, bad_esp, seen_ike, seen_esp = set(), set(), set(), set()
        for _, spis, ex, sa, ok in frames(pcap, ti, te):
            if spis and ex != "34":
                seen_ike.add(spis)
                if not ok:
                    bad_ike.add(spis)
            elif sa:
                seen_esp.add(sa)
                if not ok:
                    bad_esp.add(sa)
        ike_tab.update({k: v for k, v in ti.items() if k in seen_ike and k not in bad_ike})
        esp_tab.update({k: v for k, v in te.items() if k in seen_esp and k not in bad_esp})
    return ike_tab, esp_tab


def main():
    if len(sys.argv) < 4:
        fail("usage: wire_check.py PCAP charon LOG@OFFSET... | PCAP pluto LOG@OFFSET SHIMLOG@OFFSET")
    pcap, peer = sys.argv[1], sys.argv[2]
    all_frames = frames(pcap, {}, {})
    ike_spis = sorted({f[1] for f in all_frames if f[1] and f[2] != "34"})
    esp_sas = sorted({f[3] for f in all_frames if f[3]})
    if peer == "charon":
        ike, esp = charon_keys([line for arg in sys.argv[3:] for line in tail(arg)])
        items_ike = {s: ike for s in ike_spis}
        items_esp = {s: esp for s in esp_sas}
    else:
        ike, esp = pluto_keys(tail(sys.argv[3]), tail(sys.argv[4]))
        items_ike = {s: ike.get(s, []) for s in ike_spis}
        items_esp = {s: esp.get(s[2], []) for s in esp_sas}
    ike_tab, esp_tab = assign(pcap, items_ike, items_esp)
    final = frames(pcap, ike_tab, esp_tab)
    undec = [f for f in final if not f[4]]
    if undec:
        n, spis, ex, sa, _ = undec[0]
        what = "%s %s/%s" % (EXCH.get(ex, ex), spis[0], spis[1]) if spis else "ESP SPI 0x%08x %s>%s" % (sa[2], sa[0], sa[1])
        fail("%d of %d packets not decrypted (first: frame %s, %s); keys for %d of %d IKE SAs, %d of %d ESP SAs"
             % (len(undec), len(final), n, what, len(ike_tab), len(ike_spis), len(esp_tab), len(esp_sas)))
    bad = tshark(pcap, ike_tab, esp_tab, ["frame.number", "_ws.expert.message"],
                 '_ws.malformed || _ws.expert.severity >= "Error"')
    if bad:
        fail("%d malformed or erroneous packets, first: frame %s" % (len(bad), " ".join(bad[0])))
    if not any(f[2] == "35" for f in final):
        fail("no IKE_AUTH in the capture")
    # Every case passes traffic.
    if not any(f[3] for f in final):
        fail("no ESP in the capture (every case passes traffic)")
    ex = Counter(EXCH.get(f[2], f[2]) for f in final if f[2])
    nesp = sum(1 for f in final if f[3])
    print("tshark: %s; %d ESP packets in %d SAs: all decrypted and authenticated with %s's keys, none malformed"
          % (", ".join("%d %s" % (v, k) for k, v in sorted(ex.items())), nesp, len(esp_sas), peer))


main()

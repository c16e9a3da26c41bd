#!/usr/bin/python3
"""ESP on behalf of an IKE peer that cannot do ESP itself (libreswan's pluto
here: the kernel has no ESP; its shim logs the keys of the SAs it was asked
to install, shared/peers/libreswan/README.md).

With the keys of the Child SA vtid negotiated with that peer, scapy
  1. encrypts ICMP echo requests with the peer's outbound SA (vtid's inbound
     SPI) and sends them to vtid: vtid must accept them (its rx counters) and
     its own kernel answers them through the tunnel;
  2. captures vtid's ESP on the wire and decrypts it with the peer's inbound
     SA (vtid's outbound SPI): every echo reply must come back, and nothing
     else may arrive on that SA (with --only4: no IPv6 inside).
Usage: esp_peer.py KEYLOG PEER VTID INNER_PEER INNER_VTID SPI_IN SPI_OUT [COUNT] [--only4]
With --only4 it listens 1 s longer (the caller routes IPv6 into the tunnel
meanwhile) and fails if any IPv6 packet arrives inside the SA.
SPI_IN/SPI_OUT are vtid's (vtictl show).  Prints one line, exits 1 on failure.

esp_peer.py --stream STOPFILE MAXLOST KEYLOG PEER VTID INNER_PEER INNER_VTID:
traffic while the SAs change under it (rekeys), until STOPFILE exists (at
most 120 s).  Every 50 ms it sends an echo request on the newest SA the
peer installed towards vtid and not yet deleted (as the peer's kernel
would pick it), and decrypts vtid's ESP with whichever SA of the log its
SPI names.  Waits up to 5 s for the replies; fails if more than MAXLOST of
the requests get none.
"""
import os
import re
import sys
import time

from scapy.all import AsyncSniffer, IP, IPv6, ICMP, ICMPv6EchoRequest, UDP, conf, send
from scapy.layers.ipsec import ESP, SecurityAssociation

conf.verb = 0
args = [a for a in sys.argv[1:] if a != "--only4"]
only4 = "--only4" in sys.argv
stream = args[0] == "--stream"
if stream:
    stopfile, maxlost = args[1], int(args[2])
    args = args[3:]
keylog, peer, vtid, inner_peer, inner_vtid = args[:5]
icmp_id = 0x5b if stream else 0x5a  # a one-shot call beside a stream is not counted


def fail(msg):
    print("FAIL: esp_peer: " + msg)
    sys.exit(1)


def log_sas():
    """Every SA of the shim's log, in the order it was installed or last
    updated: [(spi, line)], and the set of SPIs deleted since."""
    sas, gone = {}, set()
    with open(keylog) as f:
        for ln in f:
            m = re.search(r" (NEW|UPD|DEL)SA spi=0x([0-9a-f]+)", ln)
            if not m:
                continue
            spi = int(m.group(2), 16)
            if m.group(1) == "DEL":
                gone.add(spi)
            else:
                sas.pop(spi, None)
                sas[spi] = ln
                gone.discard(spi)
    return list(sas.items()), gone


def find_sa(spi):
    """The SA of the shim's log with this SPI (its last NEWSA/UPDSA line)."""
    line = dict(log_sas()[0]).get(spi)
    if not line:
        fail("no SA 0x%x in %s" % (spi, keylog))
    return sa_of(spi, line)


def sa_of(spi, line):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    keys = re.findall(r"(aead|enc|auth)=(\S+)(?: \w+=\d+)* key=([0-9a-f]+)", line)
    algo = {k: (name, bytes.fromhex(key)) for k, name, key in keys}
    encap = "encap" in kv
    src, dst = kv["src"], kv["dst"]
    # the shim logs the UDP ports pluto was told to use: encap=udp:S->D
    # (D is the NAT's mapping when vtid is behind one)
    m = re.fullmatch(r"udp:(\d+)->(\d+)", kv.get("encap", ""))
    nat_t = UDP(sport=int(m.group(1)), dport=int(m.group(2))) if m else None
    if encap and not m:
        fail("cannot read encap=%s" % kv["encap"])
    if "aead" in algo:
        if not algo["aead"][0].startswith("rfc4106"):
            fail("AEAD %s not handled" % algo["aead"][0])
        s = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=algo["aead"][1],
                                tunnel_header=IP(src=src, dst=dst),
                                nat_t_header=nat_t)
    else:
        auth = {"hmac(sha256)": "SHA2-256-128"}.get(algo["auth"][0])
        if not auth:
            fail("integrity %s not handled" % algo["auth"][0])
        s = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=algo["enc"][1],
                                auth_algo=auth, auth_key=algo["auth"][1],
                                tunnel_header=IP(src=src, dst=dst),
                                nat_t_header=nat_t)
    return s, encap


# Sequence numbers above any an earlier call used on this SA (replay window).
seq0 = int(time.time() * 100) & 0x7FFFFFFF


def esp_of(p):
    """The ESP header of one of vtid's packets on the wire, or None."""
    if IP not in p or p[IP].src != vtid:
        return None
    if UDP in p and 4500 in (p[UDP].sport, p[UDP].dport):  # dport: vtid behind a NAT
        body = bytes(p[UDP].payload)
        if len(body) < 8 or body[:4] == b"\0\0\0\0":
            return None  # IKE (non-ESP marker) or keep-alive
        q = IP(bytes(p[IP]))
        q[UDP].decode_payload_as(ESP)
        return q
    if p[IP].proto == 50:
        return IP(bytes(p[IP]))  # a copy: decrypting may change it
    return None


def send_echo(sa, i):
    p = sa.encrypt(IP(src=inner_peer, dst=inner_vtid) / ICMP(id=icmp_id, seq=i) / (b"esp-peer-%d" % i))
    if UDP in p:  # scapy 2.5 leaves the NAT-T UDP length at 8
        del p[UDP].len, p[UDP].chksum
    del p[IP].len, p[IP].chksum
    send(IP(bytes(p)))


seen = []
sniffer = AsyncSniffer(iface="eth0", lfilter=lambda p: esp_of(p) is not None, store=False,
                       prn=seen.append)
sniffer.start()
time.sleep(0.5)  # the socket is open before the first request leaves


def run_stream():
    """Echo requests on the peer's newest outbound SA for SECONDS; the
    replies are decrypted with the SA their SPI names."""
    out, used, i = {}, [], 0
    end = time.time() + 120
    while time.time() < end and not os.path.exists(stopfile):
        sas, gone = log_sas()
        cur = [spi for spi, ln in sas if spi not in gone and " src=%s dst=%s " % (peer, vtid) in ln]
        if cur:
            spi = cur[-1]
            if spi not in out:
                out[spi] = sa_of(spi, dict(sas)[spi])[0]
                out[spi].seq_num = seq0
                used.append(spi)
            i += 1
            send_echo(out[spi], i)
        time.sleep(0.05)

    def replied():
        """The echo replies among what was caught so far (decrypted with
        the SA their SPI names), and what else came."""
        sas = dict(log_sas()[0])
        got, spis, bad = set(), [], []
        for p in list(seen):
            e = esp_of(p)
            spi = e[ESP].spi
            if spi not in sas:
                bad.append("unknown SPI 0x%x" % spi)
                continue
            dec = sa_of(spi, sas[spi])[0].decrypt(e)  # raises if the ICV does not verify
            if ICMP in dec and dec[ICMP].type == 0 and dec[ICMP].id == icmp_id:
                got.add(dec[ICMP].seq)
                if spi not in spis:
                    spis.append(spi)
        return got, spis, bad

    # two busy cores: wait for the replies (up to 5 s), not a fixed moment
    wait_end = time.time() + 5
    while time.time() < wait_end and len(replied()[0]) < i:
        time.sleep(0.2)
    sniffer.stop()
    replies, spis_back, bad = replied()
    lost = sorted(set(range(1, i + 1)) - replies)
    msg = ("%d echo requests on %d SAs to vtid, %d replies on %d SAs from it, lost %s%s"
           % (i, len(used), len(replies), len(spis_back), lost or "none", "; " + ", ".join(bad) if bad else ""))
    if i == 0 or len(lost) > maxlost or bad:
        fail(msg)
    print("ok: " + msg)
    sys.exit(0)


if stream:
    run_stream()
spi_in, spi_out = int(args[5], 16), int(args[6], 16)
count = int(args[7]) if len(args) > 7 else 3
to_vtid, encap_in = find_sa(spi_in)
from_vtid, encap_out = find_sa(spi_out)
to_vtid.seq_num = seq0
for i in range(1, count + 1):
    send_echo(to_vtid, i)
    time.sleep(0.05)
# Two busy cores: wait for the replies (up to 5 s), not a fixed moment.
end = time.time() + 5
while time.time() < end and len(seen) < count:
    time.sleep(0.1)
time.sleep(1.0 if only4 else 0.2)  # with --only4 the caller routes IPv6 meanwhile
sniffer.stop()

replies, other = set(), []
for p in seen:
    e = esp_of(p)
    if e[ESP].spi != spi_out:
        other.append("SPI 0x%x" % e[ESP].spi)
        continue
    dec = from_vtid.decrypt(e)  # raises if the ICV does not verify
    if ICMP in dec and dec[ICMP].type == 0 and dec[ICMP].id == icmp_id:
        replies.add(dec[ICMP].seq)
    elif IPv6 in dec or not only4:
        other.append(dec.summary())
if replies != set(range(1, count + 1)):
    fail("echo replies decrypted: %s of %d (other: %s)" % (sorted(replies), count, other))
if only4 and any("IPv6" in o for o in other):
    fail("IPv6 inside an IPv4-only SA: %s" % other)
print("ok: %d ESP%s echo requests accepted by vtid, %d replies decrypted (SPIs 0x%x/0x%x)"
      % (count, "-in-UDP" if encap_in else "", len(replies), spi_in, spi_out))

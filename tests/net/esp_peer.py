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
"""
import re
import sys
import time

from scapy.all import AsyncSniffer, IP, IPv6, ICMP, ICMPv6EchoRequest, UDP, conf, send
from scapy.layers.ipsec import ESP, SecurityAssociation

conf.verb = 0
args = [a for a in sys.argv[1:] if a != "--only4"]
only4 = "--only4" in sys.argv
keylog, peer, vtid, inner_peer, inner_vtid = args[:5]
spi_in, spi_out = int(args[5], 16), int(args[6], 16)
count = int(args[7]) if len(args) > 7 else 3


def fail(msg):
    print("FAIL: esp_peer: " + msg)
    sys.exit(1)


def find_sa(spi):
    """The last NEWSA/UPDSA line of the shim's log for this SPI."""
    line = None
    with open(keylog) as f:
        for ln in f:
            if re.search(r" (NEW|UPD)SA spi=0x0*%x " % spi, ln):
                line = ln
    if not line:
        fail("no SA 0x%x in %s" % (spi, keylog))
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    keys = re.findall(r"(aead|enc|auth)=(\S+)(?: \w+=\d+)* key=([0-9a-f]+)", line)
    algo = {k: (name, bytes.fromhex(key)) for k, name, key in keys}
    encap = "encap" in kv
    src, dst = kv["src"], kv["dst"]
    if "aead" in algo:
        if not algo["aead"][0].startswith("rfc4106"):
            fail("AEAD %s not handled" % algo["aead"][0])
        s = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=algo["aead"][1],
                                tunnel_header=IP(src=src, dst=dst),
                                nat_t_header=UDP(sport=4500, dport=4500) if encap else None)
    else:
        auth = {"hmac(sha256)": "SHA2-256-128"}.get(algo["auth"][0])
        if not auth:
            fail("integrity %s not handled" % algo["auth"][0])
        s = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=algo["enc"][1],
                                auth_algo=auth, auth_key=algo["auth"][1],
                                tunnel_header=IP(src=src, dst=dst),
                                nat_t_header=UDP(sport=4500, dport=4500) if encap else None)
    return s, encap


to_vtid, encap_in = find_sa(spi_in)
from_vtid, encap_out = find_sa(spi_out)
# Sequence numbers above any an earlier call used on this SA (replay window).
seq0 = int(time.time() * 100) & 0x7FFFFFFF
to_vtid.seq_num = seq0


def esp_of(p):
    """The ESP header of one of vtid's packets on the wire, or None."""
    if IP not in p or p[IP].src != vtid:
        return None
    if UDP in p and p[UDP].sport == 4500:
        body = bytes(p[UDP].payload)
        if len(body) < 8 or body[:4] == b"\0\0\0\0":
            return None  # IKE (non-ESP marker) or keep-alive
        q = IP(bytes(p[IP]))
        q[UDP].decode_payload_as(ESP)
        return q
    if p[IP].proto == 50:
        return p[IP]
    return None


seen = []
sniffer = AsyncSniffer(iface="eth0", lfilter=lambda p: esp_of(p) is not None, store=False,
                       prn=seen.append)
sniffer.start()
time.sleep(0.5)  # the socket is open before the first request leaves
for i in range(1, count + 1):
    p = to_vtid.encrypt(IP(src=inner_peer, dst=inner_vtid) / ICMP(id=0x5a, seq=i) / (b"esp-peer-%d" % i))
    if UDP in p:  # scapy 2.5 leaves the NAT-T UDP length at 8
        del p[UDP].len, p[UDP].chksum
    del p[IP].len, p[IP].chksum
    send(IP(bytes(p)))
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
    if ICMP in dec and dec[ICMP].type == 0 and dec[ICMP].id == 0x5a:
        replies.add(dec[ICMP].seq)
    elif IPv6 in dec or not only4:
        other.append(dec.summary())
if replies != set(range(1, count + 1)):
    fail("echo replies decrypted: %s of %d (other: %s)" % (sorted(replies), count, other))
if only4 and any("IPv6" in o for o in other):
    fail("IPv6 inside an IPv4-only SA: %s" % other)
print("ok: %d ESP%s echo requests accepted by vtid, %d replies decrypted (SPIs 0x%x/0x%x)"
      % (count, "-in-UDP" if encap_in else "", len(replies), spi_in, spi_out))

#!/usr/bin/python3
"""An independent ESP implementation (scapy's) as vtid's peer.

Runs inside the peer namespace.  vtid (in the other namespace, reached
over the veth) has a tunnel keyed with the same material.  This script
  1. builds ICMP echo requests, encrypts them with scapy and sends them;
  2. captures vtid's ESP replies on the veth and decrypts them with scapy:
     they must be the matching echo replies;
  3. sends a replayed, a truncated, a bit-flipped and a wrong-SPI packet
     and checks that exactly the right vtid counter moved each time.
Usage: scapy_oracle.py SUITE ENCAP KEY_TO_VTID KEY_FROM_VTID VTICTL...
"""
import json
import os
import subprocess
import sys
import time

from scapy.all import AsyncSniffer, Ether, IP, IPv6, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply, UDP, \
    conf, get_if_hwaddr, send
from scapy.layers.ipsec import ESP, SecurityAssociation

conf.verb = 0

SUITES = {  # vti proposal -> scapy (crypt_algo, enc key bytes incl. salt, auth_algo)
    "aes128gcm16": ("AES-GCM", 20, None),
    "aes256gcm16": ("AES-GCM", 36, None),
    "chacha20poly1305": ("CHACHA20-POLY1305", 36, None),
    "aes128-sha256": ("AES-CBC", 16, "SHA2-256-128"),
    "aes256-sha384": ("AES-CBC", 32, "SHA2-384-192"),
    "aes256-sha512": ("AES-CBC", 32, "SHA2-512-256"),
}

suite, encap, key_in, key_out = sys.argv[1:5]
vtictl = sys.argv[5:]
esn = suite.endswith("-esn")
base = suite[:-4] if esn else suite
algo, enc_len, auth = SUITES[base]
ME, VTID = "192.0.2.2", "192.0.2.1"
INNER_ME, INNER_VTID = "10.7.0.2", "10.7.0.1"
SPI_TO_VTID, SPI_FROM_VTID = 0x3001, 0x4001


def sa(spi, keyhex):
    k = bytes.fromhex(keyhex[2:])
    return SecurityAssociation(
        ESP, spi=spi, crypt_algo=algo, crypt_key=k[:enc_len],
        auth_algo=auth, auth_key=k[enc_len:] if auth else None,
        tunnel_header=IP(src=ME, dst=VTID),
        nat_t_header=UDP(sport=4500, dport=4500) if encap == "yes" else None,
        esn_en=esn, esn=0)


to_vtid, from_vtid = sa(SPI_TO_VTID, key_in), sa(SPI_FROM_VTID, key_out)


def encrypt(inner):
    """scapy 2.5 leaves the NAT-T UDP length at 8; let it recompute."""
    p = to_vtid.encrypt(inner)
    if UDP in p:
        del p[UDP].len, p[UDP].chksum
    del p[IP].len, p[IP].chksum
    return IP(bytes(p))


def show():
    """The tunnel's receive counters (the kernel's own IPv6 housekeeping
    on sti0 moves the transmit ones at any time)."""
    out = subprocess.run(vtictl + ["-j", "show", "sti0"], check=True, capture_output=True).stdout
    return {k: v for k, v in json.loads(out)[0]["counters"].items() if k.startswith("rx_")}


def stats():
    return json.loads(subprocess.run(vtictl + ["-j", "stats"], check=True,
                                     capture_output=True).stdout)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def is_from_vtid(p):
    if IP not in p or p[IP].src != VTID:
        return False
    if encap == "yes":
        return UDP in p and p[UDP].sport == 4500 and bytes(p[UDP].payload)[:4] != b"\0\0\0\0"
    return p[IP].proto == 50


sniffer = AsyncSniffer(iface="eth0", lfilter=is_from_vtid, store=True)
sniffer.start()
time.sleep(0.5)

# 1. Echo requests, IPv4 and IPv6 inside, encrypted by scapy.
sent = []
for i in range(1, 4):
    inner = IP(src=INNER_ME, dst=INNER_VTID) / ICMP(id=0x77, seq=i) / (b"vti-oracle-%d" % i)
    sent.append(encrypt(inner))
inner6 = IPv6(src="fd00:7::2", dst="fd00:7::1") / ICMPv6EchoRequest(id=0x66, seq=9, data=b"six")
sent.append(encrypt(inner6))
for p in sent:
    send(p)
    time.sleep(0.05)
time.sleep(0.7)
sniffer.stop()



def outer_ok(p):
    """Raw ESP leaves by vtid's packet socket behind an IPv4 header vtid
    builds itself (src/esp/outer.c): it must be the header the kernel
    would have written (RFC 791; DF, no options, ID 0 as Linux writes for
    DF datagrams, the namespace's default TTL, a valid checksum), in a
    frame addressed to this end's link address."""
    ip = p[IP]
    hdr = bytes(ip)[:20]
    want = IP(bytes(ip))
    del want.chksum
    problems = []
    if p[Ether].dst != get_if_hwaddr("eth0") or p[Ether].type != 0x0800:
        problems.append("frame to %s type 0x%04x" % (p[Ether].dst, p[Ether].type))
    # AF_XDP: vtid wrote the source address too (ORACLE_SRC_MAC, vtid's).
    if p[Ether].src != os.environ.get("ORACLE_SRC_MAC", p[Ether].src):
        problems.append("frame from %s" % p[Ether].src)
    if ip.version != 4 or ip.ihl != 5 or ip.flags != "DF" or ip.frag != 0:
        problems.append("version %d ihl %d flags %s frag %d" % (ip.version, ip.ihl, ip.flags, ip.frag))
    if ip.ttl != TTL or ip.id != 0 or ip.tos != 0:
        problems.append("ttl %d (want %d) id %d tos %d" % (ip.ttl, TTL, ip.id, ip.tos))
    if ip.len != len(bytes(ip)) or ip.chksum != IP(bytes(want)).chksum or ip.dst != ME:
        problems.append("len %d of %d, checksum 0x%04x, dst %s" % (ip.len, len(bytes(ip)), ip.chksum, ip.dst))
    if problems:
        fail("outer header of vtid's ESP %s: %s" % (hdr.hex(), "; ".join(problems)))


TTL = int(open("/proc/sys/net/ipv4/ip_default_ttl").read())  # vtid's namespace: same default

# 2. Every reply decrypts with scapy and is the right echo reply.
replies4, replies6 = set(), set()
for p in sniffer.results:
    # (ORACLE_PATH=socket: the kernel wrote the header, esp-path = socket;
    # with the packet socket and AF_XDP, vtid did.)
    if encap == "no" and os.environ.get("ORACLE_PATH", "packet") != "socket":
        outer_ok(p)
    pkt = p[IP]
    if encap == "yes":  # scapy wants IP/UDP/ESP; make sure it parses as ESP
        pkt = IP(bytes(pkt))
        pkt[UDP].decode_payload_as(ESP)
    if pkt[ESP].spi != SPI_FROM_VTID:
        fail("reply with SPI 0x%x" % pkt[ESP].spi)
    dec = from_vtid.decrypt(pkt)  # raises if the ICV does not verify
    if ICMP in dec and dec[ICMP].type == 0 and dec[ICMP].id == 0x77:
        replies4.add(dec[ICMP].seq)
    elif ICMPv6EchoReply in dec and dec[ICMPv6EchoReply].id == 0x66:
        replies6.add(dec[ICMPv6EchoReply].seq)
if replies4 != {1, 2, 3} or replies6 != {9}:
    fail("decrypted replies: IPv4 %s, IPv6 %s" % (sorted(replies4), sorted(replies6)))
print("ok: %s/%s: scapy decrypted vtid's replies to all 4 scapy-encrypted requests"
      % (suite, "udp" if encap == "yes" else "raw"))

# 3. Bad packets: each must move exactly its own counter by one.
genuine = sent[0]


def esp_bytes(p):
    return bytes(p[UDP].payload) if encap == "yes" else bytes(p[IP].payload)


def rebuild(payload):
    hdr = IP(src=ME, dst=VTID)
    if encap == "yes":
        return hdr / UDP(sport=4500, dport=4500) / payload
    return IP(src=ME, dst=VTID, proto=50) / payload


raw = esp_bytes(genuine)
flipped = bytearray(esp_bytes(encrypt(IP(src=INNER_ME, dst=INNER_VTID) / ICMP(id=1))))
flipped[-20] ^= 0x10
fresh = esp_bytes(encrypt(IP(src=INNER_ME, dst=INNER_VTID) / ICMP(id=2)))
wrong_spi = bytearray(esp_bytes(encrypt(IP(src=INNER_ME, dst=INNER_VTID) / ICMP(id=3))))
wrong_spi[0:4] = (0x9999).to_bytes(4, "big")

CASES = [
    ("replayed", raw, "rx_replay"),
    ("truncated", fresh[:-5], "rx_malformed"),
    ("bit-flipped", bytes(flipped), "rx_auth_fail"),
    ("wrong SPI", bytes(wrong_spi), "rx_unknown_spi"),
]
for name, payload, counter in CASES:
    before, gbefore = show(), stats()
    send(rebuild(payload))
    time.sleep(0.3)
    after, gafter = show(), stats()
    moved = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    gmoved = {k: gafter[k] - gbefore[k] for k in gafter if gafter[k] != gbefore[k]}
    if counter == "rx_unknown_spi":
        ok = gmoved.get(counter) == 1 and not moved
    else:
        ok = moved.get(counter) == 1 and moved.get("rx_dropped") == 1 and \
            set(moved) <= {counter, "rx_dropped"}
    if not ok:
        fail("%s packet: tunnel counters moved %s, daemon counters %s; wanted %s +1"
             % (name, moved, gmoved, counter))
    print("ok: %s packet dropped, %s +1" % (name, counter))

# RFC 3948 §2.3: a NAT keep-alive is one 0xFF byte on the NAT-T port.
if encap == "yes":
    before, gbefore = show(), stats()
    send(IP(src=ME, dst=VTID) / UDP(sport=4500, dport=4500) / b"\xff")
    time.sleep(0.3)
    after, gafter = show(), stats()
    if gafter["rx_keepalive"] != gbefore["rx_keepalive"] + 1 or after != before:
        fail("keep-alive: daemon %s -> %s" % (gbefore, gafter))
    print("ok: NAT keep-alive recognised and dropped")

#!/usr/bin/python3
"""Write the seed corpora for the fuzz targets (run from the repo root):
valid ESP packets for the keys and SPIs fuzz_esp.c installs, in each of
its input modes, sample configuration files, and for fuzz_ikes the
messages of a real in-memory vtid<->vtid exchange in every IKE state
(written by the fuzz binary itself: FUZZ_IKES_SEEDS=dir, so it needs
build-fuzz/ first) plus the known reproducers."""
import os
import struct
import subprocess
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY = bytes([0x42, 0x13, 0x37]) + bytes(93)
D = "tests/fuzz/corpus"


def ipv4(payload=b"x" * 20, src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02"):
    total = 20 + len(payload)
    return struct.pack("!BBHHHBBH", 0x45, 0, total, 0, 0, 64, 1, 0) + src + dst + payload


def esp_gcm(seq, inner, nh=4):
    pad = (4 - (len(inner) + 2) % 4) % 4
    payload = inner + bytes(range(1, pad + 1)) + bytes([pad, nh])
    hdr = struct.pack("!II", 0x100, seq)
    iv = struct.pack("!Q", seq)
    ct = AESGCM(KEY[:16]).encrypt(KEY[16:20] + iv, payload, hdr)
    return hdr + iv + ct


def write(sub, name, data):
    os.makedirs(os.path.join(D, sub), exist_ok=True)
    with open(os.path.join(D, sub, name), "wb") as f:
        f.write(data)


pkt = esp_gcm(1, ipv4())
write("esp", "udp-esp", b"\x00" + pkt)
write("esp", "udp-keepalive", b"\x00\xff")
write("esp", "udp-ike", b"\x00" + bytes(4) + bytes(28))
ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(pkt), 0, 0, 64, 50, 0) + bytes(8)
write("esp", "ip4-esp", b"\x01" + ip + pkt)
write("esp", "raw-esp", b"\x02" + esp_gcm(2, ipv4()))
write("esp", "sealed-ipv4", b"\x03" + struct.pack("!I", 3) + ipv4(b"y" * 22) + b"\x01\x02\x02\x04")
write("esp", "sealed-dummy", b"\x03" + struct.pack("!I", 4) + b"\x00\x00\x00\x3b")
write("esp", "roundtrip-ipv4", b"\x04" + ipv4())
write("esp", "roundtrip-ipv6", b"\x04" + b"\x60" + bytes(3) + struct.pack("!H", 8) +
      bytes([17, 64]) + bytes(32) + bytes(8))

def tcp4(seq, payload, flags=0x10):
    tcp = struct.pack("!HHIIBBHHH", 40000, 5201, seq, 1, 5 << 4, flags, 512, 0, 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                      b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02")
    return hdr + tcp


# Mode 5: TSO metadata (flags, type, hdr_len, size, csum_start, csum_offset).
write("esp", "tso-ipv4", b"\x05" + struct.pack("!BBHHHH", 1, 1, 40, 500, 20, 16) +
      tcp4(7, bytes(range(256)) * 8))
# Mode 6: three in-order segments of one flow and a SYN.
segs = [tcp4(1000 * i, b"z" * 1000) for i in range(3)] + [tcp4(0, b"", 0x02)]
write("esp", "gro-stream", b"\x06" + b"".join(struct.pack("!H", len(p)) + p for p in segs))


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def udp4(payload, ident=1):
    """A datagram with a right checksum (coalescing needs one)."""
    src, dst, n = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, n)
    c = 0xffff - csum(pseudo + struct.pack("!HHHH", 40000, 443, n, 0) + payload)
    udp = struct.pack("!HHHH", 40000, 443, n, c or 0xffff) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + n, ident, 0x4000, 64, 17, 0, src, dst)
    return hdr + udp


# Mode 5, USO: UDP_L4 (5), NEEDS_CSUM, csum_offset 6.
write("esp", "uso-ipv4", b"\x05" + struct.pack("!BBHHHH", 1, 5, 28, 1200, 20, 6) +
      udp4(bytes(range(256)) * 20))
# Mode 6: UDP datagrams of one flow; lengths with bit 1 set ask for UDP
# coalescing.
dgrams = [udp4(b"q" * 1002, i) for i in range(3)]
write("esp", "gro-udp", b"\x06" + b"".join(struct.pack("!H", len(p)) + p for p in dgrams))

write("conf", "manual", open("tests/fuzz/seed-manual.conf", "rb").read())
write("conf", "daemon", b"[daemon]\nsocket = /run/x.sock\nport = 500\nnatt-port = 4500\nbusy-poll = 100\n")
write("conf", "ike", b"[tunnel a]\nlocal = 192.0.2.1\nremote = any\npsk = 0x0102030405060708\n"
      b"ike = aes128gcm16-prfsha256-x25519\nesp = aes128gcm16, aes256-sha256\n")

# IKE: tests/fuzz/corpus/ike/gcm-* are IKE_SA_INIT, IKE_AUTH and
# INFORMATIONAL messages captured between two vtids (first byte 0: a whole
# message); sealed-* is an inner chain the harness encrypts (first byte 1).
write("ike", "sealed-notify-delete", b"\x01\x29" + bytes([42, 0, 0, 8, 0, 0, 0x40, 0]) +
      bytes([0, 0, 0, 8, 1, 0, 0, 0]))

# Modes 7-9 of fuzz_esp: lane (byte 1), delivery (byte 2), then the packet.
def ipv6(payload=b"y" * 8):
    return (b"\x60" + bytes(3) + struct.pack("!H", len(payload)) + bytes([17, 64]) +
            bytes(15) + b"\x01" + b"\xfd" + bytes(14) + b"\x02" + payload)


for lane in range(8):
    write("esp", "lane%d-inner" % lane, bytes([8, lane, (lane % 3) | 4]) + ipv4())
    vnet = bytes(10) if lane in (0, 2, 4, 6) else b""
    write("esp", "lane%d-tun" % lane, bytes([9, lane]) + vnet +
          ipv4(src=b"\x0a\x00\x00\x02", dst=b"\x0a\x00\x00\x01"))
    write("esp", "lane%d-spi" % lane, bytes([7, lane, lane % 3]) + bytes(8) + bytes(range(64)))
write("esp", "lane4-inner6", bytes([8, 4, 0x0c]) + ipv6())
syn = tcp4(1, b"", 0x02)
write("esp", "lane1-inner-mss", bytes([8, 1, 0x04]) + syn[:20] +
      struct.pack("!HHIIBBHHH", 1, 2, 3, 0, 6 << 4, 2, 512, 0, 0) + b"\x02\x04\x05\xb4")
write("esp", "lane0-tun-tso", bytes([9, 0]) + struct.pack("<BBHHHH", 1, 1, 40, 500, 20, 16) +
      tcp4(7, bytes(range(256)) * 8))
write("esp", "lane0-tun-uso", bytes([9, 0]) + struct.pack("<BBHHHH", 1, 5, 28, 1200, 20, 6) +
      udp4(bytes(range(256)) * 20))

# fuzz_ikes: byte 0 = state | node << 3 | natt << 4 | mode << 5 (see the
# comment at the top of fuzz_ikes.c).
os.makedirs(os.path.join(D, "ikes"), exist_ok=True)
if os.path.exists("build-fuzz/tests/fuzz_ikes"):
    subprocess.run(["build-fuzz/tests/fuzz_ikes"], check=True,
                   env=dict(os.environ, FUZZ_IKES_SEEDS=os.path.join(D, "ikes")))
# Issue 10: node 0 waits for its IKE_SA_INIT response and gets 32 bytes:
# its SPI (patched in by mode 1), SPIr 0, SK (46), 2.0, INFORMATIONAL,
# Response, ID 0, length 32, and an empty SK payload (vtid: SIGSEGV).
write("ikes", "sk-before-keys", bytes([0x20, 0x00, 0x00]) +
      struct.pack("!QQBBBBII", 0x1111, 0, 46, 0x20, 37, 0x20, 0, 32) + bytes([0, 0, 0, 4]))
# Established (state 3), node 1, sealed (mode 2) INFORMATIONAL requests:
# DELETE of the IKE SA; DELETE of an ESP SPI; an empty one (liveness).
write("ikes", "up-delete-ike", bytes([0x4b, 0x40, 0, 42]) + bytes([0, 0, 0, 8, 1, 0, 0, 0]))
write("ikes", "up-delete-esp", bytes([0x4b, 0x40, 0, 42]) +
      bytes([0, 0, 0, 12, 3, 4, 0, 1]) + bytes([0x12, 0x34, 0x56, 0x78]))
write("ikes", "up-dpd", bytes([0x43, 0x40, 0, 0]))


# fuzz_ikes from a real vtid<->charon session (tests/fuzz/charon.pcap,
# made by charon-capture.sh, suite 0 of fuzz_ikes): each of charon's
# messages goes to the in-memory state that expects it.  IKE_SA_INIT is
# delivered as it is (mode 0: the answer with node 0's SPI, which the
# harness's deterministic randomness makes the same every time), the
# encrypted ones with the live SA's SPIs and message ID (mode 1: they
# fail the ICV, but their headers and outer chains are charon's).
def pcap_ike(path):
    d = open(path, "rb").read()
    assert struct.unpack("<I", d[:4])[0] == 0xa1b2c3d4 and struct.unpack("<I", d[20:24])[0] == 1
    off = 24
    while off + 16 <= len(d):
        n = struct.unpack("<I", d[off + 8:off + 12])[0]
        frame = d[off + 16:off + 16 + n]
        off += 16 + n
        ip = frame[14:]
        if frame[12:14] != b"\x08\x00" or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
        msg = ip[ihl + 8:]
        natt = sport == 4500 or dport == 4500
        if natt and msg[:4] == bytes(4) and (sport == 4500 and dport == 4500 or dport == 4500):
            msg = msg[4:]
        yield ip[12:16] == bytes([192, 0, 2, 2]), natt, msg


if os.path.exists("tests/fuzz/charon.pcap"):
    spi0 = open(os.path.join(D, "ikes", "s0-n0-raw1"), "rb").read()[2:10] \
        if os.path.exists(os.path.join(D, "ikes", "s0-n0-raw1")) else None
    for i, (from_charon, natt, msg) in enumerate(pcap_ike("tests/fuzz/charon.pcap")):
        if not from_charon or len(msg) < 28:
            continue
        exch, flags = msg[18], msg[19]
        resp, charon_init = bool(flags & 0x20), bool(flags & 0x08)
        node = 1 if charon_init else 0
        if exch == 34:
            if resp and spi0:
                targets = [(0, 0, 0, spi0 + msg[8:])]
            elif not resp:
                targets = [(3, 1, 0, msg), (7, 1, 0, msg), (3, 0, 0, msg)]
            else:
                targets = []
        else:
            states = {(35, True): [1], (35, False): [2], (36, False): [3], (36, True): [4, 5],
                      (37, False): [3], (37, True): [6]}.get((exch, resp), [])
            targets = [(s, node, 1, msg) for s in states]
        for state, n, mode, m in targets:
            head = bytes([state | n << 3 | natt << 4 | mode << 5, 0]) + (b"\x00" if mode else b"")
            write("ikes", "charon-%02d-s%d-n%d" % (i, state, n), head + m)

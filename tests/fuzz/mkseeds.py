#!/usr/bin/python3
"""Write the seed corpora for the fuzz targets (run from the repo root):
valid ESP packets for the keys and SPIs fuzz_esp.c installs, in each of
its input modes, and sample configuration files."""
import os
import struct
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

write("conf", "manual", open("tests/fuzz/seed-manual.conf", "rb").read())
write("conf", "daemon", b"[daemon]\nsocket = /run/x.sock\nport = 500\nnatt-port = 4500\n")
write("conf", "ike", b"[tunnel a]\nlocal = 192.0.2.1\nremote = any\npsk = 0x0102030405060708\n"
      b"ike = aes128gcm16-prfsha256-x25519\nesp = aes128gcm16, aes256-sha256\n")

# IKE: tests/fuzz/corpus/ike/gcm-* are IKE_SA_INIT, IKE_AUTH and
# INFORMATIONAL messages captured between two vtids (first byte 0: a whole
# message); sealed-* is an inner chain the harness encrypts (first byte 1).
write("ike", "sealed-notify-delete", b"\x01\x29" + bytes([42, 0, 0, 8, 0, 0, 0x40, 0]) +
      bytes([0, 0, 0, 8, 1, 0, 0, 0]))

#!/usr/bin/env python3
"""certs.py DIR N: a CA, a hub certificate and N branch certificates for
bench/scale.sh SCALE_AUTH=cert (ECDSA P-256, valid for a day).

DIR/ca.pem, DIR/hub.pem + DIR/hub.key (CN and subjectAltName
hub.branches.example), DIR/bI.pem + DIR/bI.key for I in 0..N-1 (CN and
subjectAltName bI.branches.example).  Keys are written mode 0600, as vtid
wants them.  python3-cryptography makes them in seconds where one openssl
process a certificate would take minutes for 10,000.
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def name(cn):
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vti scale"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def write_key(path, key):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def builder(subject, issuer, pub, now):
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)))


def make_ca(now):
    key = ec.generate_private_key(ec.SECP256R1())
    n = name("vti scale CA")
    cert = (builder(n, n, key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                         False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue(ca_key, ca_cert, cn, now):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (builder(name(cn), ca_cert.subject, key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    now = datetime.datetime.now(datetime.timezone.utc)
    os.makedirs(out, exist_ok=True)
    ca_key, ca = make_ca(now)
    with open(os.path.join(out, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    for cn, base in [("hub.branches.example", "hub")] + \
            [(f"b{i}.branches.example", f"b{i}") for i in range(n)]:
        key, cert = issue(ca_key, ca, cn, now)
        with open(os.path.join(out, base + ".pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        write_key(os.path.join(out, base + ".key"), key)


if __name__ == "__main__":
    main()

"""A self-signed development certificate for ``serve --tls-self-signed``.

For trying Bastion over HTTPS on one's own machine (``https://127.0.0.1`` or
``https://localhost``): browsers will warn, since no CA vouches for it. Production uses
``--tls-cert``/``--tls-key`` from a real CA or TLS termination at a proxy
(docs/deploy.md). The key is written with mode 0600, never logged, and reused until
the certificate is close to expiry.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "dev-cert.pem"
KEY_NAME = "dev-key.pem"
VALID_FOR = timedelta(days=90)
RENEW_BEFORE = timedelta(days=7)
HOSTS = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` so that no other user can ever read it (0600 from creation)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _still_good(cert_path: Path, key_path: Path, now: datetime) -> bool:
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > now


def ensure_dev_certificate(directory: Path, now: datetime) -> tuple[Path, Path]:
    """(certificate, key) paths in ``directory``, made now if missing or nearly expired."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if _still_good(cert_path, key_path, now):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bastion development")])
    san = x509.SubjectAlternativeName(
        [x509.DNSName(h) for h in HOSTS]
        + [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path

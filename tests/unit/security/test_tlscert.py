"""The development certificate: private from creation, for loopback names, reused."""

from __future__ import annotations

import ipaddress
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from bastion.security.tlscert import ensure_dev_certificate

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_made_once_with_mode_0600_for_loopback_and_renewed_near_expiry(tmp_path: Path) -> None:
    cert_path, key_path = ensure_dev_certificate(tmp_path / "tls", NOW)
    for path in (cert_path, key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert b"PRIVATE KEY" in key_path.read_bytes()

    first = cert_path.read_bytes()
    assert ensure_dev_certificate(tmp_path / "tls", NOW + timedelta(days=30)) == (
        cert_path,
        key_path,
    )
    assert cert_path.read_bytes() == first
    ensure_dev_certificate(tmp_path / "tls", NOW + timedelta(days=85))
    assert cert_path.read_bytes() != first

"""A software WebAuthn authenticator for tests: what a security key or a phone does,
written out from the WebAuthn Level 2 spec with ``cryptography`` and ``cbor2``.

It answers ``publicKey`` options (the JSON the server sends, binary values base64url)
with the JSON a browser's ``PublicKeyCredential.toJSON()`` gives: attestation "none"
for registration, an ES256 signature over authenticatorData ‖ SHA-256(clientDataJSON)
for assertions. Every field can be bent (origin, RP id, flags, counter) to test refusals.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40
AAGUID = bytes(16)  # attestation "none": the all-zero AAGUID is allowed


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


@dataclass
class SoftAuthenticator:
    """Holds credentials like a platform authenticator (resident, user-verifying)."""

    origin: str
    # Counting authenticators increase the counter on every use; passkeys synced between
    # devices usually send 0 every time (``counting=False``).
    counting: bool = True
    credentials: dict[str, SoftCredential] = field(default_factory=dict)

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()

    @staticmethod
    def _auth_data(rp_id: str, flags: int, count: int, attested: bytes = b"") -> bytes:
        return (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", count)
            + attested
        )

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int = UP | UV,
    ) -> dict[str, Any]:
        """``navigator.credentials.create({publicKey: options})``, serialised."""
        rp = rp_id or options["rp"]["id"]
        cred = SoftCredential(
            credential_id=secrets.token_bytes(32),
            key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp,
            user_handle=unb64url(options["user"]["id"]),
        )
        self.credentials[cred.id] = cred
        public_key = cred.cose_public_key()
        attested = AAGUID + struct.pack(">H", len(cred.credential_id)) + cred.credential_id
        auth_data = self._auth_data(rp, flags | AT, cred.sign_count, attested + public_key)
        client_data = self._client_data(
            "webauthn.create", options["challenge"], origin or self.origin
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": cred.id,
            "rawId": cred.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int = UP | UV,
        sign_count: int | None = None,
    ) -> dict[str, Any]:
        """``navigator.credentials.get({publicKey: options})``, serialised. Picks the
        first allowed credential, or (passwordless, no allow list) any resident one.
        """
        if credential is None:
            allowed = [c["id"] for c in options.get("allowCredentials") or []]
            pool = [c for c in self.credentials.values() if not allowed or c.id in allowed]
            credential = pool[0]
        if sign_count is None:
            if self.counting:
                credential.sign_count += 1
            sign_count = credential.sign_count
        rp = rp_id or options.get("rpId") or credential.rp_id
        auth_data = self._auth_data(rp, flags, sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin or self.origin)
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
        }

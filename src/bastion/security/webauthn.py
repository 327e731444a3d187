"""The WebAuthn adapter: py_webauthn (Duo Labs) behind the domain's ``WebAuthn`` port.

Only this module imports the ``webauthn`` package. It checks what the spec asks of a
relying party (challenge, origin, RP id hash, user presence and verification, signature,
attestation "none"); what to do with the result (counters, owners, lockout, audit) is
the domain's (``bastion.domain.passkeys``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from bastion.domain.passkeys import Assertion, AssertionId, NewCredential, WebAuthnError

# ES256 (every platform authenticator), EdDSA, RS256 (Windows Hello).
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
KNOWN_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)
TIMEOUT_MS = 120_000


def _uv(required: bool) -> UserVerificationRequirement:
    return (
        UserVerificationRequirement.REQUIRED if required else UserVerificationRequirement.PREFERRED
    )


def _descriptor(credential_id: str, transports: Sequence[str]) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential_id),
        transports=[AuthenticatorTransport(t) for t in transports if t in KNOWN_TRANSPORTS],
    )


class PyWebAuthn:
    """A relying party ``rp_id`` whose pages are served from ``origins``."""

    def __init__(self, rp_id: str, origins: Sequence[str], rp_name: str = "Bastion") -> None:
        self.rp_id = rp_id
        self.rp_name = rp_name
        self.origins = list(origins)

    def registration_options(
        self,
        *,
        challenge: bytes,
        user_handle: bytes,
        user_name: str,
        display_name: str,
        exclude: Sequence[tuple[str, Sequence[str]]],
    ) -> dict[str, Any]:
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            user_id=user_handle,
            user_name=user_name,
            user_display_name=display_name,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            # A passkey: discoverable (so it can sign in without a user name) and
            # verifying the person (PIN or biometrics), so it can stand alone.
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[_descriptor(c, t) for c, t in exclude],
            supported_pub_key_algs=ALGORITHMS,
        )
        return options_to_json_dict(options)

    def verify_registration(self, credential: dict[str, Any], *, challenge: bytes) -> NewCredential:
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origins,
                require_user_presence=True,
                require_user_verification=True,
                supported_pub_key_algs=ALGORITHMS,
            )
        except Exception as err:  # noqa: BLE001 - the library raises many types for bad input; all mean "invalid"
            raise WebAuthnError(type(err).__name__) from None
        response = credential.get("response")
        raw = response.get("transports") if isinstance(response, dict) else None
        transports = tuple(
            sorted({t for t in raw if isinstance(t, str) and t in KNOWN_TRANSPORTS})
            if isinstance(raw, list)
            else ()
        )
        return NewCredential(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=transports,
        )

    def authentication_options(
        self,
        *,
        challenge: bytes,
        allow: Sequence[tuple[str, Sequence[str]]],
        user_verification: bool,
    ) -> dict[str, Any]:
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            allow_credentials=[_descriptor(c, t) for c, t in allow],
            user_verification=_uv(user_verification),
        )
        return options_to_json_dict(options)

    def assertion_id(self, credential: dict[str, Any]) -> AssertionId:
        """Which credential answered, and the user handle it carries (not yet verified)."""
        try:
            parsed = parse_authentication_credential_json(credential)
            credential_id = bytes_to_base64url(parsed.raw_id)
        except Exception as err:  # noqa: BLE001 - see verify_registration
            raise WebAuthnError(type(err).__name__) from None
        if credential_id != parsed.id:
            raise WebAuthnError("id and rawId differ")
        return AssertionId(credential_id=credential_id, user_handle=parsed.response.user_handle)

    def verify_assertion(
        self,
        credential: dict[str, Any],
        *,
        challenge: bytes,
        public_key: bytes,
        require_user_verification: bool,
    ) -> Assertion:
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origins,
                credential_public_key=public_key,
                # 0: the library skips its counter check. The domain compares counters
                # itself, after the signature is known to be good, so a forged response
                # cannot raise a "cloned authenticator" alarm.
                credential_current_sign_count=0,
                require_user_verification=require_user_verification,
            )
        except Exception as err:  # noqa: BLE001 - see verify_registration
            raise WebAuthnError(type(err).__name__) from None
        return Assertion(
            credential_id=bytes_to_base64url(verified.credential_id),
            sign_count=verified.new_sign_count,
            user_verified=verified.user_verified,
        )

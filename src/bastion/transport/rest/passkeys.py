"""``/api/v1/auth/passkeys``: add, list, rename and remove passkeys; sign in with one.

Each ceremony is two calls: ``…/options`` stores a challenge server-side and answers an
opaque ``ceremony`` token with the ``publicKey`` options for the browser (binary values
as base64url); the second call sends the token back with the browser's credential
(``PublicKeyCredential.toJSON()`` form).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field, field_validator

from bastion.domain.models import Passkey
from bastion.domain.passkeys import Ceremony, passkey_summary
from bastion.domain.principals import StaffPrincipal
from bastion.transport.context import ip_of, services
from bastion.transport.rest.account import LoginOut, signed_in
from bastion.transport.rest.api import ERRORS, Strict
from bastion.transport.rest.auth import enrolling_principal

router = APIRouter(prefix="/api/v1/auth/passkeys", tags=["auth"])

Enrolling = Annotated[StaffPrincipal, Depends(enrolling_principal)]
PasskeyId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
# A WebAuthn response is a few kilobytes at most (attestation "none").
CREDENTIAL_MAX_BYTES = 32 * 1024


class CeremonyOut(BaseModel):
    ceremony: str
    public_key: dict[str, Any]


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: str
    last_used_at: str | None
    transports: list[str]


def _ceremony(c: Ceremony) -> CeremonyOut:
    return CeremonyOut(ceremony=c.token, public_key=c.public_key)


def _out(p: Passkey) -> PasskeyOut:
    return PasskeyOut.model_validate(passkey_summary(p))


class WithCredential(Strict):
    ceremony: str = Field(min_length=1, max_length=200)
    credential: dict[str, Any]

    @field_validator("credential")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > CREDENTIAL_MAX_BYTES:
            raise ValueError("credential too large")
        return value


class PasswordIn(Strict):
    password: str = Field(min_length=1, max_length=1024)


class RegisterIn(WithCredential):
    name: str = Field(min_length=1, max_length=60)


class RenameIn(Strict):
    name: str = Field(min_length=1, max_length=60)


class LoginOptionsIn(Strict):
    email: str | None = Field(default=None, min_length=3, max_length=254)
    password: str | None = Field(default=None, min_length=1, max_length=1024)


@router.get("", response_model=list[PasskeyOut], responses=ERRORS)
async def list_passkeys(request: Request, actor: Enrolling) -> list[PasskeyOut]:
    return [_out(p) for p in await services(request).passkeys.of_user(actor)]


@router.post("/register/options", response_model=CeremonyOut, responses=ERRORS)
async def registration_options(body: PasswordIn, request: Request, actor: Enrolling) -> CeremonyOut:
    """Start adding a passkey: confirm with your password; the challenge is bound to this
    session and valid five minutes, once.
    """
    svc = services(request)
    return _ceremony(await svc.passkeys.registration_options(actor, body.password, ip_of(request)))


@router.post("/register", response_model=PasskeyOut, status_code=201, responses=ERRORS)
async def register(body: RegisterIn, request: Request, actor: Enrolling) -> PasskeyOut:
    """Finish adding a passkey (``navigator.credentials.create()``'s answer)."""
    svc = services(request)
    passkey = await svc.passkeys.register(
        actor, body.ceremony, body.credential, body.name, ip_of(request)
    )
    return _out(passkey)


@router.patch("/{passkey_id}", response_model=PasskeyOut, responses=ERRORS)
async def rename(
    passkey_id: PasskeyId, body: RenameIn, request: Request, actor: Enrolling
) -> PasskeyOut:
    svc = services(request)
    return _out(await svc.passkeys.rename(actor, passkey_id, body.name, ip_of(request)))


@router.post("/{passkey_id}/delete", status_code=204, responses=ERRORS)
async def delete(
    passkey_id: PasskeyId, body: PasswordIn, request: Request, actor: Enrolling
) -> Response:
    """Remove a passkey (password required). Refused for the last second factor of a
    role that requires two-step login.
    """
    await services(request).passkeys.delete(actor, passkey_id, body.password, ip_of(request))
    return Response(status_code=204)


@router.post("/login/options", response_model=CeremonyOut, responses=ERRORS | {429: ERRORS[401]})
async def login_options(body: LoginOptionsIn, request: Request) -> CeremonyOut:
    """With ``email`` and ``password``: the passkey step after the password. Without:
    passwordless sign-in with any passkey of this site (user verification required).
    """
    svc = services(request)
    return _ceremony(await svc.passkeys.login_options(body.email, body.password, ip_of(request)))


@router.post("/login", response_model=LoginOut, responses=ERRORS | {429: ERRORS[401]})
async def login(body: WithCredential, request: Request, response: Response) -> LoginOut:
    """Finish signing in with a passkey (``navigator.credentials.get()``'s answer): a
    new session cookie, as ``/auth/login`` sets. Failures lock like wrong passwords.
    """
    svc = services(request)
    result = await svc.passkeys.login(
        body.ceremony,
        body.credential,
        ip=ip_of(request),
        user_agent=request.headers.get("user-agent"),
    )
    return signed_in(request, response, result)

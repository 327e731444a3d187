"""``/api/v1/auth``: forgotten passwords and e-mailed sign-in codes (docs/security.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from bastion.domain.principals import StaffPrincipal
from bastion.transport.context import ip_of, services
from bastion.transport.rest.api import ERRORS, Strict
from bastion.transport.rest.auth import enrolling_principal

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

Enrolling = Annotated[StaffPrincipal, Depends(enrolling_principal)]
MAIL_ERRORS = ERRORS | {503: ERRORS[400]}


class AcceptedOut(BaseModel):
    message: str


class FeaturesOut(BaseModel):
    # Outgoing mail is set up: "Forgot password?" can deliver its link.
    password_reset_available: bool


@router.get("/features", response_model=FeaturesOut, responses=ERRORS)
async def sign_in_features(request: Request) -> FeaturesOut:
    """What the sign-in page may offer before anyone is signed in. Without SMTP
    ``password_reset_available`` is false and the console hides "Forgot password?"
    (the request itself answers 503 ``mail_unavailable``, so this tells nobody more).
    """
    return FeaturesOut(password_reset_available=services(request).settings.mail_enabled)


class ResetIn(Strict):
    email: str = Field(min_length=1, max_length=254)


RESET_ANSWER = (
    "If an account uses this address, a link to choose a new password is on its way. "
    "It works once and expires soon."
)


@router.post("/password-reset", status_code=202, response_model=AcceptedOut, responses=MAIL_ERRORS)
async def request_password_reset(body: ResetIn, request: Request) -> AcceptedOut:
    """E-mail a single-use link to choose a new password. The answer is the same whether
    or not the address has an account. 503 ``mail_unavailable`` when the server has no
    SMTP set up; 429 ``rate_limited`` when this address asked too often.
    """
    await services(request).password_reset.request(body.email, ip_of(request))
    return AcceptedOut(message=RESET_ANSWER)


class ResetConfirmIn(Strict):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=1024)


@router.post("/password-reset/confirm", status_code=204, responses=ERRORS)
async def confirm_password_reset(body: ResetConfirmIn, request: Request) -> Response:
    """Set a new password with the link's token: ends every session of the account.
    400 ``reset_token_invalid`` for an unknown, used or expired link; 422
    ``weak_password``. Two-step login still applies at the next sign-in.
    """
    await services(request).password_reset.confirm(body.token, body.new_password, ip_of(request))
    return Response(status_code=204)


class EmailCodeIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


@router.post(
    "/login/email-code", status_code=202, response_model=AcceptedOut, responses=MAIL_ERRORS
)
async def request_login_code(body: EmailCodeIn, request: Request) -> AcceptedOut:
    """After the password, instead of an authenticator code: e-mail an 8-digit code to
    send as ``otp`` to ``/auth/login``. Only for accounts that turned e-mailed codes on
    (403 ``email_otp_not_allowed`` otherwise); failures count like failed logins.
    """
    await services(request).email_otp.request_login_code(body.email, body.password, ip_of(request))
    return AcceptedOut(message="A sign-in code is on its way to your e-mail.")


class PasswordIn(Strict):
    password: str = Field(min_length=1, max_length=1024)


class CodeIn(Strict):
    code: str = Field(min_length=1, max_length=20)


@router.post(
    "/email-otp/enable", status_code=202, response_model=AcceptedOut, responses=MAIL_ERRORS
)
async def enable_email_otp(body: PasswordIn, request: Request, actor: Enrolling) -> AcceptedOut:
    """Start accepting e-mailed codes at sign-in: checks the password and e-mails a code
    to confirm with ``/email-otp/confirm``.
    """
    await services(request).email_otp.start_enable(actor, body.password, ip_of(request))
    return AcceptedOut(message="A confirmation code is on its way to your e-mail.")


@router.post("/email-otp/confirm", status_code=204, responses=ERRORS)
async def confirm_email_otp(body: CodeIn, request: Request, actor: Enrolling) -> Response:
    await services(request).email_otp.confirm_enable(actor, body.code, ip_of(request))
    return Response(status_code=204)


@router.post("/email-otp/disable", status_code=204, responses=ERRORS)
async def disable_email_otp(body: PasswordIn, request: Request, actor: Enrolling) -> Response:
    await services(request).email_otp.disable(actor, body.password, ip_of(request))
    return Response(status_code=204)

"""Typed domain errors. Each has a stable ``code`` that clients may rely on.

Messages are written for the person on the other end and never contain message text,
personal data or secrets.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    code = "invalid_frame"
    status = 422


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class OriginNotAllowed(DomainError):
    code = "origin_not_allowed"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class InvalidState(DomainError):
    code = "invalid_state"
    status = 409


class AtCapacity(DomainError):
    """The agent already holds as many active chats as they may."""

    code = "at_capacity"
    status = 409


class ConsentRequired(DomainError):
    code = "consent_required"
    status = 422


class Conflict(DomainError):
    code = "conflict"
    status = 409


class OtpRequired(DomainError):
    """The password was right; a code is next. ``email_code``: one can be e-mailed for this
    account (the user turned e-mailed codes on, the policy allows them, mail is set up).
    """

    code = "otp_required"
    status = 401

    def __init__(self, message: str, *, email_code: bool = False) -> None:
        super().__init__(message)
        self.email_code = email_code


class InvalidOtp(DomainError):
    code = "invalid_otp"
    status = 401


class SecondFactorUnavailable(DomainError):
    """A stored TOTP secret (or the staff key sealing it) does not open — altered, or
    copied from another account's row: app codes cannot be checked, so they are refused;
    recovery and e-mailed codes still work.
    """

    code = "second_factor_unavailable"
    status = 409


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class WeakPassword(DomainError):
    code = "weak_password"
    status = 422


class TwoFactorRequired(DomainError):
    """The user's role requires two-step login and the user has not enrolled yet."""

    code = "2fa_enrollment_required"
    status = 403


class IpNotAllowed(DomainError):
    code = "ip_not_allowed"
    status = 403


class IdentityInvalid(DomainError):
    code = "identity_invalid"
    status = 401


class IdentityRequired(DomainError):
    code = "identity_required"
    status = 401


class RateLimited(DomainError):
    """Too much, too fast; ``retry_after`` says in how many seconds to try again."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class DuplicateMessage(DomainError):
    code = "duplicate_message"
    status = 429


class TooManyLinks(DomainError):
    code = "too_many_links"
    status = 429


class Unavailable(DomainError):
    """Deliberately neutral: a banned visitor is not told that they are banned."""

    code = "unavailable"
    status = 403


class PasskeyRequired(DomainError):
    """The password was right; this account finishes signing in with a passkey."""

    code = "passkey_required"
    status = 401


class PasskeyInvalid(DomainError):
    """A passkey answer was refused (wrong site, stale or reused challenge, bad signature…)."""

    code = "passkey_invalid"
    status = 401


class PasskeysUnavailable(DomainError):
    """Passkeys need a domain name (BASTION_PUBLIC_URL, or localhost in development)."""

    code = "passkeys_unavailable"
    status = 409


class RoleInUse(DomainError):
    """A role still assigned to someone cannot be deleted."""

    code = "role_in_use"
    status = 409


class BuiltinRole(DomainError):
    """The four built-in roles are fixed: they cannot be edited, deleted or shadowed."""

    code = "role_builtin"
    status = 409


class FileTooLarge(DomainError):
    code = "file_too_large"
    status = 413


class FileEmpty(DomainError):
    code = "file_empty"
    status = 422


class FileTypeRefused(DomainError):
    """The content (sniffed, never the name) is not an allowed type."""

    code = "file_type_refused"
    status = 415


class FileInfected(DomainError):
    code = "file_infected"
    status = 422


class ScannerUnavailable(DomainError):
    """No malware scan could be made, so the file is not accepted (fail closed)."""

    code = "scanner_unavailable"
    status = 503


class MailUnavailable(DomainError):
    """No SMTP server is configured (BASTION_SMTP_URL): features that send e-mail are off."""

    code = "mail_unavailable"
    status = 503


class MailFailed(DomainError):
    """The SMTP server could not be reached or refused the message."""

    code = "mail_failed"
    status = 503


class ResetTokenInvalid(DomainError):
    """A password-reset link that is unknown, used or expired (one code for all three)."""

    code = "reset_token_invalid"
    status = 400


class EmailOtpNotAllowed(DomainError):
    """E-mailed sign-in codes are off: by the security policy, or for this account."""

    code = "email_otp_not_allowed"
    status = 403

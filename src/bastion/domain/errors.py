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

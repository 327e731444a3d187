"""A real SMTP server (aiosmtpd) on a free 127.0.0.1 port that keeps what it receives."""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.server import free_port

RESET_LINK = re.compile(r"https?://\S+/console/reset-password#token=(pr_[A-Za-z0-9_-]+)")
CODE = re.compile(r"^\s+(\d{8})\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    login: str | None  # the SMTP AUTH user, when the client logged in
    tls: bool  # whether the session was encrypted (STARTTLS)

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")

    def reset_token(self) -> str:
        match = RESET_LINK.search(self.body)
        assert match, "no reset link in the message"
        return match.group(1)

    def reset_link(self) -> str:
        match = RESET_LINK.search(self.body)
        assert match, "no reset link in the message"
        return match.group(0)

    def code(self) -> str:
        match = CODE.search(self.body)
        assert match, "no code in the message"
        return match.group(1)


class MailSink:
    """Start with :meth:`start`; ``url`` is the ``BASTION_SMTP_URL`` that reaches it.

    With ``tls`` (a server-side SSL context) it offers STARTTLS and requires it; with
    ``users`` it requires AUTH with one of those user → password pairs.
    """

    def __init__(
        self, *, tls: ssl.SSLContext | None = None, users: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._users = users
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?tls=off"

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def _authenticate(
        self, _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if mechanism in ("LOGIN", "PLAIN") and isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if self._users is not None and self._users.get(user) == password:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        received = Received(
            sender=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            message=message,
            login=session.auth_data if session.authenticated else None,
            tls=session.ssl is not None,
        )
        with self._lock:
            self.received.append(received)
        return "250 OK"

    def messages(self, to: str | None = None) -> list[Received]:
        with self._lock:
            return [m for m in self.received if to is None or to in m.recipients]

    def wait(self, to: str | None = None, count: int = 1, timeout: float = 15) -> Received:
        """The ``count``-th message (to ``to``), waiting for it in a thread-safe poll."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(to)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"no message #{count} to {to} within {timeout} s")

    async def await_message(
        self, to: str | None = None, count: int = 1, timeout: float = 15
    ) -> Received:
        """:meth:`wait` for async tests (yields to the loop that is sending)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(to)
            if len(found) >= count:
                return found[count - 1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no message #{count} to {to} within {timeout} s")

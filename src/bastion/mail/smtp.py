"""SMTP delivery with aiosmtplib, configured by one URL.

``smtp://user:pass@host:587`` sends over STARTTLS and refuses a server that does not offer
it; ``smtps://user:pass@host:465`` speaks TLS from the first byte; ``?tls=off`` sends in
the clear (a relay on the same machine only: the settings refuse it with a password for
any other host). User name and password are percent-decoded. Nothing here logs a
message, a recipient or the URL: only the kind of failure.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog

from bastion.domain.errors import MailFailed
from bastion.domain.models import OutgoingMail
from bastion.domain.ports import Mailer

log = structlog.get_logger(__name__)

TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpTarget:
    """The parts of a ``BASTION_SMTP_URL`` (already checked by the settings)."""
    parts = urlsplit(url)
    implicit = parts.scheme == "smtps"
    plain = parts.query == "tls=off"
    return SmtpTarget(
        host=parts.hostname or "",
        port=parts.port or (465 if implicit else 587),
        implicit_tls=implicit and not plain,
        starttls=not implicit and not plain,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class SmtpMailer:
    """Sends each message on its own connection (reset and code mails are rare)."""

    def __init__(self, url: str, sender: str, *, ca_file: str = "") -> None:
        self._target = parse_smtp_url(url)
        self._sender = sender
        self._tls = ssl.create_default_context(cafile=ca_file or None)

    def __repr__(self) -> str:
        return f"SmtpMailer(host={self._target.host!r}, port={self._target.port})"

    def _message(self, mail: OutgoingMail) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = make_msgid(domain=self._sender.rpartition("@")[2].strip("> ") or None)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(mail.body)
        return msg

    async def send(self, mail: OutgoingMail) -> None:
        target = self._target
        try:
            await aiosmtplib.send(
                self._message(mail),
                hostname=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.implicit_tls,
                # True = required: a server that does not offer STARTTLS gets nothing.
                start_tls=target.starttls,
                tls_context=self._tls if (target.implicit_tls or target.starttls) else None,
                timeout=TIMEOUT_S,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as err:
            # The type only: server replies can echo the recipient.
            log.warning("mail_failed", error_type=type(err).__name__)
            raise MailFailed("the e-mail could not be sent; please try again later") from None


class BackgroundMailer:
    """Hands messages to ``inner`` in background tasks: the request that asked for a mail
    answers before (and whatever) the SMTP server does, so timing and errors cannot tell
    whether a message went out (password reset must not reveal which addresses exist).
    """

    def __init__(self, inner: Mailer) -> None:
        self._inner = inner
        self._tasks: set[asyncio.Task[None]] = set()
        self.failed = 0  # messages the inner mailer could not deliver

    async def send(self, mail: OutgoingMail) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(mail))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, mail: OutgoingMail) -> None:
        try:
            await self._inner.send(mail)
        except MailFailed:
            self.failed += 1  # logged (without content) by the inner mailer

    async def drain(self) -> None:
        """Wait for messages still being sent (shutdown, and the CLI before it exits)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=TIMEOUT_S + 5)

"""Factories for domain tests: real storage (SQLite in a temp dir), a controllable clock."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pyotp
from sqlalchemy import select, update

from bastion.domain.models import Department, Role
from bastion.domain.principals import StaffPrincipal, VisitorPrincipal
from bastion.security.totp import PERIOD_S
from bastion.services import build_services
from bastion.settings import load_settings
from bastion.storage import tables as t
from bastion.storage.migrate import migrate
from bastion.transport.context import Services
from tests.support.mail import MailSink

PASSWORD = "a long enough password"


@dataclass
class FakeClock:
    at: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class RecordingBus:
    """The in-process bus, plus a log of what was published (to test after-commit)."""

    def __init__(self) -> None:
        from bastion.bus.memory import MemoryBus

        self.inner = MemoryBus()
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.published.append((channel, message))
        await self.inner.publish(channel, message)

    async def subscribe(self, channel: str, handler: Any) -> None:
        await self.inner.subscribe(channel, handler)

    async def unsubscribe(self, channel: str, handler: Any) -> None:
        await self.inner.unsubscribe(channel, handler)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        await self.inner.close()


class Desks(NamedTuple):
    """Two departments and an agent in each; the widget's chats go to Sales."""

    admin: StaffPrincipal
    sales: Department
    billing: Department
    jonas: StaffPrincipal  # Sales
    petras: StaffPrincipal  # Billing


@dataclass
class World:
    svc: Services
    clock: FakeClock
    bus: RecordingBus
    widget_id: str

    async def visitor(self, page_url: str = "http://127.0.0.1:8000/demo/") -> VisitorPrincipal:
        issued = await self.svc.visitors.create_session(self.widget_id, page_url, None)
        return await self.svc.visitors.authenticate(issued.token)

    async def staff(
        self, email: str, role: Role | str = Role.AGENT, name: str = "Jonas"
    ) -> StaffPrincipal:
        user = await self.svc.staff.create_user(
            None, email=email, password=PASSWORD, role=role, name=name
        )
        return StaffPrincipal(
            user_id=user.id,
            name=user.name,
            role=user.role,
            permissions=await self.svc.roles.permissions_for(user.role),
        )

    async def desks(self) -> Desks:
        """Sales (Jonas) and Billing (Petras), made by an admin; the widget queues to Sales."""
        from bastion.domain.widgets import WidgetChange

        deps = self.svc.departments
        admin = await self.staff("admin@example.com", Role.ADMIN, name="Admin")
        sales = await deps.create(admin, "Sales")
        billing = await deps.create(admin, "Billing")
        jonas = await self.staff("jonas@example.com")
        petras = await self.staff("petras@example.com", name="Petras")
        await deps.set_user_departments(admin, jonas.user_id, [sales.id])
        await deps.set_user_departments(admin, petras.user_id, [billing.id])
        await self.svc.widgets.update(admin, self.widget_id, WidgetChange(department_id=sales.id))
        return Desks(admin, sales, billing, jonas, petras)

    async def enrol_totp(self, actor: StaffPrincipal) -> pyotp.TOTP:
        """Turn the authenticator app on for ``actor`` (set up, then confirm with a code);
        the clock moves on one step, so the app's next code is not a replay.
        """
        setup = await self.svc.auth.totp_setup(actor, PASSWORD, None)
        totp = pyotp.TOTP(setup["secret"], interval=PERIOD_S)
        await self.svc.auth.totp_confirm(actor, totp.at(self.clock.now()), None)
        self.clock.advance(seconds=PERIOD_S)
        return totp

    async def enable_email_otp(self, actor: StaffPrincipal, email: str, sink: MailSink) -> None:
        """Turn e-mailed codes on for ``actor`` (whose address is ``email``): the password,
        then the code ``sink`` received. Needs a world with mail (``mail_world``).
        """
        sent = len(sink.messages(email))
        await self.svc.email_otp.start_enable(actor, PASSWORD, "10.0.0.1")
        code = (await sink.await_message(email, sent + 1)).code()
        await self.svc.email_otp.confirm_enable(actor, code, "10.0.0.1")

    async def spoil_totp_secret(self, user_id: str) -> None:
        """Flip one bit of the user's sealed TOTP secret in the database (an altered row):
        it no longer opens and reads as unreadable (``User.totp_unreadable``).
        """
        c = t.users.c
        async with self.svc.db.transaction(write=True) as conn:
            sealed = (await conn.execute(select(c.totp_secret).where(c.id == user_id))).scalar()
            assert isinstance(sealed, str) and sealed.startswith("e1:")
            blob = bytearray(base64.b64decode(sealed[3:]))
            blob[-1] ^= 0x01  # one bit of the GCM tag
            spoilt = "e1:" + base64.b64encode(bytes(blob)).decode()
            await conn.execute(update(t.users).where(c.id == user_id).values(totp_secret=spoilt))
            await conn.commit()

    async def start(self, visitor: VisitorPrincipal, **kw: Any) -> str:
        result = await self.svc.chat.start_chat(
            visitor,
            None,
            fields=kw.get("fields", {}),
            consent_accepted=kw.get("consent", True),
            consent_version=kw.get("consent_version", "2026-01"),
            first_message=kw.get("message"),
        )
        return str(result["conversation"])


async def make_world(tmp_path: Path, **env: str) -> World:
    settings = load_settings(
        {
            "BASTION_DATA_DIR": str(tmp_path),
            "BASTION_ARGON2_MEMORY_KIB": "8192",
            "BASTION_ARGON2_TIME_COST": "1",
            **env,
        }
    )
    await migrate(settings.resolved_database_url)
    clock = FakeClock()
    bus = RecordingBus()
    svc = build_services(settings, clock=clock, bus=bus)
    widget = await svc.widgets.ensure_default(["http://127.0.0.1:8000"])
    assert widget is not None
    return World(svc=svc, clock=clock, bus=bus, widget_id=widget.id)

"""Bans: staff shut a visitor, an IP address or a range out of chat for a while.

A banned visitor is told only that chat is unavailable (``unavailable``), never that they
are banned: the message gives an abuser nothing to work around. Every ban and lift is
stored with its actor, reason, target and time, and written to the audit log in the
same transaction (``ban.create`` / ``ban.lift``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bastion.domain.copies import AnnouncedCopies
from bastion.domain.errors import Forbidden, InvalidInput, NotFound, Unavailable
from bastion.domain.events import BANS_CHANNEL
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import AuditEntry, Ban, BanKind
from bastion.domain.permissions import Perm, allowed
from bastion.domain.plaintext import check_plain
from bastion.domain.ports import Bus, Clock, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal

MIN_DURATION_S = 60
MAX_DURATION_S = 365 * 24 * 3600
MAX_REASON_CHARS = 500
# Wider ranges would shut out whole providers or countries; that belongs in a firewall.
MIN_PREFIX = {4: 16, 6: 32}
UNAVAILABLE = "Chat is not available right now."


def check_may_ban(actor: StaffPrincipal) -> None:
    if not allowed(actor, Perm.VISITORS_BAN):
        raise Forbidden("your role cannot ban visitors")


def check_network(raw: str) -> str:
    """A normalised CIDR for an address or range; refuses ranges wider than MIN_PREFIX."""
    try:
        net = ipaddress.ip_network(raw.strip(), strict=False)
    except ValueError:
        raise InvalidInput("ip must be an IP address or CIDR range", field="ip") from None
    if net.prefixlen < MIN_PREFIX[net.version]:
        raise InvalidInput(
            f"ranges wider than /{MIN_PREFIX[net.version]} cannot be banned here", field="ip"
        )
    return str(net)


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a reason is required", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"reason is longer than {MAX_REASON_CHARS} characters", field="reason")
    return check_plain(reason, "reason", "reason")


def check_duration(duration_s: int) -> timedelta:
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise InvalidInput(
            f"duration_s must be between {MIN_DURATION_S} and {MAX_DURATION_S}",
            field="duration_s",
        )
    return timedelta(seconds=duration_s)


def ban_matches(ban: Ban, visitor_id: str | None, ip: str | None) -> bool:
    return ban_covers(ban.kind, ban.target, visitor_id, ip)


def ban_covers(kind: BanKind, target: str, visitor_id: str | None, ip: str | None) -> bool:
    """Whether a ban of ``kind`` on ``target`` shuts out this visitor or address."""
    if kind is BanKind.VISITOR:
        return visitor_id is not None and target == visitor_id
    try:
        addr = ipaddress.ip_address(ip) if ip else None
        net = ipaddress.ip_network(target)
    except ValueError:
        return False
    return addr is not None and addr.version == net.version and addr in net


def ban_notice(ban: Ban) -> dict[str, str]:
    """The bus message that tells every node to close the sockets a new ban covers."""
    return {"type": "ban", "kind": ban.kind.value, "target": ban.target}


def lift_notice(ban: Ban) -> dict[str, str]:
    """Tells every node's ban cache that a ban no longer holds (sockets ignore it)."""
    return {"type": "ban_lifted", "kind": ban.kind.value, "target": ban.target}


# How long a node trusts its copy of the active bans when no bus message says otherwise
# (a lost message, or a ban made by a process with no shared bus).
BAN_CACHE_S = 10


class BanService:
    """Bans, and the check every visitor frame passes through.

    ``check_allowed`` runs for each message a visitor sends, so it reads a copy of the
    active bans held in memory instead of the database: the copy is dropped when a ban or
    a lift is announced on the bus (every node hears it) and after ``BAN_CACHE_S`` at
    most. Expiry is checked against the clock on every call.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        ids: IdFactory = new_id,
        bus: Bus | None = None,
        cache_s: int = BAN_CACHE_S,
        close_chats: Callable[[str], Awaitable[object]] | None = None,
        sees_visitor: Callable[[StaffPrincipal, str], Awaitable[bool]] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        # Closes a banned visitor's open chats (ChatService.close_for_visitor).
        self._close_chats = close_chats
        # Whether the actor may act on a visitor by id (ChatService.may_see_visitor): an
        # agent bans only visitors of their departments, as they invite only those.
        self._sees_visitor = sees_visitor
        # One copy: every ban in force (a ban or a lift on any node drops it).
        self._copy: AnnouncedCopies[list[Ban]] = AnnouncedCopies(bus, BANS_CHANNEL, cache_s)

    async def ban(
        self,
        actor: StaffPrincipal,
        *,
        visitor: str | None,
        ip: str | None,
        duration_s: int,
        reason: str,
    ) -> Ban:
        """Ban exactly one of a visitor id or an IP/CIDR until ``now + duration_s``."""
        check_may_ban(actor)
        if (visitor is None) == (ip is None):
            raise InvalidInput("give either visitor or ip", field="visitor")
        length = check_duration(duration_s)
        why = check_reason(reason)
        kind, target = (
            (BanKind.VISITOR, visitor)
            if visitor is not None
            else (BanKind.NETWORK, check_network(ip or ""))
        )
        if (
            kind is BanKind.VISITOR
            and self._sees_visitor is not None
            and not await self._sees_visitor(actor, target)
        ):
            raise NotFound("no such visitor", field="visitor")
        now = self._clock.now()
        ban = Ban(
            id=self._ids("b"),
            kind=kind,
            target=target,
            reason=why,
            actor_id=actor.user_id,
            created_at=now,
            expires_at=now + length,
        )
        async with self._uow() as uow:
            if kind is BanKind.VISITOR and await uow.visitors.get(target) is None:
                raise NotFound("no such visitor", field="visitor")
            await uow.bans.add(ban)
            await uow.audit.add(_audit(now, "ban.create", actor, ban, why))
            uow.on_commit(BANS_CHANNEL, ban_notice(ban))
            await uow.commit()
        self._copy.forget()
        if kind is BanKind.VISITOR and self._close_chats is not None:
            # After the ban's commit: the ban holds even if this step fails, and the
            # visitor's sockets are already being closed by the notice.
            await self._close_chats(target)
        return ban

    async def lift(self, actor: StaffPrincipal, ban_id: str) -> None:
        check_may_ban(actor)
        now = self._clock.now()
        async with self._uow() as uow:
            ban = await uow.bans.get(ban_id)
            if ban is None or ban.lifted_at is not None:
                raise NotFound("no such ban")
            await uow.bans.lift(ban_id, actor.user_id, now)
            await uow.audit.add(_audit(now, "ban.lift", actor, ban, None))
            uow.on_commit(BANS_CHANNEL, lift_notice(ban))
            await uow.commit()
        self._copy.forget()

    async def list_active(self, actor: StaffPrincipal) -> list[Ban]:
        check_may_ban(actor)
        async with self._uow(write=False) as uow:
            return await uow.bans.list_active(self._clock.now())

    async def check_allowed(self, *, visitor_id: str | None = None, ip: str | None = None) -> None:
        """Raise :class:`Unavailable` when an active ban covers the visitor or the address."""
        now = self._clock.now()
        bans = await self._copy.get("active", now, lambda: self._in_force(now))
        if any(b.expires_at > now and ban_matches(b, visitor_id, ip) for b in bans):
            raise Unavailable(UNAVAILABLE)

    async def _in_force(self, now: datetime) -> list[Ban]:
        async with self._uow(write=False) as uow:
            return await uow.bans.all_active(now)


def _audit(
    at: datetime, action: str, actor: StaffPrincipal, ban: Ban, reason: str | None
) -> AuditEntry:
    details = {"reason": reason} if reason else {}
    return AuditEntry(
        at=at,
        action=action,
        actor=actor.user_id,
        target=f"{ban.kind.value}:{ban.target}",
        ip=None,
        details=details,
    )

"""Frame handlers: authenticate, call one domain function, return the ack's fields."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from bastion.domain.bans import BanService
from bastion.domain.departments import DepartmentService
from bastion.domain.errors import DomainError, RateLimited
from bastion.domain.events import BANS_CHANNEL, STAFF_CHANNEL, iso, visitor_channel
from bastion.domain.models import AgentStatus
from bastion.domain.principals import StaffPrincipal, VisitorPrincipal
from bastion.domain.staff import StaffService, user_summary
from bastion.domain.visitors import VisitorService
from bastion.transport.ws import codec as c
from bastion.transport.ws.connection import ClientSocket, Handler


def _visitor(sock: ClientSocket) -> VisitorPrincipal:
    assert isinstance(sock.principal, VisitorPrincipal)
    return sock.principal


def _staff(sock: ClientSocket) -> StaffPrincipal:
    assert isinstance(sock.principal, StaffPrincipal)
    return sock.principal


async def ping(sock: ClientSocket, frame: c.Ping) -> None:
    pong: dict[str, Any] = {"t": "pong"}
    if frame.id is not None:
        pong["id"] = frame.id
    await sock.send(pong)


async def typing(sock: ClientSocket, frame: c.Typing) -> dict[str, Any] | None:
    assert sock.principal is not None
    await sock.chat.typing(sock.principal, frame.conversation, frame.on)
    return {}


async def msg_send(sock: ClientSocket, frame: c.MsgSend) -> dict[str, Any]:
    assert sock.principal is not None
    return await sock.chat.send_message(sock.principal, frame.id, frame.conversation, frame.body)


# ---- visitors ---------------------------------------------------------------------------


def visitor_handlers(visitors: VisitorService, bans: BanService) -> dict[str, Handler]:
    async def hello(sock: ClientSocket, frame: c.VisitorHello) -> None:
        principal = await visitors.authenticate(frame.token)
        await bans.check_allowed(visitor_id=principal.visitor_id, ip=sock.ip)
        sock.principal = principal
        summaries = await sock.chat.summaries_for_visitor(principal)
        await sock.follow(visitor_channel(principal.visitor_id))
        await sock.follow(BANS_CHANNEL)
        await sock.send(
            {
                "t": "ack",
                "id": frame.id,
                "visitor": principal.visitor_id,
                "conversations": summaries,
            }
        )
        for summary in summaries:
            conv = summary["id"]
            if conv in frame.resume:
                await sock.watch(conv, min(frame.resume[conv], summary["last_seq"]))
            elif summary["state"] != "closed":
                await sock.watch(conv, summary["last_seq"])

    async def chat_start(sock: ClientSocket, frame: c.ChatStart) -> dict[str, Any]:
        visitor_id = _visitor(sock).visitor_id
        await bans.check_allowed(visitor_id=visitor_id, ip=sock.ip)
        await sock.limit("conversations_visitor", visitor_id)
        await sock.limit("conversations_ip", sock.ip)
        consent = frame.consent
        result = await sock.chat.start_chat(
            _visitor(sock),
            frame.id,
            fields=dict(frame.fields),
            consent_accepted=bool(consent and consent.accepted),
            consent_version=consent.version if consent else None,
            first_message=frame.message,
        )
        await sock.watch(result["conversation"], 0)
        if "queue" in result:
            result = {
                **result,
                "queue": {**result["queue"], "eta_s": sock.eta(result["queue"]["eta_s"])},
            }
        return result

    async def visitor_msg_send(sock: ClientSocket, frame: c.MsgSend) -> dict[str, Any]:
        # A ban takes effect on the next message, not only on the next chat.
        await bans.check_allowed(visitor_id=_visitor(sock).visitor_id, ip=sock.ip)
        try:
            await sock.limit("messages", frame.conversation)
        except RateLimited:
            # A replay after a reconnect (the ack was lost) is not a new message: answer
            # it as it was answered, so the widget does not report a stored message unsent.
            recorded = await sock.chat.recorded_result(_visitor(sock), frame.id)
            if recorded is None:
                raise
            return recorded
        return await msg_send(sock, frame)

    async def page(sock: ClientSocket, frame: c.Page) -> dict[str, Any]:
        return await visitors.record_page(_visitor(sock), frame.url, frame.title, frame.referrer)

    async def chat_end(sock: ClientSocket, frame: c.ChatEnd) -> dict[str, Any]:
        return await sock.chat.end_by_visitor(_visitor(sock), frame.id, frame.conversation)

    async def rating(sock: ClientSocket, frame: c.Rating) -> dict[str, Any]:
        return await sock.chat.rate(
            _visitor(sock), frame.id, frame.conversation, frame.score, frame.comment
        )

    return {
        "hello": hello,
        "ping": ping,
        "chat.start": chat_start,
        "msg.send": visitor_msg_send,
        "typing": typing,
        "page": page,
        "chat.end": chat_end,
        "rating": rating,
    }


# ---- staff ------------------------------------------------------------------------------


def agent_handlers(
    staff: StaffService, departments: DepartmentService, bans: BanService, visitors: VisitorService
) -> dict[str, Handler]:
    async def hello(sock: ClientSocket, frame: c.AgentHello) -> None:
        token = sock.extra.get("session_token")
        principal, user = await staff.authenticate(token, ip=sock.extra.get("ip"))
        sock.principal = principal

        async def session_valid() -> bool:
            # Asked when a notice says some of this user's sessions ended: is this one of them?
            try:
                await staff.authenticate(token, ip=sock.extra.get("ip"))
            except DomainError:
                return False
            return True

        sock.extra["session_valid"] = session_valid
        sock.extra["session_checked"] = time.monotonic()
        sock.extra["departments"] = await departments.of_user(principal.user_id)
        # Read again when an admin changes them (the "departments" staff notice).
        sock.extra["reload_departments"] = lambda: departments.of_user(principal.user_id)
        await sock.follow(STAFF_CHANNEL)
        if user.status is AgentStatus.OFFLINE:
            # Never chosen (a new account): opening the console means taking chats, as the
            # console shows; a chosen "away" is kept from one session to the next.
            await staff.set_status(principal, AgentStatus.ONLINE)
            user = replace(user, status=AgentStatus.ONLINE)
        summaries = await sock.chat.summaries_for_staff(principal)
        if user.status is AgentStatus.ONLINE:
            sock.hub.agent_available(user.id, True)
            sock.extra["available"] = True
            # Visitors waiting while nobody was there learn that someone is now.
            await sock.chat.announce_queue()
        await sock.send(
            {
                "t": "ack",
                "id": frame.id,
                "agent": user_summary(user),
                "conversations": summaries,
            }
        )
        for summary in summaries:
            conv = summary["id"]
            after = frame.resume.get(conv, summary["last_seq"])
            await sock.watch(conv, min(after, summary["last_seq"]))
        # Who is browsing now, as live page views would have shown it (newest last, as the
        # console lists the latest arrival first).
        for page in reversed(await visitors.on_site_now(principal)):
            if sock.sees_department(page.pop("department")):
                await sock.send({"t": "visitor.page", **page})

    async def accept(sock: ClientSocket, frame: c.ConvAccept) -> dict[str, Any]:
        result = await sock.chat.accept(_staff(sock), frame.id, frame.conversation)
        await sock.watch(frame.conversation, 0)
        return result

    async def note_send(sock: ClientSocket, frame: c.NoteSend) -> dict[str, Any]:
        return await sock.chat.send_note(_staff(sock), frame.id, frame.conversation, frame.body)

    async def transfer(sock: ClientSocket, frame: c.ConvTransfer) -> dict[str, Any]:
        return await sock.chat.transfer(_staff(sock), frame.id, frame.conversation, frame.agent)

    async def close(sock: ClientSocket, frame: c.ConvClose) -> dict[str, Any]:
        return await sock.chat.close(_staff(sock), frame.id, frame.conversation)

    async def invite(sock: ClientSocket, frame: c.Invite) -> dict[str, Any]:
        return await sock.chat.invite(_staff(sock), frame.visitor, frame.body)

    async def status_set(sock: ClientSocket, frame: c.StatusSet) -> dict[str, Any]:
        principal = _staff(sock)
        status = AgentStatus(frame.status)
        result = await staff.set_status(principal, status)
        available = status is AgentStatus.ONLINE
        if available != bool(sock.extra.get("available")):
            sock.hub.agent_available(principal.user_id, available)
            sock.extra["available"] = available
            # Waiting visitors see an estimate appear, or go when the last agent steps away.
            await sock.chat.announce_queue()
        return result

    async def visitor_ban(sock: ClientSocket, frame: c.VisitorBan) -> dict[str, Any]:
        ban = await bans.ban(
            _staff(sock),
            visitor=frame.visitor,
            ip=frame.ip,
            duration_s=frame.duration_s,
            reason=frame.reason,
        )
        return {"ban": ban.id, "expires_at": iso(ban.expires_at)}

    return {
        "hello": hello,
        "ping": ping,
        "conv.accept": accept,
        "msg.send": msg_send,
        "note.send": note_send,
        "conv.transfer": transfer,
        "conv.close": close,
        "status.set": status_set,
        "typing": typing,
        "invite": invite,
        "visitor.ban": visitor_ban,
    }


async def release_agent(sock: ClientSocket) -> None:
    """On disconnect: this socket no longer makes its agent available."""
    if sock.extra.get("available") and isinstance(sock.principal, StaffPrincipal):
        sock.hub.agent_available(sock.principal.user_id, False)

"""Conversation events: how they travel on the bus and how each kind of reader sees them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bastion.domain.models import STAFF_ONLY_EVENTS, Event, EventType

STAFF_CHANNEL = "staff"
# Every node's visitor sockets follow it, so a ban closes the sockets it covers at once.
# Bans are rare: one shared channel costs nothing and reaches sockets of banned ranges.
BANS_CHANNEL = "bans"
# Every node's unit-of-work factory listens: an erased visitor's data key leaves every
# node's key cache, not only the memory of the node that ran the erasure.
ERASURES_CHANNEL = "erasures"
# A widget's settings changed: nodes drop what they keep of them (redaction rules).
WIDGETS_CHANNEL = "widgets"


def widget_notice(widget_id: str) -> dict[str, str]:
    return {"type": "widget", "widget": widget_id}


def canned_notice(departments: Iterable[str | None]) -> dict[str, Any]:
    """Tells consoles (on ``STAFF_CHANNEL``) that canned responses changed, so they read
    the list again; never their text. ``departments``: those of the responses touched,
    before and after; a global one (None) concerns everyone, sent as ``None``.
    """
    touched = set(departments)
    ids = sorted(d for d in touched if d is not None)
    return {"type": "canned", "departments": None if None in touched else ids}


def sessions_ended_notice(user_ids: list[str]) -> dict[str, Any]:
    """Tells every node (on ``STAFF_CHANNEL``) that sessions of these users ended (logout,
    a session ended by its user, a password change or reset, a role or permission change,
    a lock, an admin action): each of their agent sockets checks its own session again and
    closes unless it still holds, so no socket outlives its session or keeps old privileges.
    """
    return {"type": "sessions_ended", "users": sorted(user_ids)}


def conv_channel(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def visitor_channel(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def event_to_wire(e: Event) -> dict[str, Any]:
    """The bus form of an event (JSON-safe, complete: the reader renders it)."""
    return {
        "conversation_id": e.conversation_id,
        "seq": e.seq,
        "type": e.type.value,
        "author_kind": e.author_kind,
        "author_id": e.author_id,
        "author_name": e.author_name,
        "body": e.body,
        "data": e.data,
        "public_id": e.public_id,
        "created_at": e.created_at.isoformat(),
    }


def event_from_wire(d: dict[str, Any]) -> Event:
    return Event(
        conversation_id=str(d["conversation_id"]),
        seq=int(d["seq"]),
        type=EventType(d["type"]),
        author_kind=str(d["author_kind"]),
        author_id=d.get("author_id"),
        author_name=d.get("author_name"),
        body=d.get("body"),
        data=dict(d.get("data") or {}),
        public_id=d.get("public_id"),
        created_at=datetime.fromisoformat(d["created_at"]),
    )


def visible_to_visitor(e: Event) -> bool:
    return e.type not in STAFF_ONLY_EVENTS


# Why a conversation changed state, as conv.state frames say it. A banned visitor is not
# told why their chat closed (their socket is being closed anyway).
STAFF_ONLY_REASONS = frozenset({"banned"})


def state_reason(data: dict[str, Any]) -> str | None:
    """``requeued`` (back in the queue: its agent was locked or lost chat.handle), or who
    or what closed it (``agent``, ``visitor``, ``idle``, ``banned``); None otherwise.
    """
    if data.get("requeued"):
        return "requeued"
    closed_by = data.get("closed_by")
    return str(closed_by) if closed_by else None


def render_event(e: Event, *, staff: bool) -> dict[str, Any] | None:
    """The frame a reader receives for ``e``, or None if the reader may not see it."""
    if not staff and not visible_to_visitor(e):
        return None
    frame: dict[str, Any] = {"t": e.type.value, "conversation": e.conversation_id, "seq": e.seq}
    ts = iso(e.created_at)
    author: dict[str, Any] = {"kind": e.author_kind, "name": e.author_name}
    if staff and e.author_id:
        author["id"] = e.author_id
    if e.type is EventType.MSG:
        frame["message"] = {"id": e.public_id, "author": author, "body": e.body, "ts": ts}
    elif e.type is EventType.NOTE:
        frame["note"] = {"id": e.public_id, "author": author, "body": e.body, "ts": ts}
    elif e.type is EventType.STATE:
        agent_name = e.data.get("agent_name")
        agent: dict[str, Any] | None = {"name": agent_name} if agent_name else None
        if staff and agent is not None:
            agent["id"] = e.data.get("agent_id")
        frame.update(state=e.data["state"], agent=agent, ts=ts)
        reason = state_reason(e.data)
        if reason is not None and (staff or reason not in STAFF_ONLY_REASONS):
            frame["reason"] = reason
        if staff and "visitor" in e.data:
            frame["visitor"] = e.data["visitor"]
    elif e.type is EventType.FILE:
        info = e.data.get("file", {})
        frame["file"] = {
            "id": info.get("id"),
            "name": info.get("name"),
            "size": info.get("size"),
            "type": info.get("type"),
            "author": author,
            "ts": ts,
        }
    elif e.type is EventType.RATING:
        frame.update(score=e.data.get("score"), comment=e.data.get("comment"), ts=ts)
    return frame

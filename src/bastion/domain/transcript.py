"""A visitor's own transcript: their conversation as a plain-text file.

Built from exactly the frames a visitor already receives (``render_event`` with
``staff=False``), so internal notes and staff-only fields can never leak into it.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from bastion.domain.errors import Forbidden, NotFound
from bastion.domain.events import render_event
from bastion.domain.models import Conversation
from bastion.domain.ports import UnitOfWorkFactory
from bastion.domain.principals import Principal, VisitorPrincipal

PAGE = 500
# Bounds the work and memory of one download (20 pages of 500 events).
MAX_PAGES = 20


def _ts(value: str | None) -> str:
    if not value:
        return ""
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _who(author: dict[str, Any]) -> str:
    return str(author.get("name") or ("You" if author.get("kind") == "visitor" else "Agent"))


def _size(n: int) -> str:
    """As the widget shows it (``formatSize`` in web/shared/http.ts)."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.{1 if n < 10240 else 0}f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _plain(text: str) -> str:
    """One line of untrusted text: control and format characters (line breaks, direction
    overrides) go. Upload already cleans file names; a transcript does not rely on it.
    """
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")


def _line(frame: dict[str, Any]) -> str | None:
    kind = frame["t"]
    if kind == "msg":
        message = frame["message"]
        who = _who(message["author"])
        # Continuation lines are indented so a body cannot forge a line of its own: split
        # at every line break a reader may honour (U+2028, U+2029 too), not only at \n.
        body = "\n    ".join(str(message.get("body") or "").splitlines())
        return f"[{_ts(message.get('ts'))}] {who}: {body}"
    if kind == "conv.state":
        state = frame.get("state")
        agent = (frame.get("agent") or {}).get("name")
        text = {
            "waiting": "Chat started",
            "active": f"{agent} joined the chat" if agent else "An agent joined the chat",
            "closed": "Chat ended",
        }.get(str(state))
        return f"[{_ts(frame.get('ts'))}] -- {text}" if text else None
    if kind == "file":
        # What the chat view shows of a file: who shared it, its name, type and size.
        file = frame["file"]
        name = _plain(str(file.get("name") or "file"))
        about = f"{_plain(str(file.get('type') or ''))}, {_size(int(file.get('size') or 0))}"
        return f"[{_ts(file.get('ts'))}] {_who(file['author'])} sent a file: {name} ({about})"
    if kind == "rating":
        return f"[{_ts(frame.get('ts'))}] -- You rated the chat: {frame.get('score')}"
    return None


def render_transcript(conv: Conversation, site: str, frames: list[dict[str, Any]]) -> str:
    lines = [
        f"Chat transcript - {site}",
        f"Conversation {conv.id}, started {conv.created_at.strftime('%Y-%m-%d %H:%M UTC')}",
        "",
    ]
    lines += [line for f in frames if (line := _line(f)) is not None]
    return "\n".join(lines) + "\n"


class TranscriptService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def for_visitor(self, actor: Principal, conversation_id: str) -> tuple[str, str]:
        """(file name, text) of the visitor's own conversation; anyone else's is absent."""
        if not isinstance(actor, VisitorPrincipal):
            raise Forbidden("transcripts are for the visitor of the chat")
        async with self._uow(write=False) as uow:
            conv = await uow.conversations.get(conversation_id)
            if (
                conv is None
                or conv.visitor_id != actor.visitor_id
                or conv.widget_id != actor.widget_id
            ):
                raise NotFound("no such conversation")
            widget = await uow.widgets.get(conv.widget_id)
            frames: list[dict[str, Any]] = []
            after = 0
            for _page in range(MAX_PAGES):
                events = await uow.events.after(conv.id, after, PAGE)
                if not events:
                    break
                frames += [f for e in events if (f := render_event(e, staff=False)) is not None]
                after = events[-1].seq
        site = widget.name if widget else "chat"
        text = render_transcript(conv, site, frames)
        if after < conv.last_seq:
            text += "(The chat is longer than a transcript holds; later lines are left out.)\n"
        return f"transcript-{conv.id}.txt", text

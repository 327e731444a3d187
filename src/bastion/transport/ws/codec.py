"""Decoding and validating client frames. Every failure becomes a :class:`FrameError`
with a stable code; nothing a client sends can raise anything else.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, ValidationError

from bastion.transport.jsonlimits import DEFAULT_MAX_DEPTH, NulFree, too_deep

CommandId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
ConvId = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
# Length limits for bodies are the domain's (they are settings); this cap only bounds work.
Body = Annotated[str, StringConstraints(max_length=20000)]
ShortText = Annotated[str, StringConstraints(max_length=2048)]


class Frame(NulFree):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Ping(Frame):
    t: Literal["ping"]
    id: CommandId | None = None


class VisitorHello(Frame):
    t: Literal["hello"]
    id: CommandId | None = None
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    resume: dict[ConvId, Annotated[int, Field(ge=0)]] = Field(default_factory=dict, max_length=50)


class AgentHello(Frame):
    t: Literal["hello"]
    id: CommandId | None = None
    resume: dict[ConvId, Annotated[int, Field(ge=0)]] = Field(default_factory=dict, max_length=200)


class Consent(Frame):
    accepted: bool
    version: Annotated[str, StringConstraints(max_length=40)] | None = None


class ChatStart(Frame):
    t: Literal["chat.start"]
    id: CommandId
    fields: dict[Annotated[str, StringConstraints(max_length=40)], ShortText] = Field(
        default_factory=dict, max_length=20
    )
    consent: Consent | None = None
    message: Body | None = None


class MsgSend(Frame):
    t: Literal["msg.send"]
    id: CommandId
    conversation: ConvId
    body: Body


class NoteSend(Frame):
    t: Literal["note.send"]
    id: CommandId
    conversation: ConvId
    body: Body


class Typing(Frame):
    t: Literal["typing"]
    id: CommandId | None = None
    conversation: ConvId
    on: bool


class Page(Frame):
    t: Literal["page"]
    id: CommandId | None = None
    url: ShortText
    title: Annotated[str, StringConstraints(max_length=1000)] | None = None
    referrer: ShortText | None = None


class ChatEnd(Frame):
    t: Literal["chat.end"]
    id: CommandId
    conversation: ConvId


class Rating(Frame):
    t: Literal["rating"]
    id: CommandId
    conversation: ConvId
    score: Literal["good", "bad"]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ConvAccept(Frame):
    t: Literal["conv.accept"]
    id: CommandId
    conversation: ConvId


class ConvClose(Frame):
    t: Literal["conv.close"]
    id: CommandId
    conversation: ConvId


class ConvTransfer(Frame):
    t: Literal["conv.transfer"]
    id: CommandId
    conversation: ConvId
    agent: ConvId


class Invite(Frame):
    t: Literal["invite"]
    id: CommandId
    visitor: ConvId
    body: Annotated[str, StringConstraints(max_length=500)]  # the domain's limit too


class StatusSet(Frame):
    t: Literal["status.set"]
    id: CommandId
    status: Literal["online", "away"]


class VisitorBan(Frame):
    t: Literal["visitor.ban"]
    id: CommandId
    visitor: ConvId | None = None
    ip: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    duration_s: Annotated[int, Field(ge=60, le=365 * 24 * 3600)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


VISITOR_FRAMES: dict[str, type[Frame]] = {
    "hello": VisitorHello,
    "ping": Ping,
    "chat.start": ChatStart,
    "msg.send": MsgSend,
    "typing": Typing,
    "page": Page,
    "chat.end": ChatEnd,
    "rating": Rating,
}

AGENT_FRAMES: dict[str, type[Frame]] = {
    "hello": AgentHello,
    "ping": Ping,
    "conv.accept": ConvAccept,
    "msg.send": MsgSend,
    "note.send": NoteSend,
    "conv.transfer": ConvTransfer,
    "conv.close": ConvClose,
    "status.set": StatusSet,
    "typing": Typing,
    "invite": Invite,
    "visitor.ban": VisitorBan,
}


class FrameError(Exception):
    def __init__(
        self, code: str, message: str, *, id: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.id = id
        self.field = field

    def frame(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t": "error",
            "id": self.id,
            "code": self.code,
            "message": self.message,
        }
        if self.field:
            out["field"] = self.field
        return out


def _safe_id(obj: dict[str, Any]) -> str | None:
    raw = obj.get("id")
    if isinstance(raw, str) and 0 < len(raw) <= 64 and raw.isascii() and raw.isprintable():
        return raw
    return None


def decode(
    text: str | bytes | None,
    registry: dict[str, type[Frame]],
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Frame:
    if text is None or isinstance(text, bytes):
        raise FrameError("invalid_json", "frames must be JSON text")
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise FrameError("frame_too_large", f"frames are limited to {max_bytes} bytes")
    if too_deep(text, max_depth):
        raise FrameError("json_too_deep", f"frames are limited to {max_depth} levels of nesting")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    if not isinstance(obj, dict):
        raise FrameError("invalid_json", "a frame must be a JSON object")
    frame_id = _safe_id(obj)
    kind = obj.get("t")
    if not isinstance(kind, str):
        raise FrameError(
            "invalid_frame", "the frame needs a string type 't'", id=frame_id, field="t"
        )
    model = registry.get(kind)
    if model is None:
        shown = kind[:40].encode("ascii", "backslashreplace").decode("ascii")
        raise FrameError("unknown_type", f"unknown frame type '{shown}'", id=frame_id)
    try:
        return model.model_validate(obj)
    except ValidationError as err:
        first = err.errors()[0]
        parts, rule = tuple(first["loc"]), first["msg"]
        if first["type"] == "extra_forbidden":
            # The key is the sender's own invention: say where it is, not what it is.
            parts, rule = parts[:-1], "unknown field"
        loc = ".".join(str(p) for p in parts) or None
        # The message names the field and the rule, never echoes the value.
        raise FrameError(
            "invalid_frame", f"{loc or 'frame'}: {rule}", id=frame_id, field=loc
        ) from None
    except RecursionError:
        raise FrameError("invalid_json", "the frame is nested too deeply", id=frame_id) from None

"""One client socket: its cursors, its bounded queues and its delivery rules.

Three tasks share a socket. The reader (``run``) decodes frames and calls the domain,
one command at a time. The consumer turns bus messages into frames, filling any gap in
a conversation's seq from the database. The writer drains a bounded send queue; a
client too slow to keep up is disconnected (1013) rather than allowed to grow memory,
and resumes by seq when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from bastion.domain.bans import UNAVAILABLE, ban_covers
from bastion.domain.conversations import ChatService, staff_may_watch
from bastion.domain.errors import DomainError, NotFound, RateLimited
from bastion.domain.events import conv_channel, event_from_wire, render_event
from bastion.domain.models import BanKind
from bastion.domain.permissions import Perm, allowed
from bastion.domain.principals import Principal, StaffPrincipal, VisitorPrincipal
from bastion.security.ratelimit import RateLimiter
from bastion.transport.jsonlimits import DEFAULT_MAX_DEPTH
from bastion.transport.ws.codec import Frame, FrameError, decode
from bastion.transport.ws.hub import Hub
from bastion.transport.ws.mailbox import Mailbox

log = structlog.get_logger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_LATER = 1013
# Errors that mean "you are pushing too hard": each one is an abuse strike.
STRIKE_CODES = frozenset({"rate_limited", "duplicate_message", "too_many_links"})
SESSION_ENDED = "your session has ended; please log in again"


@dataclass(frozen=True)
class SocketLimits:
    max_frame_bytes: int = 16 * 1024
    max_json_depth: int = DEFAULT_MAX_DEPTH
    idle_timeout_s: float = 75.0
    hello_timeout_s: float = 10.0
    queue_size: int = 256
    # Token bucket per socket: sustained frames per second and burst.
    frames_per_s: float = 20.0
    frame_burst: int = 60
    # Errors tolerated (bad frames, rate-limit hits) before the socket is closed.
    max_strikes: int = 50
    # An agent socket's session is checked again at its first frame after this long (the
    # console pings every 25 s): its expiry, the IP allow-list and the 2FA rule then apply
    # to sockets already open, as to every request.
    session_recheck_s: float = 60.0


class _Bucket:
    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


Handler = Callable[["ClientSocket", Any], Awaitable[dict[str, Any] | None]]


class ClientSocket:
    def __init__(
        self,
        ws: WebSocket,
        *,
        chat: ChatService,
        hub: Hub,
        limits: SocketLimits,
        registry: dict[str, type[Frame]],
        handlers: dict[str, Handler],
        on_close: Callable[[ClientSocket], Awaitable[None]] | None = None,
        limiter: RateLimiter | None = None,
        ip: str = "unknown",
    ) -> None:
        self.ws = ws
        self.ip = ip
        self.limiter = limiter
        self.chat = chat
        self.hub = hub
        self.limits = limits
        self.principal: Principal | None = None
        self.cursors: dict[str, int] = {}
        self.channels: set[str] = set()
        self.extra: dict[str, Any] = {}
        self._registry = registry
        self._handlers = handlers
        self._on_close = on_close
        self._inbox: Mailbox[tuple[str, dict[str, Any]]] = Mailbox(limits.queue_size)
        # Text frames to send; a (code, reason) tuple closes after what is queued before it.
        self._outbox: Mailbox[str | tuple[int, str] | None] = Mailbox(limits.queue_size + 1)
        # The writer and the consumer run only while their mailbox has something in it:
        # an idle socket holds no task but its reader (docs/performance.md, idle sockets).
        self._writer_task: asyncio.Task[None] | None = None
        self._consumer_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._closing = False
        self._close_task: asyncio.Task[None] | None = None
        self._strikes = 0
        self._bucket = _Bucket(limits.frames_per_s, limits.frame_burst)

    async def limit(self, rule: str, *key: str) -> None:
        """Count one event under a shared rate-limit rule; raise RateLimited when over."""
        if self.limiter is None:
            return
        verdict = await self.limiter.hit(rule, *key)
        if not verdict.allowed:
            raise RateLimited(
                f"Too many requests. Try again in {verdict.retry_after} s.",
                retry_after=verdict.retry_after,
            )

    @property
    def staff(self) -> bool:
        return isinstance(self.principal, StaffPrincipal)

    def eta(self, eta_s: int | None) -> int | None:
        """A waiting visitor's expected wait, or None while no agent is available: an
        estimate from past waits would promise an answer nobody is there to give.
        """
        return eta_s if self.hub.any_agent_available() else None

    # ---- outbound ---------------------------------------------------------------------

    async def send(self, frame: dict[str, Any]) -> None:
        if not self._closing:
            await self._outbox.put(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
            self._start_writer()

    def post(self, channel: str, message: dict[str, Any]) -> None:
        """Called by the hub for every bus message on a followed channel."""
        if self._closing:
            return  # nothing more is sent; do not start a consumer for a closing socket
        try:
            self._inbox.put_nowait((channel, message))
            if self._consumer_task is None:
                self._consumer_task = asyncio.get_running_loop().create_task(self._consumer())
        except asyncio.QueueFull:
            if not self._closing:
                log.info("ws_slow_consumer_closed")
                self._closing = True
                self._close_task = asyncio.get_running_loop().create_task(
                    self._close_now(CLOSE_TRY_LATER, "too slow")
                )

    def _start_writer(self) -> None:
        if self._writer_task is None:
            self._writer_task = asyncio.get_running_loop().create_task(self._writer())

    async def _writer(self) -> None:
        """Send what is queued, in order; ends when the outbox is empty.

        No await lies between the emptiness check and the end, so nothing queued meanwhile
        is left behind. A send that fails means the peer is gone: the reader ends too.
        """
        try:
            while len(self._outbox):
                item = await self._outbox.get()
                if item is None:
                    return
                if isinstance(item, tuple):
                    await self._close_now(*item)
                    return
                await self.ws.send_text(item)
        except Exception:  # noqa: BLE001 - a broken connection; the read loop sees it too
            self._closing = True
        finally:
            self._writer_task = None

    async def _close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (an error explaining why) are sent."""
        if not self._closing:
            self._closing = True
            await self._outbox.put((code, reason))
            self._start_writer()

    async def _close_now(self, code: int, reason: str) -> None:
        self._closing = True
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(code, reason)

    # ---- following conversations ------------------------------------------------------

    async def follow(self, channel: str) -> None:
        if channel not in self.channels:
            self.channels.add(channel)
            await self.hub.follow(self, channel)

    async def unfollow(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.discard(channel)
            await self.hub.unfollow(self, channel)

    async def watch(self, conversation_id: str, after_seq: int) -> None:
        """Follow a conversation and send everything after ``after_seq`` not yet sent."""
        async with self._lock:
            if conversation_id not in self.cursors:
                self.cursors[conversation_id] = after_seq
                await self.follow(conv_channel(conversation_id))
            await self._sync(conversation_id)

    async def unwatch(self, conversation_id: str) -> None:
        self.cursors.pop(conversation_id, None)
        await self.unfollow(conv_channel(conversation_id))

    async def _sync(self, conversation_id: str) -> None:
        """Send what the database holds after the cursor (call with the lock held)."""
        assert self.principal is not None
        while conversation_id in self.cursors:
            after = self.cursors[conversation_id]
            try:
                frames, read_to = await self.chat.events_after(
                    self.principal, conversation_id, after
                )
            except NotFound:
                await self.unwatch(conversation_id)
                return
            for frame in frames:
                await self.send(frame)
            self.cursors[conversation_id] = read_to
            if read_to == after:
                return
            if frames and frames[-1]["t"] == "conv.state":
                await self._after_state(frames[-1])

    async def _deliver_event(self, wire: dict[str, Any]) -> None:
        assert self.principal is not None
        event = event_from_wire(wire)
        async with self._lock:
            cursor = self.cursors.get(event.conversation_id)
            if cursor is None or event.seq <= cursor:
                return
            if event.seq > cursor + 1:
                # A hole: the bus dropped something, or we joined late. The DB decides.
                await self._sync(event.conversation_id)
                return
            self.cursors[event.conversation_id] = event.seq
            frame = render_event(event, staff=self.staff)
            if frame is not None:
                await self.send(frame)
                if frame["t"] == "conv.state":
                    await self._after_state(frame)

    async def _after_state(self, frame: dict[str, Any]) -> None:
        """Staff stop following conversations that left their view."""
        if isinstance(self.principal, StaffPrincipal):
            agent = frame.get("agent") or {}
            if not staff_may_watch(self.principal, frame["state"], agent.get("id")):
                await self.unwatch(frame["conversation"])

    async def _consumer(self) -> None:
        """Handle bus messages in order; ends when the inbox is empty (as the writer)."""
        try:
            while len(self._inbox):
                await self._consume(*(await self._inbox.get()))
        finally:
            self._consumer_task = None

    async def _consume(self, channel: str, message: dict[str, Any]) -> None:
        try:
            if message.get("type") == "resync":
                await self._resync(channel)
            else:
                await self._on_bus(message)
        except DomainError:
            return
        except Exception:
            log.exception("ws_bus_message_failed", channel=channel.split(":", 1)[0])

    async def _resync(self, channel: str) -> None:
        """The bus reconnected and may have lost messages on ``channel``: ask the database.

        A conversation channel re-reads that conversation after its cursor; the staff or
        visitor channel re-lists conversations, so chats that started meanwhile appear.
        """
        principal = self.principal
        if principal is None:
            return
        if channel.startswith("conv:"):
            conv = channel.removeprefix("conv:")
            if conv in self.cursors:
                async with self._lock:
                    await self._sync(conv)
            return
        if isinstance(principal, StaffPrincipal):
            summaries = await self.chat.summaries_for_staff(principal)
        else:
            summaries = await self.chat.summaries_for_visitor(principal)
        for summary in summaries:
            if summary["id"] not in self.cursors and summary["state"] != "closed":
                await self.watch(summary["id"], 0)

    async def _on_bus(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        principal = self.principal
        if principal is None:
            return
        if kind == "event":
            await self._deliver_event(message["event"])
        elif kind == "ban":
            await self._on_ban(BanKind(message["kind"]), str(message["target"]))
        elif kind == "sessions_ended":
            await self._on_sessions_ended(message.get("users") or [])
        elif kind == "erased" and isinstance(principal, VisitorPrincipal):
            # The visitor was erased (GDPR): their token and chats are gone on every node.
            log.info("ws_closed_by_erasure")
            await self._end(None, "not_authenticated", "this chat session has ended")
        elif kind == "notice":
            conv = message["conversation"]
            if conv in self.cursors:
                async with self._lock:
                    await self._sync(conv)
            elif not isinstance(principal, StaffPrincipal) or staff_may_watch(
                principal, message["state"], message.get("agent_id")
            ):
                await self.watch(conv, 0)
        elif kind == "typing":
            if message.get("sender") != principal.key and message["conversation"] in self.cursors:
                await self.send(
                    {
                        "t": "typing",
                        "conversation": message["conversation"],
                        "on": message["on"],
                        "author": message["author"],
                    }
                )
        elif kind == "queue":
            if not self.staff and message["conversation"] in self.cursors:
                await self.send(
                    {
                        "t": "queue",
                        "conversation": message["conversation"],
                        "position": message["position"],
                        "eta_s": self.eta(message["eta_s"]),
                    }
                )
        elif kind == "invite" and not self.staff:
            await self.send(
                {"t": "invite", "agent": message["agent"], "message": message["message"]}
            )
        elif kind == "visitor_erased" and self.staff:
            # The person was erased (GDPR): their chats are gone; consoles forget what they
            # show of them. The id is all the frame carries.
            await self.send({"t": "visitor.erased", "visitor": message["visitor"]})
        elif kind == "presence" and self.staff:
            await self.send(
                {"t": "presence", "agent": message["agent"], "status": message["status"]}
            )
        elif (
            kind == "departments"
            and isinstance(principal, StaffPrincipal)
            and message.get("user") == principal.user_id
        ):
            reload = self.extra.get("reload_departments")
            if reload is not None:
                self.extra["departments"] = await reload()
        elif kind == "canned" and self.sees_canned(message.get("departments")):
            # No text, only "read the list again": GET /api/v1/canned applies the scoping.
            await self.send({"t": "canned.changed"})
        elif kind == "page" and self.staff and self.sees_department(message.get("department")):
            await self.send(
                {
                    "t": "visitor.page",
                    "visitor": message["visitor"],
                    "url": message["url"],
                    "title": message["title"],
                    "ts": message["ts"],
                }
            )

    async def _on_ban(self, kind: BanKind, target: str) -> None:
        """A ban just landed somewhere in the cluster: leave if it covers this visitor.

        The visitor is told only what any banned visitor is told (chat is unavailable).
        """
        principal = self.principal
        if isinstance(principal, VisitorPrincipal) and ban_covers(
            kind, target, principal.visitor_id, self.ip
        ):
            log.info("ws_closed_by_ban")
            await self.send(
                {"t": "error", "id": None, "code": "unavailable", "message": UNAVAILABLE}
            )
            await self._close(CLOSE_POLICY, "unavailable")

    async def _on_sessions_ended(self, users: list[str]) -> None:
        """Sessions of the user ended (a logout, a session ended from the account page, a
        password change or reset, a role or permission change, a lock, an admin): a socket
        authenticated by one of them must not keep its privileges, so it closes and the
        console asks for a new login. A socket whose own session still holds (the one that
        ended the user's other sessions) stays open.
        """
        principal = self.principal
        if isinstance(principal, StaffPrincipal) and principal.user_id in users:
            session_valid = self.extra.get("session_valid")
            if session_valid is not None and await session_valid():
                return
            log.info("ws_closed_sessions_ended")
            await self._end(None, "not_authenticated", SESSION_ENDED)

    def sees_department(self, department: str | None) -> bool:
        if department is None or not isinstance(self.principal, StaffPrincipal):
            return True
        if allowed(self.principal, Perm.CHAT_VIEW_ALL):
            return True
        return department in self.extra.get("departments", set())

    def sees_canned(self, departments: list[str] | None) -> bool:
        """Whether a change of canned responses of ``departments`` (None: a global one)
        concerns this socket: staff who may list them, as ``CannedService.list_for``
        scopes them (all for ``canned.manage``, else global and own departments).
        """
        principal = self.principal
        if not isinstance(principal, StaffPrincipal):
            return False
        if allowed(principal, Perm.CANNED_MANAGE):
            return True
        if not allowed(principal, Perm.CHAT_HANDLE):
            return False
        if departments is None:
            return True
        return not self.extra.get("departments", set()).isdisjoint(departments)

    # ---- inbound ----------------------------------------------------------------------

    async def _strike(self) -> bool:
        """Count an abuse strike; True when the socket has been closed for it."""
        self._strikes += 1
        if self._strikes > self.limits.max_strikes:
            await self._close(CLOSE_POLICY, "too many errors")
            return True
        return False

    async def run(self) -> None:
        try:
            await self._read_loop()
        except WebSocketDisconnect:
            pass
        finally:
            self._closing = True
            if self._consumer_task is not None:
                self._consumer_task.cancel()
            writer = self._writer_task
            if writer is not None:
                # Let it send what is queued (an error explaining a close), then stop.
                with contextlib.suppress(asyncio.QueueFull):
                    self._outbox.put_nowait(None)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(writer), 2)
                writer.cancel()
            await self.hub.unfollow_all(self, self.channels)
            self.channels.clear()
            if self._on_close is not None:
                await self._on_close(self)

    async def _read_loop(self) -> None:
        while not self._closing:
            timeout = (
                self.limits.hello_timeout_s
                if self.principal is None
                else self.limits.idle_timeout_s
            )
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for wraps the receive in one
                # more task per socket, for the socket's whole life.
                async with asyncio.timeout(timeout):
                    message = await self.ws.receive()
            except TimeoutError:
                await self._close(CLOSE_GOING_AWAY if self.principal else CLOSE_POLICY, "idle")
                return
            if message["type"] == "websocket.disconnect":
                return
            try:
                frame = decode(
                    message.get("text") if "text" in message else message.get("bytes"),
                    self._registry,
                    self.limits.max_frame_bytes,
                    self.limits.max_json_depth,
                )
            except FrameError as err:
                if self.principal is None:
                    # Before hello a socket has nothing to lose: a malformed hello (no
                    # token, say) is answered and closed, not left open until the hello
                    # timeout with strikes to spend.
                    await self._end(err.id, err.code, err.message)
                    return
                await self.send(err.frame())
                if await self._strike():
                    return
                continue
            if not self._bucket.take():
                # Decoded first (bounded: size and depth caps, and strikes close the
                # socket) so the refusal names the command: a client can tell which
                # message was not sent instead of waiting for its ack for ever.
                await self.send(
                    {
                        "t": "error",
                        "id": getattr(frame, "id", None),
                        "code": "rate_limited",
                        "message": "slow down",
                        "retry_after": 1,
                    }
                )
                if await self._strike():
                    return
                continue
            await self._handle(frame)

    async def _end(
        self, frame_id: str | None, code: str, message: str, close_code: int = CLOSE_POLICY
    ) -> None:
        """The last word: an error frame that says why, then the close (its reason: the
        code in words, "not authenticated").
        """
        await self.send({"t": "error", "id": frame_id, "code": code, "message": message})
        await self._close(close_code, code.replace("_", " "))

    async def _session_gone(self, frame_id: str | None) -> bool:
        """An agent socket whose session no longer holds (it expired, idle or absolute, or
        the allow-list or the 2FA rule now shuts it out) is closed, checked at most every
        ``session_recheck_s``. Sessions ended on purpose close their sockets at once (the
        ``sessions_ended`` notice); this is for what ends by itself or by policy.
        """
        check = self.extra.get("session_valid")
        if check is None:
            return False
        now = time.monotonic()
        if now - self.extra.get("session_checked", now) < self.limits.session_recheck_s:
            return False
        self.extra["session_checked"] = now
        if await check():
            return False
        log.info("ws_closed_session_expired")
        await self._end(frame_id, "not_authenticated", SESSION_ENDED)
        return True

    async def _handle(self, frame: Frame) -> None:
        kind = getattr(frame, "t")  # noqa: B009 - every Frame subclass declares t
        frame_id = getattr(frame, "id", None)
        if self.principal is None and kind not in ("hello", "ping"):
            await self._end(frame_id, "not_authenticated", "send hello first")
            return
        if self.principal is not None and await self._session_gone(frame_id):
            return
        if self.principal is not None and kind == "hello":
            await self.send(
                {
                    "t": "error",
                    "id": frame_id,
                    "code": "already_authenticated",
                    "message": "hello was already accepted",
                }
            )
            return
        try:
            result = await self._handlers[kind](self, frame)
        except DomainError as err:
            error: dict[str, Any] = {
                "t": "error",
                "id": frame_id,
                "code": err.code,
                "message": err.message,
            }
            if err.field:
                error["field"] = err.field
            if isinstance(err, RateLimited):
                error["retry_after"] = err.retry_after
            await self.send(error)
            if err.code == "not_authenticated":
                await self._close(CLOSE_POLICY, "not authenticated")
            elif err.code == "unavailable" and self.principal is None:
                # Refused at hello (a ban): nothing more this socket can do.
                await self._close(CLOSE_POLICY, "unavailable")
            elif err.code in STRIKE_CODES:
                await self._strike()
            return
        except Exception as err:  # noqa: BLE001 - a bug: answered, logged by type, closed
            # Logged by type only, as over REST: the text (a database error's parameters)
            # can hold personal data. The transaction rolled back; the socket closes cleanly
            # instead of dropping without a close frame, and the client resumes by seq.
            log.error("ws_unhandled_error", error_type=type(err).__name__)
            await self._end(frame_id, "internal_error", "internal error", CLOSE_INTERNAL_ERROR)
            return
        if result is not None and frame_id is not None:
            await self.send({"t": "ack", "id": frame_id, **result})

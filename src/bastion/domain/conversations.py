"""Conversations: start, messages, notes, accept, transfer, close, rating, catch-up.

Every public method takes the acting principal and checks it here, so REST, WebSocket
and CLI paths are authorised the same way. ``check_*`` helpers validate and raise typed
errors; the ``do_*`` steps assume valid input and run inside one unit of work, which
publishes to the bus only after its commit.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bastion.domain.auth import audit_entry
from bastion.domain.copies import AnnouncedCopies
from bastion.domain.errors import (
    AtCapacity,
    ConsentRequired,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
)
from bastion.domain.events import (
    STAFF_CHANNEL,
    WIDGETS_CHANNEL,
    conv_channel,
    event_to_wire,
    iso,
    render_event,
    visitor_channel,
)
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import (
    Conversation,
    ConvState,
    Event,
    EventType,
    Visitor,
)
from bastion.domain.permissions import Perm, allowed
from bastion.domain.plaintext import check_plain, is_blank
from bastion.domain.ports import Bus, Clock, DuplicateCommand, UnitOfWork, UnitOfWorkFactory
from bastion.domain.principals import Principal, StaffPrincipal, VisitorPrincipal
from bastion.domain.roles import resolve_permissions
from bastion.domain.spam import Digests, RecentMessages, SpamLimits, check_not_spam
from bastion.domain.widget_settings import check_consent_version
from bastion.security.redaction import RedactionTimeout, Rules, redact, rules_from_config

OPEN_STATES = (ConvState.WAITING, ConvState.ACTIVE)
DEFAULT_WAIT_S = 40
RATING_SCORES = ("good", "bad")
MAX_FIELD_CHARS = 200
PREVIEW_CHARS = 120


@dataclass(frozen=True)
class ChatLimits:
    message_max_chars: int = 4000
    catch_up_page: int = 500
    # How long an agent keeps reading a chat after it closed or was transferred away.
    access_after_close_s: int = 24 * 3600
    # How long a stated reason reopens an old chat for its former agent.
    reopen_grant_s: int = 3600
    # Active chats per agent unless their account says otherwise.
    agent_max_chats: int = 5
    spam: SpamLimits = field(default_factory=SpamLimits)


def check_body(body: str, limits: ChatLimits) -> str:
    """Messages are plain text: refuse empty (or invisible) ones, oversize ones, control
    characters and text-direction overrides (plaintext.py).
    """
    text = body.replace("\r\n", "\n")
    if is_blank(text):
        raise InvalidInput("message is empty", field="body")
    if len(text) > limits.message_max_chars:
        raise InvalidInput(
            f"message is longer than {limits.message_max_chars} characters", field="body"
        )
    return check_plain(text, "message", "body", allow="\n\t")


# How long a node trusts its copy of a widget's redaction rules when no bus message says
# the widget changed (a lost message, or a change made by a process with no shared bus).
RULES_CACHE_S = 10


def apply_redaction(rules: Rules, text: str) -> tuple[str, bool]:
    """``text`` with card numbers and the widget's configured patterns masked.

    Runs before anything is stored or published, so the original reaches neither the
    database, the bus, the other side nor the logs. Returns (text, whether it changed).
    """
    try:
        result = redact(text, rules)
    except RedactionTimeout:
        # Fail closed: storing the text unchecked could keep what the admin hides.
        raise InvalidInput(
            "the message could not be checked for sensitive data; shorten it", field="body"
        ) from None
    return result.text, result.changed


def redaction_ack(result: dict[str, Any], body: str, changed: bool) -> dict[str, Any]:
    """Tell the sender what was stored, so its client replaces the local copy."""
    return {**result, "redacted": True, "body": body} if changed else result


def _clean_field(name: str, value: str) -> str:
    value = value.strip()
    if len(value) > MAX_FIELD_CHARS:
        raise InvalidInput(f"{name} is too long", field=f"fields.{name}")
    return check_plain(value, name, f"fields.{name}")


def check_prechat_fields(fields: dict[str, str], config: dict[str, Any]) -> dict[str, str]:
    """Keep only the fields the widget collects (data minimisation); check required ones."""
    wanted = {f["name"]: f for f in config.get("prechat_fields", [])}
    cleaned: dict[str, str] = {}
    for name, value in fields.items():
        if name not in wanted:
            continue
        cleaned[name] = _clean_field(name, value)
    for name, spec in wanted.items():
        if spec.get("required") and not cleaned.get(name):
            raise InvalidInput(f"{name} is required", field=f"fields.{name}")
    email = cleaned.get("email")
    if email and not _plausible_email(email):
        raise InvalidInput("email is not an e-mail address", field="fields.email")
    return cleaned


# name@domain.tld as people type it: one @, a dot in the domain, none of the characters
# that only quoted or malformed addresses hold. Agents answer to it and GDPR exports are
# found by it, so "a@b" or "<script>@x.com" is a typing mistake to point out, not data.
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\\\"]+@[^@\s<>()\[\],;:\\\"]+\.[^@\s<>()\[\],;:\\\".]{2,}")


def _plausible_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


class ChatService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        bus: Bus,
        *,
        limits: ChatLimits | None = None,
        ids: IdFactory = new_id,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self._limits = limits or ChatLimits()
        self._ids = ids
        self._access_window = timedelta(seconds=self._limits.access_after_close_s)
        # The spam checks' view of each conversation's recent visitor messages, kept
        # between messages while nothing else wrote to the conversation (spam.py).
        self._digests = Digests()
        self._recent = RecentMessages(self._limits.spam.history)
        # Each widget's redaction rules, kept until the widget changes (WIDGETS_CHANNEL)
        # or RULES_CACHE_S has passed: every message needs them.
        self._rules: AnnouncedCopies[Rules] = AnnouncedCopies(bus, WIDGETS_CHANNEL, RULES_CACHE_S)

    # ---- redaction ---------------------------------------------------------------------

    async def _redact(self, uow: UnitOfWork, widget_id: str, text: str) -> tuple[str, bool]:
        return apply_redaction(await self._rules_for(uow, widget_id), text)

    async def _rules_for(self, uow: UnitOfWork, widget_id: str) -> Rules:
        async def load() -> Rules:
            widget = await uow.widgets.get(widget_id)
            return rules_from_config(widget.config.get("redaction_patterns") if widget else None)

        # Kept only once this transaction commits (it may see another unit's uncommitted
        # change of the widget in the same SQLite commit group).
        return await self._rules.get(widget_id, self._clock.now(), load, defer=uow.after_commit)

    # ---- idempotent command execution -------------------------------------------------

    async def _run(
        self,
        actor: Principal,
        command_id: str | None,
        step: Callable[[UnitOfWork], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """Run ``step`` in one transaction, recording its result under the command id.

        A command id seen before returns the recorded result and changes nothing. Two
        concurrent deliveries of one id race on the commands table's primary key; the
        loser rolls back and returns the winner's result.

        Replays are rare, so the first attempt does not look the id up first (one read less
        per command): a replay is caught by the record's primary key when it is written,
        and rolled back; a replay whose step now fails (its conversation has closed since,
        say) is answered from the record too. Only then is the record read.
        """
        for attempt in range(2):
            async with self._uow() as uow:
                if command_id is not None and attempt > 0:
                    cached = await uow.commands.get(actor.key, command_id)
                    if cached is not None:
                        return cached
                try:
                    result = await step(uow)
                except DomainError:
                    if command_id is None or attempt > 0:
                        raise
                    cached = await self._recorded(uow, actor, command_id)
                    if cached is not None:
                        return cached
                    raise
                if command_id is not None:
                    # The record keeps ids and seqs, never message text: it is not sealed
                    # per visitor like events are. A replay's client gets the text as a msg.
                    record = {k: v for k, v in result.items() if k != "body"}
                    try:
                        await uow.commands.add(actor.key, command_id, record, self._clock.now())
                        await uow.commit()
                    except DuplicateCommand:
                        continue
                else:
                    await uow.commit()
                return result
        raise InvalidState("command could not be applied, retry")

    async def recorded_result(self, actor: Principal, command_id: str) -> dict[str, Any] | None:
        """What ``command_id`` answered when it was applied, or None if it never was: a
        client replaying a command whose ack it lost gets that answer, even where a new
        command would now be refused (a rate limit that counts new messages).
        """
        async with self._uow(write=False) as uow:
            return await uow.commands.get(actor.key, command_id)

    async def _recorded(
        self, uow: UnitOfWork, actor: Principal, command_id: str
    ) -> dict[str, Any] | None:
        """The recorded result of ``command_id``: read in the failed step's transaction (it
        sees a record still in its commit group), or in a fresh one if that one can no
        longer read (a database error aborted it).
        """
        try:
            return await uow.commands.get(actor.key, command_id)
        except Exception:  # noqa: BLE001 - see the docstring
            async with self._uow(write=False) as fresh:
                return await fresh.commands.get(actor.key, command_id)

    async def _append(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        type_: EventType,
        *,
        author_kind: str,
        author_id: str | None,
        author_name: str | None,
        body: str | None = None,
        data: dict[str, Any] | None = None,
        public_prefix: str | None = None,
    ) -> Event:
        seq = await uow.conversations.next_seq(conv.id)
        event = Event(
            conversation_id=conv.id,
            seq=seq,
            type=type_,
            author_kind=author_kind,
            author_id=author_id,
            author_name=author_name,
            body=body,
            data=data or {},
            public_id=self._ids(public_prefix) if public_prefix else None,
            created_at=self._clock.now(),
        )
        await uow.events.add(event)
        uow.on_commit(conv_channel(conv.id), {"type": "event", "event": event_to_wire(event)})
        sent = (
            self._digests.sent(event.created_at, body)
            if type_ is EventType.MSG and author_kind == "visitor" and body is not None
            else None
        )
        uow.after_commit(lambda: self._recent.advance(conv.id, seq, sent))
        return event

    async def _state_event(
        self, uow: UnitOfWork, conv: Conversation, data: dict[str, Any]
    ) -> Event:
        """A state change, said by the system (no author)."""
        return await self._append(
            uow,
            conv,
            EventType.STATE,
            author_kind="system",
            author_id=None,
            author_name=None,
            data=data,
        )

    # ---- access checks ----------------------------------------------------------------

    async def _load(self, uow: UnitOfWork, actor: Principal, conversation_id: str) -> Conversation:
        conv = await uow.conversations.get(conversation_id)
        if conv is None or not await self._may_view(uow, actor, conv):
            # The same answer for "absent" and "not yours": ids are not an oracle.
            raise NotFound("no such conversation")
        return conv

    async def _may_view(self, uow: UnitOfWork, actor: Principal, conv: Conversation) -> bool:
        """Visitors see their own chats; supervisors and up see all (by permission); an
        agent sees the queue, chats assigned to them, and former ones only until a set
        time after they closed or moved away (time-bound access).
        """
        if isinstance(actor, VisitorPrincipal):
            return conv.visitor_id == actor.visitor_id and conv.widget_id == actor.widget_id
        if allowed(actor, Perm.CHAT_VIEW_ALL):
            return True
        if not allowed(actor, Perm.CHAT_HANDLE):
            return False
        if conv.state is ConvState.WAITING:
            # The shared queue, narrowed to the agent's departments.
            return await self._in_queue_of(uow, actor, conv)
        has, until = await uow.access.until(conv.id, actor.user_id)
        return has and (until is None or until > self._clock.now())

    async def _in_queue_of(
        self, uow: UnitOfWork, actor: StaffPrincipal, conv: Conversation
    ) -> bool:
        """Whether ``conv`` belongs to a queue ``actor`` takes chats from: any, with
        ``chat.view_all``; else no department, or one of the actor's departments.
        """
        if conv.department_id is None or allowed(actor, Perm.CHAT_VIEW_ALL):
            return True
        return conv.department_id in await uow.departments.of_user(actor.user_id)

    async def may_see_visitor(self, actor: StaffPrincipal, visitor_id: str) -> bool:
        """Whether ``actor`` may act on a visitor by id (invite, ban): see :meth:`_sees_visitor`."""
        async with self._uow(write=False) as uow:
            return await self._sees_visitor(uow, actor, visitor_id)

    async def _sees_visitor(self, uow: UnitOfWork, actor: StaffPrincipal, visitor_id: str) -> bool:
        """The visitor exists and is ``actor``'s to deal with: they may see every chat, or
        the visitor came through a widget of no department or of one of theirs, or one
        of the visitor's chats is theirs to see (one transferred to them, say). Another
        department's visitor is as absent as a made-up id.
        """
        visitor = await uow.visitors.get(visitor_id)
        widget = await uow.widgets.get(visitor.widget_id) if visitor else None
        if visitor is None or widget is None:
            return False
        if widget.department_id is None or allowed(actor, Perm.CHAT_VIEW_ALL):
            return True
        if widget.department_id in await uow.departments.of_user(actor.user_id):
            return True
        for conv in await uow.conversations.list_for_visitor(visitor_id):
            if await self._may_view(uow, actor, conv):
                return True
        return False

    @staticmethod
    def _check_participant(actor: StaffPrincipal, conv: Conversation) -> None:
        if conv.agent_id != actor.user_id and not allowed(actor, Perm.CHAT_MANAGE_ALL):
            raise Forbidden("this conversation is assigned to someone else")

    def check_may_post(self, actor: Principal, conv: Conversation) -> None:
        """What posting to a conversation the actor may see requires: it is open, and a
        staff member has accepted it and holds it (or may manage all chats).
        """
        if conv.state is ConvState.CLOSED:
            raise InvalidState("the conversation is closed")
        if isinstance(actor, StaffPrincipal):
            if conv.state is ConvState.WAITING:
                raise InvalidState("accept the conversation before replying")
            self._check_participant(actor, conv)

    # ---- for other services (files) ---------------------------------------------------

    async def load_visible(
        self, uow: UnitOfWork, actor: Principal, conversation_id: str
    ) -> Conversation:
        """The conversation if ``actor`` may see it — the one visibility rule, shared by
        every route to a conversation's content — else :class:`NotFound`.
        """
        return await self._load(uow, actor, conversation_id)

    async def append_event(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        type_: EventType,
        *,
        author_kind: str,
        author_id: str | None,
        author_name: str | None,
        data: dict[str, Any],
    ) -> Event:
        """Add an event with the conversation's next seq; published after commit."""
        return await self._append(
            uow,
            conv,
            type_,
            author_kind=author_kind,
            author_id=author_id,
            author_name=author_name,
            data=data,
        )

    # ---- visitor side -----------------------------------------------------------------

    async def start_chat(
        self,
        actor: VisitorPrincipal,
        command_id: str | None,
        *,
        fields: dict[str, str],
        consent_accepted: bool,
        consent_version: str | None,
        first_message: str | None,
    ) -> dict[str, Any]:
        body = check_body(first_message, self._limits) if first_message else None
        if consent_version is not None:
            check_consent_version(consent_version)

        async def step(uow: UnitOfWork) -> dict[str, Any]:
            widget = await uow.widgets.get(actor.widget_id)
            visitor = await uow.visitors.get(actor.visitor_id)
            if widget is None or visitor is None:
                raise NotFound("no such widget")
            consent_cfg = widget.config.get("consent", {})
            if consent_cfg.get("required"):
                if not consent_accepted:
                    raise ConsentRequired("please accept the privacy notice to start a chat")
                # A chat records which notice was accepted: one the widget no longer shows
                # (changed while the page was open) is not consent to the current one.
                if consent_version != consent_cfg.get("version"):
                    raise ConsentRequired(
                        "the privacy notice has changed: please read and accept it again"
                    )
            cleaned = check_prechat_fields(fields, widget.config)
            for conv in await uow.conversations.list_for_visitor(actor.visitor_id):
                if conv.state in OPEN_STATES:
                    return await self._open_result(uow, conv)
            if cleaned:
                visitor = Visitor(
                    id=visitor.id,
                    widget_id=visitor.widget_id,
                    name=cleaned.get("name") or visitor.name,
                    email=cleaned.get("email") or visitor.email,
                    created_at=visitor.created_at,
                    fields={**visitor.fields, **cleaned},
                )
                await uow.visitors.update(visitor)
            now = self._clock.now()
            conv = Conversation(
                id=self._ids("c"),
                widget_id=widget.id,
                visitor_id=visitor.id,
                state=ConvState.WAITING,
                agent_id=None,
                last_seq=0,
                created_at=now,
                consent_version=consent_version if consent_accepted else None,
                department_id=widget.department_id,
            )
            await uow.conversations.add(conv)
            visitor_info = {
                "id": visitor.id,
                "name": visitor.name,
                "email": visitor.email,
                "verified": visitor.verified,
            }
            event = await self._state_event(
                uow,
                conv,
                {"state": ConvState.WAITING.value, "visitor": visitor_info},
            )
            seq = event.seq
            extra: dict[str, Any] = {}
            if body is not None:
                stored, changed = await self._redact(uow, widget.id, body)
                extra = redaction_ack({}, stored, changed)
                msg = await self._append(
                    uow,
                    conv,
                    EventType.MSG,
                    author_kind="visitor",
                    author_id=visitor.id,
                    author_name=visitor.name,
                    body=stored,
                    public_prefix="m",
                )
                seq = msg.seq
            notice = {"type": "notice", "conversation": conv.id, "state": "waiting"}
            uow.on_commit(STAFF_CHANNEL, notice)
            uow.on_commit(visitor_channel(visitor.id), notice)
            queue = await self._queue_info(uow, conv)
            return {
                "conversation": conv.id,
                "state": ConvState.WAITING.value,
                "seq": seq,
                "queue": queue,
                **extra,
            }

        return await self._run(actor, command_id, step)

    async def _open_result(self, uow: UnitOfWork, conv: Conversation) -> dict[str, Any]:
        result: dict[str, Any] = {
            "conversation": conv.id,
            "state": conv.state.value,
            "seq": conv.last_seq,
        }
        if conv.state is ConvState.WAITING:
            result["queue"] = await self._queue_info(uow, conv)
        return result

    async def _queue_info(self, uow: UnitOfWork, conv: Conversation) -> dict[str, int]:
        position = await uow.conversations.waiting_ahead(conv) + 1
        waits = await uow.conversations.recent_wait_seconds(20)
        per_chat = statistics.median(waits) if waits else DEFAULT_WAIT_S
        return {"position": position, "eta_s": max(5, round(per_chat * position))}

    async def announce_queue(self) -> None:
        """Tell every waiting visitor their new position and ETA (the queue moved).

        A signal, not a record: if it is lost, the next move corrects it.
        """
        async with self._uow(write=False) as uow:
            waiting = await uow.conversations.list_by_state(ConvState.WAITING, 200)
            waits = await uow.conversations.recent_wait_seconds(20)
        per_chat = statistics.median(waits) if waits else DEFAULT_WAIT_S
        for i, conv in enumerate(waiting):
            await self._bus.publish(
                conv_channel(conv.id),
                {
                    "type": "queue",
                    "conversation": conv.id,
                    "position": i + 1,
                    "eta_s": max(5, round(per_chat * (i + 1))),
                },
            )

    async def invite(self, actor: StaffPrincipal, visitor_id: str, body: str) -> dict[str, Any]:
        """A proactive invitation to a visitor browsing the site (nothing is stored until
        the visitor answers, which starts a chat as usual).
        """
        if not allowed(actor, Perm.CHAT_HANDLE):
            raise Forbidden("your role cannot invite visitors")
        text = check_body(body, ChatLimits(message_max_chars=500))
        async with self._uow(write=False) as uow:
            if not await self._sees_visitor(uow, actor, visitor_id):
                raise NotFound("no such visitor")
            # The widget shows an invitation only to a visitor who is not chatting: say
            # so rather than report an invitation nobody will see.
            if any(
                c.state is not ConvState.CLOSED
                for c in await uow.conversations.list_for_visitor(visitor_id)
            ):
                raise InvalidState("this visitor is already in a chat")
        await self._bus.publish(
            visitor_channel(visitor_id),
            {"type": "invite", "agent": {"name": actor.name}, "message": text},
        )
        return {"visitor": visitor_id}

    async def typing(self, actor: Principal, conversation_id: str, on: bool) -> None:
        """Relay a typing indicator to the other side; nothing is stored."""
        async with self._uow(write=False) as uow:
            conv = await self._load(uow, actor, conversation_id)
            if isinstance(actor, VisitorPrincipal):
                visitor = await uow.visitors.get(actor.visitor_id)
                author = {"kind": "visitor", "name": visitor.name if visitor else None}
            else:
                author = {"kind": "agent", "name": actor.name}
        if conv.state is ConvState.CLOSED:
            return
        if isinstance(actor, StaffPrincipal) and conv.agent_id != actor.user_id:
            return
        await self._bus.publish(
            conv_channel(conv.id),
            {
                "type": "typing",
                "conversation": conv.id,
                "author": author,
                "on": on,
                "sender": actor.key,
            },
        )

    async def send_message(
        self, actor: Principal, command_id: str | None, conversation_id: str, body: str
    ) -> dict[str, Any]:
        text = check_body(body, self._limits)

        async def step(uow: UnitOfWork) -> dict[str, Any]:
            conv = await self._load(uow, actor, conversation_id)
            self.check_may_post(actor, conv)
            name: str | None
            if isinstance(actor, StaffPrincipal):
                kind, author_id, name = "agent", actor.user_id, actor.name
            else:
                kind, author_id = "visitor", actor.visitor_id
                name = await uow.visitors.name(actor.visitor_id)
            stored, changed = await self._redact(uow, conv.widget_id, text)
            if isinstance(actor, VisitorPrincipal):
                # Compared with stored (redacted) bodies, so compare the redacted form.
                await self._check_spam(uow, conv, actor, stored)
            event = await self._append(
                uow,
                conv,
                EventType.MSG,
                author_kind=kind,
                author_id=author_id,
                author_name=name,
                body=stored,
                public_prefix="m",
            )
            return redaction_ack({"message": event.public_id, "seq": event.seq}, stored, changed)

        return await self._run(actor, command_id, step)

    async def _check_spam(
        self, uow: UnitOfWork, conv: Conversation, actor: VisitorPrincipal, text: str
    ) -> None:
        spam = self._limits.spam
        since = self._clock.now() - timedelta(seconds=spam.window_s)
        recent = self._recent.get(conv.id, conv.last_seq)
        if recent is None:
            rows = await uow.events.recent_bodies(conv.id, actor.visitor_id, since, spam.history)
            recent = [self._digests.sent(at, body) for at, body in reversed(rows)]
            seen, at_seq = recent, conv.last_seq
            # Kept only once this transaction commits: what it read is then committed too.
            uow.after_commit(lambda: self._recent.fill(conv.id, at_seq, seen))
        check_not_spam(text, recent, spam, self._digests, since)

    async def end_by_visitor(
        self, actor: VisitorPrincipal, command_id: str | None, conversation_id: str
    ) -> dict[str, Any]:
        async def step(uow: UnitOfWork) -> dict[str, Any]:
            conv = await self._load(uow, actor, conversation_id)
            return await self._do_close(uow, conv, reason="visitor")

        result = await self._run(actor, command_id, step)
        await self.announce_queue()
        return result

    async def rate(
        self,
        actor: VisitorPrincipal,
        command_id: str | None,
        conversation_id: str,
        score: str,
        comment: str | None,
    ) -> dict[str, Any]:
        if score not in RATING_SCORES:
            raise InvalidInput("score must be 'good' or 'bad'", field="score")
        if comment is not None:
            comment = check_body(comment, ChatLimits(message_max_chars=1000))

        async def step(uow: UnitOfWork) -> dict[str, Any]:
            conv = await self._load(uow, actor, conversation_id)
            if conv.state is ConvState.WAITING:
                raise InvalidState("a waiting conversation cannot be rated")
            stored = comment
            if comment is not None:
                stored, _ = await self._redact(uow, conv.widget_id, comment)
            await uow.conversations.set_rating(conv.id, score, stored)
            event = await self._append(
                uow,
                conv,
                EventType.RATING,
                author_kind="visitor",
                author_id=actor.visitor_id,
                author_name=None,
                data={"score": score, "comment": stored},
            )
            _notify_staff(uow, conv.id, conv.state.value, conv.agent_id)
            return {"seq": event.seq}

        return await self._run(actor, command_id, step)

    # ---- agent side -------------------------------------------------------------------

    async def accept(
        self, actor: StaffPrincipal, command_id: str | None, conversation_id: str
    ) -> dict[str, Any]:
        if not allowed(actor, Perm.CHAT_HANDLE):
            raise Forbidden("your role cannot take chats")

        async def step(uow: UnitOfWork) -> dict[str, Any]:
            conv = await uow.conversations.get(conversation_id)
            if conv is None or not await self._in_queue_of(uow, actor, conv):
                # Another department's chat is as absent as a made-up id.
                raise NotFound("no such conversation")
            if conv.state is not ConvState.WAITING:
                # It was in the shared queue a moment ago; say it was taken, show nothing.
                raise InvalidState("the conversation is no longer waiting")
            await self._check_capacity(uow, actor.user_id)
            now = self._clock.now()
            # Compare-and-set: of two agents (or nodes) accepting at once, one wins.
            won = await uow.conversations.transition(
                conv.id,
                from_states=(ConvState.WAITING,),
                to_state=ConvState.ACTIVE,
                agent_id=actor.user_id,
                at=now,
            )
            if not won:
                raise InvalidState("the conversation is no longer waiting")
            await uow.access.grant(conv.id, actor.user_id, None)
            event = await self._state_event(
                uow,
                conv,
                {
                    "state": ConvState.ACTIVE.value,
                    "agent_id": actor.user_id,
                    "agent_name": actor.name,
                },
            )
            _notify_staff(uow, conv.id, "active", actor.user_id)
            return {"conversation": conv.id, "state": ConvState.ACTIVE.value, "seq": event.seq}

        result = await self._run(actor, command_id, step)
        await self.announce_queue()
        return result

    async def _check_capacity(self, uow: UnitOfWork, agent_id: str) -> None:
        """Refuse a chat to an agent at capacity; race-free across nodes.

        The agent's row lock is taken before counting, so concurrent assignments to one
        agent (on any node) are counted one after the other. Every path that gives an
        agent a chat takes this lock first, then the conversation's (one lock order).
        """
        agent = await uow.users.lock_for_assignment(agent_id)
        if agent is None:
            raise NotFound("no such agent", field="agent")
        limit = agent.max_chats or self._limits.agent_max_chats
        if await uow.conversations.count_active_for_agent(agent_id) >= limit:
            raise AtCapacity(f"at most {limit} active chats at once; close one first")

    async def send_note(
        self, actor: StaffPrincipal, command_id: str | None, conversation_id: str, body: str
    ) -> dict[str, Any]:
        text = check_body(body, self._limits)

        async def step(uow: UnitOfWork) -> dict[str, Any]:
            conv = await self._load(uow, actor, conversation_id)
            stored, changed = await self._redact(uow, conv.widget_id, text)
            event = await self._append(
                uow,
                conv,
                EventType.NOTE,
                author_kind="agent",
                author_id=actor.user_id,
                author_name=actor.name,
                body=stored,
                public_prefix="n",
            )
            return redaction_ack({"note": event.public_id, "seq": event.seq}, stored, changed)

        return await self._run(actor, command_id, step)

    async def transfer(
        self, actor: StaffPrincipal, command_id: str | None, conversation_id: str, to_agent: str
    ) -> dict[str, Any]:
        async def step(uow: UnitOfWork) -> dict[str, Any]:
            conv = await self._load(uow, actor, conversation_id)
            if conv.state is not ConvState.ACTIVE:
                raise InvalidState("only an active conversation can be transferred")
            self._check_participant(actor, conv)
            target = await uow.users.get(to_agent)
            target_perms = await resolve_permissions(uow, target.role) if target else frozenset()
            if target is None or target.disabled or Perm.CHAT_HANDLE not in target_perms:
                raise NotFound("no such agent", field="agent")
            if target.id != conv.agent_id:
                await self._check_capacity(uow, target.id)
            await uow.conversations.set_agent(conv.id, target.id)
            await uow.access.end_open(conv.id, self._clock.now() + self._access_window)
            await uow.access.grant(conv.id, target.id, None)
            event = await self._state_event(
                uow,
                conv,
                {
                    "state": ConvState.ACTIVE.value,
                    "agent_id": target.id,
                    "agent_name": target.name,
                    "transferred_by": actor.user_id,
                },
            )
            _notify_staff(uow, conv.id, "active", target.id)
            return {"seq": event.seq}

        return await self._run(actor, command_id, step)

    async def close(
        self, actor: StaffPrincipal, command_id: str | None, conversation_id: str
    ) -> dict[str, Any]:
        async def step(uow: UnitOfWork) -> dict[str, Any]:
            conv = await self._load(uow, actor, conversation_id)
            if conv.state is ConvState.ACTIVE:
                self._check_participant(actor, conv)
            elif conv.state is ConvState.WAITING and not allowed(actor, Perm.CHAT_MANAGE_ALL):
                raise Forbidden("accept the conversation before closing it")
            return await self._do_close(uow, conv, reason="agent")

        result = await self._run(actor, command_id, step)
        await self.announce_queue()
        return result

    async def close_idle(self, idle_for: timedelta, limit: int = 500) -> dict[str, int]:
        """Close open conversations in which nothing has been said for ``idle_for`` (a
        periodic job: the system acts, no principal). Each is re-checked inside its own
        transaction, so a message that arrived meanwhile keeps the chat open.
        """
        before = self._clock.now() - idle_for
        async with self._uow(write=False) as uow:
            activity = await uow.conversations.last_activity(limit=limit)
        closed = 0
        for conversation_id, last in activity.items():
            if last >= before:
                continue

            async def step(uow: UnitOfWork, cid: str = conversation_id) -> dict[str, Any]:
                current = await uow.conversations.last_activity([cid])
                conv = await uow.conversations.get(cid)
                if conv is None or cid not in current or current[cid] >= before:
                    return {}
                return await self._do_close(uow, conv, reason="idle")

            async with self._uow() as uow:
                if await step(uow):
                    await uow.commit()
                    closed += 1
        if closed:
            await self.announce_queue()
        return {"closed": closed}

    async def close_for_visitor(self, visitor_id: str, *, reason: str) -> dict[str, int]:
        """Close a visitor's open chats (the system acts: the visitor was banned), each in
        its own transaction; agents see them closed and the queue moves on.
        """
        async with self._uow(write=False) as uow:
            convs = await uow.conversations.list_for_visitor(visitor_id)
        closed = 0
        for conv in convs:
            if conv.state not in OPEN_STATES:
                continue
            async with self._uow() as uow:
                current = await uow.conversations.get(conv.id)
                if current is None or current.state not in OPEN_STATES:
                    continue
                try:
                    await self._do_close(uow, current, reason=reason)
                except InvalidState:  # closed meanwhile by someone else
                    continue
                await uow.commit()
                closed += 1
        if closed:
            await self.announce_queue()
        return {"closed": closed}

    async def release_unheld(
        self, agent_ids: Sequence[str] | None = None, limit: int = 500
    ) -> dict[str, int]:
        """Put back in the queue the active chats of agents who can no longer hold them
        (a locked account, a role without ``chat.handle``), so no visitor is left talking
        to nobody: the chat keeps its history and the next agent takes it from the queue.

        Called right after such a change with the agents concerned, and by a periodic job
        for everyone (a node that stopped between the change and this). Each chat moves in
        its own transaction and is re-checked there.
        """
        async with self._uow(write=False) as uow:
            if agent_ids is None:
                active = await uow.conversations.list_by_state(ConvState.ACTIVE, limit)
            else:
                active = [
                    conv
                    for agent_id in dict.fromkeys(agent_ids)
                    for conv in await uow.conversations.list_for_staff(agent_id, all_active=False)
                    if conv.state is ConvState.ACTIVE and conv.agent_id == agent_id
                ]
        moved = 0
        for conv in active:
            async with self._uow() as uow:
                if await self._requeue(uow, conv.id):
                    await uow.commit()
                    moved += 1
        if moved:
            await self.announce_queue()
        return {"requeued": moved}

    async def _requeue(self, uow: UnitOfWork, conversation_id: str) -> bool:
        conv = await uow.conversations.get(conversation_id)
        if conv is None or conv.state is not ConvState.ACTIVE or conv.agent_id is None:
            return False
        agent = await uow.users.get(conv.agent_id)
        if (
            agent is not None
            and not agent.disabled
            and Perm.CHAT_HANDLE in await resolve_permissions(uow, agent.role)
        ):
            return False
        now = self._clock.now()
        # Only from this agent: a transfer that won meanwhile keeps the chat.
        won = await uow.conversations.transition(
            conv.id,
            from_states=(ConvState.ACTIVE,),
            to_state=ConvState.WAITING,
            agent_id=None,
            at=now,
            held_by=conv.agent_id,
        )
        if not won:
            return False
        await uow.access.end_open(conv.id, now + self._access_window)
        await self._state_event(
            uow,
            conv,
            {
                "state": ConvState.WAITING.value,
                "requeued": True,
                "agent_id": None,
                "previous_agent_id": conv.agent_id,
                "previous_agent_name": agent.name if agent else None,
            },
        )
        _notify_staff(uow, conv.id, ConvState.WAITING.value, None)
        return True

    @staticmethod
    async def _agent_name(uow: UnitOfWork, agent_id: str | None) -> str | None:
        user = await uow.users.get(agent_id) if agent_id else None
        return user.name if user else None

    async def _do_close(
        self, uow: UnitOfWork, conv: Conversation, *, reason: str
    ) -> dict[str, Any]:
        if conv.state is ConvState.CLOSED:
            raise InvalidState("the conversation is already closed")
        now = self._clock.now()
        won = await uow.conversations.transition(
            conv.id,
            from_states=OPEN_STATES,
            to_state=ConvState.CLOSED,
            agent_id=conv.agent_id,
            at=now,
        )
        if not won:
            raise InvalidState("the conversation is already closed")
        await uow.access.end_open(conv.id, now + self._access_window)
        event = await self._state_event(
            uow,
            conv,
            {
                "state": ConvState.CLOSED.value,
                "closed_by": reason,
                "agent_id": conv.agent_id,
                "agent_name": await self._agent_name(uow, conv.agent_id),
            },
        )
        _notify_staff(uow, conv.id, "closed", conv.agent_id)
        return {"conversation": conv.id, "state": ConvState.CLOSED.value, "seq": event.seq}

    # ---- reading ----------------------------------------------------------------------

    async def events_after(
        self,
        actor: Principal,
        conversation_id: str,
        after: int,
        limit: int | None = None,
        *,
        audit_read: bool = False,
    ) -> tuple[list[dict[str, Any]], int]:
        """Frames after ``after`` that ``actor`` may see, and the seq read up to.

        With ``audit_read``, a staff member reading a conversation that is not theirs
        (a supervisor's read by permission) leaves an audit entry.
        """
        if after < 0:
            raise InvalidInput("after must be 0 or more", field="after")
        limit = min(limit or self._limits.catch_up_page, self._limits.catch_up_page)
        if limit < 1:
            raise InvalidInput("limit must be 1 or more", field="limit")
        async with self._uow(write=False) as uow:
            conv = await self._load(uow, actor, conversation_id)
            events = await uow.events.after(conv.id, after, limit)
            supervising = (
                audit_read
                and isinstance(actor, StaffPrincipal)
                and conv.agent_id != actor.user_id
                and conv.state is not ConvState.WAITING
            )
        if supervising:
            assert isinstance(actor, StaffPrincipal)
            async with self._uow() as uow:
                await uow.audit.add(
                    audit_entry(
                        self._clock.now(), "conversation.read", actor=actor.user_id, target=conv.id
                    )
                )
                await uow.commit()
        staff = isinstance(actor, StaffPrincipal)
        frames = [f for e in events if (f := render_event(e, staff=staff)) is not None]
        read_to = events[-1].seq if events else after
        return frames, read_to

    async def request_access(
        self, actor: StaffPrincipal, conversation_id: str, reason: str
    ) -> dict[str, Any]:
        """Reopen an old conversation outside one's current assignment, with a reason
        that is audited. Former agents get a short grant; those who may read everything
        by permission get their read on record.
        """
        reason = reason.strip()
        if not 10 <= len(reason) <= 500:
            raise InvalidInput("state the reason in 10 to 500 characters", field="reason")
        now = self._clock.now()
        async with self._uow() as uow:
            conv = await uow.conversations.get(conversation_id)
            if conv is None:
                raise NotFound("no such conversation")
            until = None
            if not allowed(actor, Perm.CHAT_VIEW_ALL):
                had, _ = await uow.access.until(conv.id, actor.user_id)
                if not had or not allowed(actor, Perm.CHAT_HANDLE):
                    raise NotFound("no such conversation")
                until = now + timedelta(seconds=self._limits.reopen_grant_s)
                await uow.access.grant(conv.id, actor.user_id, until)
            await uow.audit.add(
                audit_entry(
                    now,
                    "conversation.access_reason",
                    actor=actor.user_id,
                    target=conv.id,
                    reason=reason,
                )
            )
            await uow.commit()
        return {"conversation": conv.id, "until": until.isoformat() if until else None}

    async def get_conversation(self, actor: Principal, conversation_id: str) -> Conversation:
        async with self._uow(write=False) as uow:
            return await self._load(uow, actor, conversation_id)

    async def summaries_for_visitor(self, actor: VisitorPrincipal) -> list[dict[str, Any]]:
        async with self._uow(write=False) as uow:
            convs = await uow.conversations.list_for_visitor(actor.visitor_id)
            return [await self._summary(uow, c, staff=False) for c in convs]

    async def summaries_for_staff(
        self, actor: StaffPrincipal, state: ConvState | None = None
    ) -> list[dict[str, Any]]:
        if not allowed(actor, Perm.CHAT_HANDLE):
            raise Forbidden("your role cannot see conversations")
        async with self._uow(write=False) as uow:
            if state is ConvState.CLOSED:
                convs = await uow.conversations.list_by_state(ConvState.CLOSED, 200)
            else:
                convs = await uow.conversations.list_for_staff(
                    actor.user_id, all_active=allowed(actor, Perm.CHAT_VIEW_ALL)
                )
                if state is not None:
                    convs = [c for c in convs if c.state is state]
            convs = [c for c in convs if await self._may_view(uow, actor, c)]
            return [await self._summary(uow, c, staff=True) for c in convs]

    async def _summary(self, uow: UnitOfWork, conv: Conversation, *, staff: bool) -> dict[str, Any]:
        agent: dict[str, Any] | None = None
        if conv.agent_id:
            user = await uow.users.get(conv.agent_id)
            agent = {"name": user.name if user else None}
            if staff:
                agent["id"] = conv.agent_id
        summary: dict[str, Any] = {
            "id": conv.id,
            "state": conv.state.value,
            "last_seq": conv.last_seq,
            "created_at": iso(conv.created_at),
            "agent": agent,
        }
        if staff:
            visitor = await uow.visitors.get(conv.visitor_id)
            summary["visitor"] = {
                "id": conv.visitor_id,
                "name": visitor.name if visitor else None,
                "email": visitor.email if visitor else None,
                "verified": bool(visitor and visitor.verified),
            }
            last = await uow.events.last_message(conv.id)
            summary["preview"] = (last.body or "")[:PREVIEW_CHARS] if last else None
            page = await uow.visitors.last_page(conv.visitor_id)
            summary["page"] = (
                {"url": page[0], "title": page[1], "ts": iso(page[2])} if page else None
            )
        return summary


def _notify_staff(uow: UnitOfWork, conversation_id: str, state: str, agent_id: str | None) -> None:
    """Tell staff sockets on every node that a conversation's state or owner changed;
    each socket then reads what it may see from the database.
    """
    uow.on_commit(
        STAFF_CHANNEL,
        {"type": "notice", "conversation": conversation_id, "state": state, "agent_id": agent_id},
    )


def staff_may_watch(actor: StaffPrincipal, state: str, agent_id: str | None) -> bool:
    """Whether a staff socket should follow a conversation in this state.

    Agents keep following their own closed chats (a rating may still arrive); others'
    chats leave their view once taken.
    """
    if agent_id is not None and agent_id == actor.user_id:
        return True
    if allowed(actor, Perm.CHAT_VIEW_ALL):
        return state != ConvState.CLOSED.value
    return state == ConvState.WAITING.value

"""Widgets: the public configuration a website embeds, and which sites may embed it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal
from urllib.parse import urlsplit

from bastion.domain.auth import audit_entry
from bastion.domain.errors import Forbidden, InvalidInput, NotFound
from bastion.domain.events import WIDGETS_CHANNEL, widget_notice
from bastion.domain.ids import IdFactory, new_id
from bastion.domain.models import AuditEntry, Widget
from bastion.domain.permissions import Perm, allowed
from bastion.domain.ports import Clock, UnitOfWorkFactory
from bastion.domain.principals import StaffPrincipal
from bastion.domain.widget_settings import SETTING_KEYS, check_settings
from bastion.security.redaction import InvalidRule, check_rules

# A new widget's settings. The texts are None, "not set": the widget shows its own
# default for each in the language it speaks to the visitor (web/shared/i18n.ts,
# ``widgetTables``: greeting, fieldName, fieldEmail, consentText), so a Lithuanian visitor
# of an untouched widget reads Lithuanian throughout. Migration 0014 turned the English
# defaults that earlier versions stored into None.
DEFAULT_CONFIG: dict[str, Any] = {
    "color": "#2f6fed",
    "greeting": None,
    "language": "auto",
    "prechat_fields": [
        {"name": "name", "label": None, "type": "text", "required": False},
        {"name": "email", "label": None, "type": "email", "required": False},
    ],
    "consent": {
        "required": True,
        # Recorded with each chat's consent: with the text not set, it names the
        # widget's default notice (in whichever language the visitor read it).
        "version": "2026-01",
        "text": None,
        "privacy_url": "/privacy",
    },
}

# Identity verification (secrets never leave the server: not in PUBLIC_KEYS).
DEFAULT_IDENTITY: dict[str, Any] = {
    "mode": "optional",  # "optional": verified when the site vouches; "strict": required
    "hmac_keys": [],  # [{"id", "secret", "created_at", "not_after"?}]
    "jwt_keys": [],  # [{"id", "alg", "key", "not_after"?}]
    "max_age_s": 300,  # an HMAC statement is good for five minutes after its issue time
    "max_jwt_lifetime_s": 3600,  # refuse JWTs whose exp is further ahead than this
}

PUBLIC_KEYS = ("color", "greeting", "language", "prechat_fields", "consent")


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased; None for anything else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]" if port in (None, default) else f"[{host}]:{port}"
    return f"{parts.scheme}://{netloc}"


NOT_AN_ORIGIN = (
    "not an origin: write scheme://host[:port] without a path, e.g. https://shop.example "
    "or https://*.shop.example"
)
# What browsers send as an Origin: an ASCII host name (an IDN in its xn-- form) or an IP
# address. Entries go into the widget frame's CSP header, where a space, a ";" or a NUL
# would add directives or break the header (every visitor's frame then failed).
_ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9-]+(\.[a-z0-9-]+)*)(:[0-9]{1,5})?")


def check_allowed_origin(pattern: str) -> str:
    """An allowed-domain entry: an origin, optionally with ``*.`` for subdomains."""
    raw = pattern.strip().rstrip("/")
    wildcard = "://*." in raw
    probe = raw.replace("://*.", "://", 1) if wildcard else raw
    origin = origin_of(probe)
    if origin is None or origin != probe.lower() or not _ORIGIN.fullmatch(origin):
        # Not echoed (caller input): the message shows the form instead.
        raise InvalidInput(NOT_AN_ORIGIN, field="allowed_origins")
    return origin.replace("://", "://*.", 1) if wildcard else origin


def check_allowed_origins(patterns: Sequence[str]) -> tuple[str, ...]:
    """Allowed-domain entries, checked and de-duplicated; a bad one is named by position."""
    cleaned: list[str] = []
    for i, pattern in enumerate(patterns):
        try:
            cleaned.append(check_allowed_origin(pattern))
        except InvalidInput:
            raise InvalidInput(
                f"allowed site {i + 1} is {NOT_AN_ORIGIN}", field="allowed_origins"
            ) from None
    return tuple(dict.fromkeys(cleaned))


def frame_ancestors(widget: Widget) -> list[str]:
    """The widget's allowed sites that may go into its frame's CSP ``frame-ancestors``:
    those that pass today's check. An entry saved before the check was strict (a space or
    a ";" in it) is left out rather than written into a header, where it would add a
    directive or break the header; the admin sees it in the list and fixes it there.
    """
    kept = []
    for entry in widget.allowed_origins:
        try:
            if check_allowed_origin(entry) == entry:
                kept.append(entry)
        except InvalidInput:
            continue
    return kept


def origin_allowed(widget: Widget, origin: str | None) -> bool:
    if origin is None:
        return False
    for entry in widget.allowed_origins:
        if entry == origin:
            return True
        if "://*." in entry:
            scheme, rest = entry.split("://*.", 1)
            o_scheme, o_rest = origin.split("://", 1)
            if scheme == o_scheme and o_rest.endswith("." + rest):
                return True
    return False


def public_config(widget: Widget, *, online: bool) -> dict[str, Any]:
    cfg = {k: widget.config.get(k, DEFAULT_CONFIG[k]) for k in PUBLIC_KEYS}
    return {"id": widget.id, "name": widget.name, **cfg, "online": online}


def embed_snippet(base_url: str, widget_id: str) -> str:
    """The one-line embed code for a widget served from ``base_url``."""
    return f'<script async src="{base_url}/widget.js" data-bastion-widget="{widget_id}"></script>'


def admin_config(widget: Widget) -> dict[str, Any]:
    """Everything an admin may see and change, by name: never the identity keys."""
    identity = {**DEFAULT_IDENTITY, **widget.config.get("identity", {})}
    return {
        "id": widget.id,
        "name": widget.name,
        "allowed_origins": list(widget.allowed_origins),
        **{k: widget.config.get(k, DEFAULT_CONFIG[k]) for k in SETTING_KEYS},
        "redaction_patterns": list(widget.config.get("redaction_patterns") or []),
        "identity": {"mode": identity["mode"]},
        "department_id": widget.department_id,
    }


def check_identity_mode(mode: Any) -> str:
    if mode not in ("optional", "strict"):
        raise InvalidInput("mode must be optional or strict", field="mode")
    return str(mode)


def check_redaction_patterns(patterns: Any) -> list[Any]:
    try:
        return check_rules(patterns)
    except InvalidRule as err:
        raise InvalidInput(str(err), field="redaction_patterns") from None


class _Keep(Enum):
    KEEP = "keep"


# A WidgetChange part that stays as it is where None means something ("no department").
KEEP: Literal[_Keep.KEEP] = _Keep.KEEP


@dataclass(frozen=True)
class WidgetChange:
    """One update of a widget; a part left None stays as it is (``[]`` empties a list),
    except the department, where None means none and :data:`KEEP` leaves it.
    """

    allowed_origins: Sequence[str] | None = None
    # Any of widget_settings.SETTING_KEYS: colour, greeting, language, pre-chat, consent.
    settings: Mapping[str, Any] | None = None
    redaction_patterns: Sequence[Any] | None = None
    identity_mode: str | None = None
    # Where new chats from the widget queue: a department's id, or None (every agent).
    department_id: str | Literal[_Keep.KEEP] | None = KEEP


class WidgetService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdFactory = new_id) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def get(self, widget_id: str) -> Widget:
        async with self._uow(write=False) as uow:
            widget = await uow.widgets.get(widget_id)
        if widget is None:
            raise NotFound("no such widget")
        return widget

    async def list_all(self, actor: StaffPrincipal | None) -> list[Widget]:
        """All widgets; ``actor`` None means the local operator (CLI)."""
        if actor is not None and not allowed(actor, Perm.WIDGETS_MANAGE):
            raise Forbidden("your role cannot manage widgets")
        async with self._uow(write=False) as uow:
            return await uow.widgets.list_all()

    async def create(
        self, actor: StaffPrincipal | None, name: str, allowed_origins: list[str]
    ) -> Widget:
        if actor is not None and not allowed(actor, Perm.WIDGETS_MANAGE):
            raise Forbidden("your role cannot manage widgets")
        widget = Widget(
            id=self._ids("w"),
            name=name,
            allowed_origins=tuple(check_allowed_origin(o) for o in allowed_origins),
            config=dict(DEFAULT_CONFIG),
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.widgets.add(widget)
            await uow.commit()
        return widget

    async def set_allowed_origins(
        self, actor: StaffPrincipal | None, widget_id: str, origins: list[str]
    ) -> Widget:
        return await self.update(actor, widget_id, WidgetChange(allowed_origins=origins))

    async def update_settings(
        self, actor: StaffPrincipal | None, widget_id: str, settings: Mapping[str, Any]
    ) -> Widget:
        """Change the widget's look and text (``widget_settings.SETTING_KEYS``)."""
        return await self.update(actor, widget_id, WidgetChange(settings=settings))

    async def update(
        self, actor: StaffPrincipal | None, widget_id: str, change: WidgetChange
    ) -> Widget:
        """Apply ``change`` in one transaction, all or nothing: every part is checked
        before anything is written. Each part that really changes is audited (the
        settings by key, never their text) and caches are told after the commit.
        """
        if actor is not None and not allowed(actor, Perm.WIDGETS_MANAGE):
            raise Forbidden("your role cannot manage widgets")
        origins = (
            None
            if change.allowed_origins is None
            else check_allowed_origins(change.allowed_origins)
        )
        settings = check_settings(change.settings or {})
        patterns = (
            None
            if change.redaction_patterns is None
            else check_redaction_patterns(list(change.redaction_patterns))
        )
        mode = None if change.identity_mode is None else check_identity_mode(change.identity_mode)
        async with self._uow() as uow:
            widget = await uow.widgets.get(widget_id)
            if widget is None:
                raise NotFound("no such widget")
            department = widget.department_id
            if change.department_id is not KEEP:
                # Checked before anything is written, like every other part.
                if change.department_id is not None and (
                    await uow.departments.get(change.department_id) is None
                ):
                    raise NotFound("no such department", field="department_id")
                department = change.department_id
            config = dict(widget.config)
            done: list[tuple[str, dict[str, Any]]] = []
            if origins is not None and origins != widget.allowed_origins:
                done.append(("widget.origins_changed", {}))
            changed = [k for k, v in settings.items() if config.get(k, DEFAULT_CONFIG[k]) != v]
            if changed:
                config.update({k: settings[k] for k in changed})
                done.append(("widget.settings_changed", {"keys": changed}))
            if patterns is not None and patterns != (config.get("redaction_patterns") or []):
                config["redaction_patterns"] = patterns
                done.append(("widget.redaction_patterns", {}))
            identity = {**DEFAULT_IDENTITY, **config.get("identity", {})}
            if mode is not None and mode != identity["mode"]:
                config["identity"] = {**identity, "mode": mode}
                done.append(("widget.identity_mode", {"mode": mode}))
            if department != widget.department_id:
                # As the department's own command records it (DepartmentService).
                done.append(("widget.department_changed", {"department": department}))
            if not done:
                return widget
            updated = replace(
                widget,
                allowed_origins=widget.allowed_origins if origins is None else origins,
                config=config,
                department_id=department,
            )
            await uow.widgets.update(updated)
            for action, details in done:
                await uow.audit.add(self._audit(actor, widget_id, action, details))
            uow.on_commit(WIDGETS_CHANNEL, widget_notice(widget.id))
            await uow.commit()
        return updated

    def _audit(
        self, actor: StaffPrincipal | None, widget_id: str, action: str, details: dict[str, Any]
    ) -> AuditEntry:
        return audit_entry(
            self._clock.now(),
            action,
            actor=actor.user_id if actor else "cli",
            target=widget_id,
            **details,
        )

    async def _update_config(
        self, actor: StaffPrincipal | None, widget_id: str, change: Any
    ) -> Widget:
        if actor is not None and not allowed(actor, Perm.WIDGETS_MANAGE):
            raise Forbidden("your role cannot manage widgets")
        async with self._uow() as uow:
            widget = await uow.widgets.get(widget_id)
            if widget is None:
                raise NotFound("no such widget")
            config = dict(widget.config)
            identity = {**DEFAULT_IDENTITY, **config.get("identity", {})}
            action = change(identity)
            config["identity"] = identity
            updated = replace(widget, config=config)
            await uow.widgets.update(updated)
            uow.on_commit(WIDGETS_CHANNEL, widget_notice(widget.id))
            await uow.audit.add(self._audit(actor, widget_id, action, {}))
            await uow.commit()
        return updated

    async def set_redaction_patterns(
        self, actor: StaffPrincipal | None, widget_id: str, patterns: Any
    ) -> list[Any]:
        """Set what this widget redacts besides card numbers (always redacted).

        ``patterns``: built-in names (``"iban"``) and ``{"name", "regex"}`` objects;
        checked for size and syntax here, run under a time budget on every message.
        """
        # Checked here too, so that a malformed value (not a list) gets the same answer.
        cleaned = check_redaction_patterns(patterns)
        await self.update(actor, widget_id, WidgetChange(redaction_patterns=cleaned))
        return cleaned

    async def set_identity_mode(
        self, actor: StaffPrincipal | None, widget_id: str, mode: str
    ) -> None:
        await self.update(actor, widget_id, WidgetChange(identity_mode=check_identity_mode(mode)))

    async def rotate_hmac_secret(
        self, actor: StaffPrincipal | None, widget_id: str, overlap_s: int
    ) -> str:
        """A new HMAC secret, returned once. Existing secrets stay valid for
        ``overlap_s`` more seconds, so the website can switch without a gap.
        """
        if not 0 <= overlap_s <= 30 * 86400:
            raise InvalidInput("overlap must be between 0 and 30 days", field="overlap_s")
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        not_after = (now + timedelta(seconds=overlap_s)).isoformat()

        def change(identity: dict[str, Any]) -> str:
            kept = [
                {**k, "not_after": min(k.get("not_after") or not_after, not_after)}
                for k in identity["hmac_keys"]
                if not k.get("not_after") or datetime.fromisoformat(k["not_after"]) > now
            ]
            identity["hmac_keys"] = [
                *kept,
                {"id": self._ids("k"), "secret": secret, "created_at": now.isoformat()},
            ]
            return "widget.hmac_secret_rotated"

        await self._update_config(actor, widget_id, change)
        return secret

    async def add_jwt_key(
        self, actor: StaffPrincipal | None, widget_id: str, alg: str, key: str
    ) -> str:
        """Trust JWTs signed with ``key`` (a shared secret for HS256, a PEM public key
        for RS256 and EdDSA). Returns the key id to put in the JWT's ``kid`` header.
        """
        if alg not in ("HS256", "RS256", "EdDSA"):
            raise InvalidInput("alg must be HS256, RS256 or EdDSA", field="alg")
        if alg == "HS256" and len(key) < 32:
            raise InvalidInput("an HS256 secret needs at least 32 characters", field="key")
        if alg != "HS256" and "PUBLIC KEY" not in key:
            raise InvalidInput("give the PEM public key", field="key")
        key_id = self._ids("k")

        def change(identity: dict[str, Any]) -> str:
            identity["jwt_keys"] = [*identity["jwt_keys"], {"id": key_id, "alg": alg, "key": key}]
            return "widget.jwt_key_added"

        await self._update_config(actor, widget_id, change)
        return key_id

    async def ensure_default(self, origins: list[str]) -> Widget | None:
        """On first start, create the default widget allowing the server's own origins."""
        async with self._uow() as uow:
            if await uow.widgets.list_all():
                return None
            widget = Widget(
                id=self._ids("w"),
                name="Support",
                allowed_origins=tuple(dict.fromkeys(check_allowed_origin(o) for o in origins)),
                config=dict(DEFAULT_CONFIG),
                created_at=self._clock.now(),
            )
            await uow.widgets.add(widget)
            await uow.commit()
        return widget

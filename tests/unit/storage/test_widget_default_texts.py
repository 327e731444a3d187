"""Migration 0014 (both engines): the English default texts earlier versions stored in
every widget become null, "not set", so the widget shows its own in the visitor's
language; a text an admin changed stays as written; going back down writes the English
defaults again for the older code. A widget read afterwards is the same as a new one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.domain.models import Widget
from bastion.domain.widgets import DEFAULT_CONFIG, public_config
from bastion.security.envelope import FileKeyStore
from bastion.storage.migrate import migrate
from tests.support.alembic import alembic

# What a widget created before 0014 held, as that code stored it (with an identity secret
# beside the texts, which must come through untouched).
OLD_STORED: dict[str, Any] = {
    "color": "#2f6fed",
    "greeting": "Hi! How can we help?",
    "language": "auto",
    "prechat_fields": [
        {"name": "name", "label": "Name", "type": "text", "required": False},
        {"name": "email", "label": "E-mail", "type": "email", "required": False},
    ],
    "consent": {
        "required": True,
        "version": "2026-01",
        "text": "I agree that this chat and the details I give are stored to answer me.",
        "privacy_url": "/privacy",
    },
    "identity": {"mode": "optional", "hmac_keys": [{"id": "k_1", "secret": "s3cr3t"}]},
}
# An admin's texts: one of them a default with a character changed, one left default.
CUSTOM_STORED: dict[str, Any] = {
    **OLD_STORED,
    "greeting": "Hi! How can we help you?",
    "language": "lt",
    "prechat_fields": [
        {"name": "email", "label": "E-mail", "type": "email", "required": True},
        {"name": "name", "label": "Vardas", "type": "text", "required": False},
    ],
    "consent": {**OLD_STORED["consent"], "text": "Sutinku.", "version": "2026-04"},
}


async def _add_widgets(url: str, configs: dict[str, str]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for widget_id, config in configs.items():
                await conn.execute(
                    text(
                        "INSERT INTO widgets (id, name, allowed_origins, config, created_at)"
                        " VALUES (:id, 'Support', '[]', :config, CURRENT_TIMESTAMP)"
                    ),
                    {"id": widget_id, "config": config},
                )
    finally:
        await engine.dispose()


async def _configs(url: str) -> dict[str, Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT id, config FROM widgets"))
            return {r.id: json.loads(r.config) for r in rows}
    finally:
        await engine.dispose()


def _shown(config: dict[str, Any]) -> dict[str, Any]:
    widget = Widget("w", "Support", (), config, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return public_config(widget, online=True)


async def test_the_old_english_defaults_become_not_set(database_url: str, tmp_path: Path) -> None:
    await alembic(database_url, "upgrade", "0013")
    await _add_widgets(
        database_url,
        {
            "w_old": json.dumps(OLD_STORED),
            "w_custom": json.dumps(CUSTOM_STORED),
            # From before the texts were settings: nothing stored, nothing to change.
            "w_bare": "{}",
        },
    )
    await migrate(database_url, FileKeyStore(tmp_path / "kek.key"))

    after = await _configs(database_url)
    old = after["w_old"]
    assert old["greeting"] is None
    assert [f["label"] for f in old["prechat_fields"]] == [None, None]
    assert old["consent"] == {**OLD_STORED["consent"], "text": None}
    assert old["identity"] == OLD_STORED["identity"]  # the secret beside them kept
    # An untouched old widget now reads exactly as a new one does.
    assert {k: old[k] for k in DEFAULT_CONFIG} == DEFAULT_CONFIG
    shown = _shown(old)
    assert (shown["greeting"], shown["consent"]["text"]) == (None, None)
    assert shown["consent"]["version"] == "2026-01"  # still the one a chat records

    custom = after["w_custom"]
    assert custom["greeting"] == "Hi! How can we help you?"  # not exactly the default
    assert [(f["name"], f["label"]) for f in custom["prechat_fields"]] == [
        ("email", None),
        ("name", "Vardas"),
    ]
    assert custom["consent"] == CUSTOM_STORED["consent"]
    assert after["w_bare"] == {}
    assert _shown(after["w_bare"])["greeting"] is None


async def test_going_back_down_writes_the_english_defaults_again(
    database_url: str, tmp_path: Path
) -> None:
    await alembic(database_url, "upgrade", "0013")
    await _add_widgets(
        database_url, {"w_old": json.dumps(OLD_STORED), "w_custom": json.dumps(CUSTOM_STORED)}
    )
    await migrate(database_url, FileKeyStore(tmp_path / "kek.key"))
    await alembic(database_url, "downgrade", "0013")
    after = await _configs(database_url)
    # The older code needs strings: it gets the texts it used to store.
    assert after["w_old"] == OLD_STORED
    assert after["w_custom"]["prechat_fields"][0]["label"] == "E-mail"
    assert after["w_custom"]["consent"] == CUSTOM_STORED["consent"]

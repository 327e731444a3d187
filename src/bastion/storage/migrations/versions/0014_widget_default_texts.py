"""Widget texts left at their defaults follow the visitor's language.

Revision ID: 0014
Revises: 0013

Earlier versions copied English defaults into every new widget's ``config`` (a JSON
object in a text column): the greeting, the name and e-mail labels and the consent text.
The widget spoke Lithuanian to a Lithuanian visitor around those English sentences. Now
a text that is not set is null, and the widget shows its own default in the visitor's
language; this revision turns exactly the old English defaults into null. A text an admin
changed, even by one character, stays as written.

Why here, once, and not by treating the old strings as "not set" at every read: the
stored config then means one thing, with no English sentence the read path must know
forever; and an admin who afterwards wants exactly that English sentence for every
visitor can set it, and it stays (a read-time rule would translate it regardless). A
restored backup goes through this too (``backup restore`` migrates what it restores).

The JSON is read and written in Python rather than with the engines' JSON functions, so
the same code runs on SQLite and PostgreSQL. The old strings are written out here, not
imported: this revision must keep doing what it did on the day it shipped.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_GREETING = "Hi! How can we help?"
OLD_LABELS = {"name": "Name", "email": "E-mail"}
OLD_CONSENT_TEXT = "I agree that this chat and the details I give are stored to answer me."

widgets = sa.table("widgets", sa.column("id", sa.String), sa.column("config", sa.Text))


def _slots(config: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    """Where each default text sits: (the object holding it, its key, the old default)."""
    if "greeting" in config:
        yield config, "greeting", OLD_GREETING
    for field in config.get("prechat_fields") or []:
        if isinstance(field, dict) and field.get("name") in OLD_LABELS and "label" in field:
            yield field, "label", OLD_LABELS[field["name"]]
    consent = config.get("consent")
    if isinstance(consent, dict) and "text" in consent:
        yield consent, "text", OLD_CONSENT_TEXT


def _unset_defaults(config: dict[str, Any]) -> bool:
    changed = False
    for holder, key, default in _slots(config):
        if holder[key] == default:
            holder[key] = None
            changed = True
    return changed


def _write_defaults(config: dict[str, Any]) -> bool:
    changed = False
    for holder, key, default in _slots(config):
        if holder[key] is None:
            holder[key] = default
            changed = True
    return changed


def _rewrite(change: Callable[[dict[str, Any]], bool]) -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.select(widgets.c.id, widgets.c.config)).all():
        config = json.loads(row.config)
        if isinstance(config, dict) and change(config):
            conn.execute(
                sa.update(widgets).where(widgets.c.id == row.id).values(config=json.dumps(config))
            )


def upgrade() -> None:
    _rewrite(_unset_defaults)


def downgrade() -> None:
    # The older code needs a string for each text: the English default comes back.
    _rewrite(_write_defaults)

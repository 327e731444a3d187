"""REST answers to input no client should send, on both engines: a 4xx with a stable code,
never a 500; and a 500 that does happen is logged by its type only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from bastion.app import create_app
from bastion.domain.models import Role
from bastion.settings import load_settings
from bastion.storage.migrate import migrate
from bastion.transport.context import Services
from tests.support.factories import PASSWORD, FakeClock, RecordingBus
from tests.support.postgres import create_database, drop_database, require_postgres

EMAIL = "ada@example.com"


@pytest.fixture(params=["sqlite", "postgres"])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app over real storage, an owner signed in (cookie and CSRF header set)."""
    env = {
        "BASTION_DATA_DIR": str(tmp_path),
        "BASTION_ARGON2_MEMORY_KIB": "8192",
        "BASTION_ARGON2_TIME_COST": "1",
        "BASTION_JOBS": "0",
    }
    name = None
    if request.param == "postgres":
        await asyncio.to_thread(require_postgres)
        url, name = await asyncio.to_thread(create_database)
        env["BASTION_DATABASE_URL"] = url
    settings = load_settings(env)
    await migrate(settings.resolved_database_url)
    app = create_app(settings, clock=FakeClock(), bus=RecordingBus())
    svc = app.state.services
    assert isinstance(svc, Services)
    await svc.staff.create_user(None, email=EMAIL, password=PASSWORD, role=Role.OWNER)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            r = await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
            assert r.status_code == 200, r.text
            client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            yield client
    finally:
        await svc.db.dispose()
        if name:
            await asyncio.to_thread(drop_database, name)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # Before anyone signs in: PostgreSQL answered the e-mail look-up with an error.
        ("/api/v1/auth/login", {"email": f"ada\x00{EMAIL}", "password": "x"}, "body.email"),
        ("/api/v1/departments", {"name": "Sales\x00"}, "body.name"),
        ("/api/v1/tokens", {"name": "ci\x00", "scopes": ["chat.handle"], "days": 1}, "body.name"),
        ("/api/v1/users/u_1/departments", {"departments": ["d\x00"]}, "body.departments"),
    ],
)
async def test_a_nul_character_is_invalid_input_on_every_engine(
    api: httpx.AsyncClient, path: str, body: dict[str, object], field: str
) -> None:
    """QA: each was a 500 on PostgreSQL (NUL is no text there), with the statement's
    parameters — e-mail addresses, a token's hash — in the server's log."""
    method = "PUT" if path.endswith("/departments") and "users" in path else "POST"
    r = await api.request(method, path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request"
    assert r.json()["field"] == field
    r = await api.get("/api/v1/audit", params={"action": "auth\x00"})
    assert (r.status_code, r.json()["field"]) == (422, "query.action")


async def test_a_csrf_header_of_any_bytes_is_a_wrong_token(api: httpx.AsyncClient) -> None:
    """QA: a non-ASCII X-CSRF-Token was a 500 (compare_digest refuses non-ASCII text)."""
    r = await api.post(
        "/api/v1/departments", json={"name": "Sales"}, headers={"X-CSRF-Token": b"\xe9" * 43}
    )
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")


async def test_an_unexpected_error_is_answered_and_logged_by_type_only(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starlette's last handler re-raised, and the server logged the whole traceback,
    whose text (here an e-mail address) can be personal data."""

    async def broken(*_args: object) -> None:
        raise RuntimeError("duplicate key ona@example.com")

    svc = api._transport.app.state.services  # type: ignore[attr-defined]
    monkeypatch.setattr(svc.departments, "create", broken)
    with capture_logs() as logs:
        r = await api.post("/api/v1/departments", json={"name": "Sales"})
    assert r.status_code == 500
    assert r.json() == {"code": "internal_error", "message": "internal error"}
    assert r.headers["x-content-type-options"] == "nosniff"  # inside the security headers
    assert logs == [
        {"event": "unhandled_error", "error_type": "RuntimeError", "log_level": "error"}
    ]


async def test_a_body_of_any_type_is_capped(api: httpx.AsyncClient) -> None:
    """The cap held only for JSON types; the framework read a ``text/plain`` body whole
    before refusing it (QA: 300 MB held in memory by an anonymous request)."""
    big = b"a" * (65536 + 1)
    for media in ("text/plain", "application/octet-stream", "application/x-www-form-urlencoded"):
        r = await api.post(
            "/api/v1/widgets/w_1/sessions", content=big, headers={"content-type": media}
        )
        assert (r.status_code, r.json()["code"]) == (413, "too_large")
    r = await api.post("/api/v1/widgets/w_1/sessions", content=b"x", headers={"content-type": ""})
    assert r.status_code == 422

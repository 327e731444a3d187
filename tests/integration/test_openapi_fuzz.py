"""schemathesis against ``/api/openapi.json`` of a real server: no 5xx, responses match
the schema, anonymously and as an admin (session cookie + CSRF header).

Example counts are bounded so the module finishes in about a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.support.mail import MailSink
from tests.support.server import AGENT_PASSWORD, Server

ADMIN = "admin@example.com"
HIGH = "100000/minute"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data: Path = tmp_path_factory.mktemp("openapi") / "data"
    data.mkdir()
    limits = ("HTTP", "SESSIONS", "LOGIN", "MESSAGES", "WS_CONNECTS")
    # Mail on (a real aiosmtpd): without it the e-mail routes answer 503 mail_unavailable
    # by design, which the no-5xx check cannot tell from a crash.
    sink = MailSink().start()
    server = Server(
        data_dir=data,
        database_url=None,
        extra_env={f"BASTION_RL_{name}": HIGH for name in limits}
        | {"BASTION_SMTP_URL": sink.url, "BASTION_MAIL_FROM": "bastion@example.com"},
    )
    try:
        server.start()
        server.create_user(ADMIN, "admin", name="Ada")
        yield server
    finally:
        server.stop()
        sink.stop()


@pytest.fixture(scope="module")
def admin_auth(srv: Server) -> dict[str, Any]:
    with httpx.Client(base_url=srv.base) as http:
        r = http.post("/api/v1/auth/login", json={"email": ADMIN, "password": AGENT_PASSWORD})
        assert r.status_code == 200, r.text
        return {"cookies": dict(http.cookies), "headers": {"X-CSRF-Token": r.json()["csrf_token"]}}


CHECKS = [not_a_server_error, response_schema_conformance]
BOUNDED = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def _fuzz(srv: Server, **auth: Any) -> None:
    """Every operation of the live schema, a bounded number of cases each.

    (schemathesis' own pytest loader does not work with this pytest; driving the
    operations' strategies with hypothesis directly is equivalent.)
    """
    api = schemathesis.openapi.from_url(f"{srv.base}/api/openapi.json")
    failures: list[str] = []
    calls = [0]
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        if auth and operation.path == "/api/v1/auth/logout":
            continue  # it would end the admin session every other case uses

        @BOUNDED
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            calls[0] += 1
            kwargs = {k: dict(v) for k, v in auth.items()}
            case.call_and_validate(base_url=srv.base, checks=CHECKS, timeout=10, **kwargs)

        try:
            run()
        except Exception as err:  # collect every operation's failure, then report all
            failures.append(f"{operation.method.upper()} {operation.path}: {err}")
    assert not failures, "\n\n".join(failures)
    assert calls[0] >= 3 * len(operations), "the fuzzer barely ran"


def test_api_conforms_anonymously(srv: Server, admin_auth: dict[str, Any]) -> None:
    # admin_auth is requested only to log in first: the anonymous run's failed logins
    # lock the address (login lockout), after which the admin could not log in.
    del admin_auth
    _fuzz(srv)


def test_api_conforms_as_admin(srv: Server, admin_auth: dict[str, Any]) -> None:
    _fuzz(srv, cookies=admin_auth["cookies"], headers=admin_auth["headers"])

"""The ``bastion`` command. Every failure exits non-zero with a one-line reason."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bastion.domain.errors import DomainError
from bastion.domain.models import Role
from bastion.domain.widgets import WidgetChange
from bastion.logs import configure_logging
from bastion.security.envelope import FileKeyStore, KeyFileError
from bastion.settings import Settings, SettingsError, load_settings
from bastion.storage.backup import BackupError
from bastion.storage.ledger import LedgerError
from bastion.storage.migrate import SchemaTooNew, migrate
from bastion.storage.rotation import RotationError

T = TypeVar("T")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Bastion live chat server.")
user_app = typer.Typer(no_args_is_help=True, help="Staff accounts.")
widget_app = typer.Typer(no_args_is_help=True, help="Chat widgets.")
department_app = typer.Typer(no_args_is_help=True, help="Departments (queue scoping).")
app.add_typer(department_app, name="department")
security_app = typer.Typer(no_args_is_help=True, help="Security policy (operator override).")
app.add_typer(security_app, name="security")
app.add_typer(user_app, name="user")
app.add_typer(widget_app, name="widget")
role_app = typer.Typer(no_args_is_help=True, help="Custom roles (permission sets).")
app.add_typer(role_app, name="role")
gdpr_app = typer.Typer(no_args_is_help=True, help="Visitors' rights: export and erasure.")
app.add_typer(gdpr_app, name="gdpr")
keys_app = typer.Typer(no_args_is_help=True, help="Encryption keys.")
app.add_typer(keys_app, name="keys")
backup_app = typer.Typer(no_args_is_help=True, help="Encrypted backups.")
app.add_typer(backup_app, name="backup")
jobs_app = typer.Typer(no_args_is_help=True, help="Periodic jobs (retention, idle close).")
app.add_typer(jobs_app, name="jobs")
audit_app = typer.Typer(no_args_is_help=True, help="The audit log's hash chain.")
app.add_typer(audit_app, name="audit")


def snippet(base: str, widget_id: str) -> str:
    """The one-line embed code for a widget (the console shows the same)."""
    # Imported here: domain.widgets pulls in the regex engine, slow for every CLI start.
    from bastion.domain.widgets import embed_snippet

    return embed_snippet(base, widget_id)


def fail(reason: str) -> None:
    typer.echo(f"bastion: {reason}", err=True)
    raise typer.Exit(1)


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**overrides)
    except SettingsError as err:
        fail(str(err))
        raise AssertionError from err  # unreachable: fail() exits
    configure_logging(settings.log_level)
    return settings


def _run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]  # an Awaitable from an async def
    except DomainError as err:
        fail(err.message)
    except (SchemaTooNew, KeyFileError, LedgerError, BackupError, RotationError) as err:
        fail(str(err))
    except OSError as err:
        fail(f"cannot reach the database or data directory: {err.strerror or type(err).__name__}")
    raise AssertionError("unreachable")


async def _prepare(settings: Settings) -> None:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The key store lets a revision seal rows it converts (0006: TOTP secrets).
    await migrate(settings.resolved_database_url, FileKeyStore(settings.resolved_kek_file))


async def _backfill(settings: Settings) -> int:
    """Fill look-up hashes of rows from before 0006 (needs the keys beside the KEK)."""
    from bastion.storage.backfill import backfill_email_hmac
    from bastion.storage.db import Database

    db = Database(settings.resolved_database_url)
    try:
        return await backfill_email_hmac(db, FileKeyStore(settings.resolved_kek_file))
    finally:
        await db.dispose()


@app.command("migrate")
def migrate_cmd() -> None:
    """Create or upgrade the database schema."""
    settings = _settings()

    async def go() -> str:
        await _prepare(settings)
        await _backfill(settings)
        from bastion.storage.migrate import head_revision

        return head_revision()

    revision = _run(go)
    typer.echo(f"database at revision {revision}")


async def bootstrap(settings: Settings, *, base_url: str) -> list[str]:
    """First start: an owner account and a default widget. Returns lines to print once."""
    from bastion.services import build_services

    svc = build_services(settings)
    lines: list[str] = []
    try:
        widget = await svc.widgets.ensure_default(sorted(settings.own_origins))
        if widget is not None:
            lines.append(f"Created the default widget {widget.id}.")
        if not await svc.staff.has_users():
            password = secrets.token_urlsafe(15)
            email = "owner@bastion.localhost"
            await svc.staff.create_user(
                None, email=email, password=password, role=Role.OWNER, name="Owner"
            )
            lines += [
                "Created the owner account (shown only this once):",
                f"  console:  {base_url}/console/",
                f"  e-mail:   {email}",
                f"  password: {password}",
            ]
    finally:
        await _dispose(svc)
    return lines


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [BASTION_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [BASTION_PORT].")] = None,
    demo: Annotated[bool, typer.Option(help="Also serve a demo company page at /demo/.")] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes on this machine (needs PostgreSQL and Redis).")
    ] = 1,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate (chain) to serve HTTPS [BASTION_TLS_CERT].")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="PEM private key for --tls-cert [BASTION_TLS_KEY].")
    ] = None,
    tls_self_signed: Annotated[
        bool,
        typer.Option(help="Serve HTTPS with a development certificate kept in the data dir."),
    ] = False,
) -> None:
    """Run the server (migrates the database first)."""
    import uvicorn

    from bastion.app import create_app

    if tls_self_signed and (tls_cert or tls_key):
        fail("--tls-self-signed and --tls-cert/--tls-key exclude each other")
    if tls_self_signed:
        tls_cert, tls_key = _dev_certificate(_settings(host=host, port=port))
    settings = _settings(
        host=host,
        port=port,
        tls_cert=str(tls_cert) if tls_cert else None,
        tls_key=str(tls_key) if tls_key else None,
    )
    tls_options = _tls_options(settings)
    if workers > 1 and settings.is_sqlite:
        fail("--workers needs PostgreSQL (BASTION_DATABASE_URL): SQLite allows one writer process")
    if workers > 1 and not settings.redis_url:
        fail("--workers needs BASTION_REDIS_URL: without Redis processes miss each other's events")
    base_url = settings.base_url
    from bastion.storage.backup import hold_server_lock

    # Held for the server's lifetime: `backup restore` refuses while it is taken.
    _server_lock = hold_server_lock(settings)
    lines = _run(lambda: _serve_prepare(settings, base_url))
    for line in lines:
        typer.echo(line)
    if demo:
        typer.echo(f"Demo page: {base_url}/demo/")
    if not settings.mail_enabled:
        # Only that mail is off: reset links and codes are never printed instead.
        typer.echo(
            "E-mail is off (BASTION_SMTP_URL unset): password reset and e-mailed sign-in "
            "codes are unavailable.",
            err=True,
        )
    typer.echo(f"Bastion listening on {base_url}", err=True)
    options = uvicorn_options(settings, tls_options)
    if workers > 1:
        _serve_workers(workers, settings, demo, options)
        return
    config = uvicorn.Config(create_app(settings, demo=demo), **options)
    server = uvicorn.Server(config)
    try:
        server.run()
    except OSError as err:
        fail(f"cannot listen on {settings.host}:{settings.port}: {err.strerror}")
    if not server.started:
        sys.exit(1)


def uvicorn_options(settings: Settings, tls_options: dict[str, Any]) -> dict[str, Any]:
    """How ``serve`` runs uvicorn (the benchmark's memory probe uses the same)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "ws_max_size": 1024 * 1024,
        # uvicorn's websockets-sansio protocol, keeping less per open socket (lean.py).
        "ws": "bastion.transport.ws.lean:LeanWebSocketProtocol",
        "ws_ping_interval": None,
        # Chat frames are small: permessage-deflate would save little on the wire and cost
        # a zlib compressor and decompressor per socket when a browser offers it (it does),
        # tens of KiB each (docs/performance.md). Clients work the same either way.
        "ws_per_message_deflate": False,
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": 5,
        **tls_options,
    }


def _dev_certificate(settings: Settings) -> tuple[Path, Path]:
    from bastion.security.tlscert import ensure_dev_certificate

    try:
        return ensure_dev_certificate(settings.data_dir / "tls", datetime.now(UTC))
    except OSError as err:
        fail(f"cannot write the development certificate: {err.strerror or type(err).__name__}")
        raise AssertionError from err  # unreachable: fail() exits


def _tls_options(settings: Settings) -> dict[str, Any]:
    """The TLS options for uvicorn, after checking the files load (a clear error, not a trace)."""
    if not settings.tls:
        return {}
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            settings.tls_cert, settings.tls_key
        )
    except (OSError, ssl.SSLError):
        fail("cannot load the TLS certificate and key (check the paths and that they match)")
    return {"ssl_certfile": settings.tls_cert, "ssl_keyfile": settings.tls_key}


def _serve_workers(workers: int, settings: Settings, demo: bool, options: dict[str, Any]) -> None:
    """Run ``workers`` processes on one listening socket (uvicorn's supervisor).

    Each worker builds its own app from the environment, so the flags are exported first;
    migrations and the first-start bootstrap already ran once, here, before the fork.
    """
    import os

    import uvicorn

    os.environ["BASTION_HOST"] = settings.host
    os.environ["BASTION_PORT"] = str(settings.port)
    os.environ["BASTION_SERVE_DEMO"] = "1" if demo else "0"
    # Workers read TLS from the environment too: their Origin checks expect https.
    os.environ["BASTION_TLS_CERT"] = settings.tls_cert
    os.environ["BASTION_TLS_KEY"] = settings.tls_key
    try:
        uvicorn.run("bastion.app:create_app_from_env", factory=True, workers=workers, **options)
    except OSError as err:
        fail(f"cannot listen on {settings.host}:{settings.port}: {err.strerror}")


async def _serve_prepare(settings: Settings, base_url: str) -> list[str]:
    from bastion.storage.migrate import one_node_at_a_time

    async with one_node_at_a_time(settings.resolved_database_url):
        await _prepare(settings)
        # The key-encryption key now, so a bad key file stops the start with one line.
        FileKeyStore(settings.resolved_kek_file).load()
        await _backfill(settings)
        return await bootstrap(settings, base_url=base_url)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Login e-mail.")],
    role: Annotated[
        str, typer.Option(help="owner, admin, supervisor, agent or a custom role's name.")
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="Display name shown to visitors.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a staff account (the password is read from stdin, never from arguments)."""
    if not password_stdin:
        fail("pass the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings()

    async def go() -> dict[str, str]:
        from bastion.services import build_services

        await _prepare(settings)
        svc = build_services(settings)
        try:
            user = await svc.staff.create_user(
                None, email=email, password=password, role=role, name=name
            )
        finally:
            await _dispose(svc)
        return {"id": user.id, "email": user.email, "role": user.role, "name": user.name}

    out = _run(go)
    typer.echo(
        json.dumps(out) if as_json else f"created {out['role']} {out['email']} ({out['id']})"
    )


@user_app.command("unlock")
def user_unlock(email: Annotated[str, typer.Option(help="Login e-mail.")]) -> None:
    """Lift a login lock after repeated failures."""
    settings = _settings()

    async def go() -> None:
        from bastion.services import build_services

        await _prepare(settings)
        svc = build_services(settings)
        try:
            await svc.auth.unlock(email)
        finally:
            await _dispose(svc)

    _run(go)
    typer.echo(f"unlocked {email.strip().lower()}")


@user_app.command("reset-password")
def user_reset_password(email: Annotated[str, typer.Option(help="Login e-mail.")]) -> None:
    """E-mail the user a single-use link to choose a new password (needs BASTION_SMTP_URL).

    Nothing secret is printed: the link goes only to the account's own mailbox, so the
    operator never holds it. Two-step login still applies after the reset.
    """
    settings = _settings()
    if not settings.mail_enabled:
        fail("e-mail is off (set BASTION_SMTP_URL and BASTION_MAIL_FROM); nothing was sent")

    async def go() -> None:
        from bastion.services import build_services

        await _prepare(settings)
        svc = build_services(settings)
        try:
            user = await svc.staff.find(email)
            await svc.password_reset.request(user.email, None)
            assert svc.outbox is not None
            await svc.outbox.drain()
            if svc.outbox.failed:
                fail("the SMTP server did not take the message; nothing was sent")
        finally:
            await _dispose(svc)

    _run(go)
    typer.echo(f"sent a password-reset link to {email.strip().lower()}")


@user_app.command("end-sessions")
def user_end_sessions(email: Annotated[str, typer.Option(help="Login e-mail.")]) -> None:
    """Log a user out everywhere (incident response)."""
    settings = _settings()

    async def go() -> int:
        from bastion.services import build_services

        await _prepare(settings)
        svc = build_services(settings)
        try:
            user = await svc.staff.find(email)
            return await svc.auth.end_user_sessions(None, user.id, None)
        finally:
            await _dispose(svc)

    typer.echo(f"ended {_run(go)} session(s)")


@security_app.command("policy")
def security_policy(
    require_2fa: Annotated[
        list[str] | None, typer.Option(help="Role that must use two-step login (repeat).")
    ] = None,
    allow_ip: Annotated[
        list[str] | None, typer.Option(help="Staff IP range (CIDR, repeat); 'any' clears.")
    ] = None,
    email_otp: Annotated[
        bool | None,
        typer.Option(
            "--email-otp/--no-email-otp", help="Accept e-mailed codes as the second step."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show or set the security policy. The operator may set an allow-list that excludes
    the current web session (this is how a locked-out admin gets back in).
    """
    settings = _settings()

    async def go() -> dict[str, Any]:
        from bastion.services import build_services

        await _prepare(settings)
        svc = build_services(settings)
        try:
            if require_2fa is None and allow_ip is None and email_otp is None:
                return await svc.auth.policy()
            ranges = None if allow_ip is None else [] if allow_ip == ["any"] else allow_ip
            # One save, all or nothing (a bad range leaves the roles as they were too).
            return await svc.auth.set_policy(
                None,
                None,
                require_2fa_roles=require_2fa,
                ip_allowlist=ranges,
                allow_email_otp=email_otp,
            )
        finally:
            await _dispose(svc)

    policy = _run(go)
    if as_json:
        typer.echo(json.dumps(policy))
    else:
        typer.echo(f"two-step login required for: {', '.join(policy['require_2fa_roles']) or '-'}")
        typer.echo(f"staff IP allow-list: {', '.join(policy['ip_allowlist']) or 'any address'}")
        typer.echo(f"e-mailed codes accepted: {'yes' if policy['allow_email_otp'] else 'no'}")


@widget_app.command("list")
def widget_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List widgets with their embed snippets (for the address in BASTION_PUBLIC_URL)."""
    settings = _settings()
    # The address browsers load widget.js from: BASTION_PUBLIC_URL, else the one `serve`
    # prints with these settings (its scheme follows TLS).
    base = settings.base_url
    if not settings.public_url:
        # On stderr: --json output stays parseable. A `serve --port` elsewhere is unknown here.
        typer.echo(
            f"BASTION_PUBLIC_URL is not set: the snippets assume {base}; set it to the address "
            "browsers use to reach Bastion.",
            err=True,
        )

    async def go() -> list[dict[str, Any]]:
        from bastion.services import build_services

        await _prepare(settings)
        svc = build_services(settings)
        try:
            widgets = await svc.widgets.list_all(None)
        finally:
            await _dispose(svc)
        return [
            {
                "id": w.id,
                "name": w.name,
                "allowed_origins": list(w.allowed_origins),
                "snippet": snippet(base, w.id),
            }
            for w in widgets
        ]

    widgets = _run(go)
    if as_json:
        typer.echo(json.dumps(widgets, indent=2))
    else:
        for w in widgets:
            typer.echo(f"{w['id']}  {w['name']}  {' '.join(w['allowed_origins'])}")
            typer.echo(f"  {w['snippet']}")


@widget_app.command("allow")
def widget_allow(
    widget_id: Annotated[str, typer.Argument(help="Widget id (see `widget list`).")],
    origins: Annotated[list[str], typer.Argument(help="Origins that may embed the widget.")],
    replace: Annotated[bool, typer.Option(help="Replace the list instead of adding.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Let sites (https://shop.example, https://*.example.com) embed a widget."""
    settings = _settings()

    async def go() -> list[str]:
        from bastion.services import build_services

        await _prepare(settings)
        svc = build_services(settings)
        try:
            current = [] if replace else list((await svc.widgets.get(widget_id)).allowed_origins)
            widget = await svc.widgets.set_allowed_origins(None, widget_id, current + origins)
        finally:
            await _dispose(svc)
        return list(widget.allowed_origins)

    allowed = _run(go)
    typer.echo(
        json.dumps({"id": widget_id, "allowed_origins": allowed}) if as_json else " ".join(allowed)
    )


async def _dispose(svc: Any) -> None:
    """A command's services closed: the database pool and the bus (with Redis, a command
    that changes something has told the running nodes through it).
    """
    await svc.db.dispose()
    await svc.bus.close()


async def _with_services(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    from bastion.services import build_services

    await _prepare(settings)
    svc = build_services(settings)
    try:
        return await fn(svc)
    finally:
        await _dispose(svc)


@widget_app.command("identity")
def widget_identity(
    widget_id: Annotated[str, typer.Argument(help="Widget id.")],
    mode: Annotated[str, typer.Option(help="optional, or strict (verified visitors only).")],
) -> None:
    """Set whether unverified visitors may chat."""
    settings = _settings()
    _run(
        lambda: _with_services(
            settings, lambda s: s.widgets.set_identity_mode(None, widget_id, mode)
        )
    )
    typer.echo(f"{widget_id}: identity mode {mode}")


@widget_app.command("redaction")
def widget_redaction(
    widget_id: Annotated[str, typer.Argument(help="Widget id.")],
    patterns: Annotated[
        str, typer.Argument(help='JSON list: "iban" and/or {"name": …, "regex": …} objects.')
    ],
) -> None:
    """Set what a widget redacts besides card numbers (which are always redacted)."""
    try:
        parsed = json.loads(patterns)
    except ValueError:
        fail("patterns must be a JSON list")
    settings = _settings()
    cleaned = _run(
        lambda: _with_services(
            settings, lambda s: s.widgets.set_redaction_patterns(None, widget_id, parsed)
        )
    )
    typer.echo(json.dumps({"id": widget_id, "redaction_patterns": cleaned}))


@widget_app.command("rotate-secret")
def widget_rotate_secret(
    widget_id: Annotated[str, typer.Argument(help="Widget id.")],
    overlap_hours: Annotated[float, typer.Option(help="How long older secrets stay valid.")] = 24,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a new HMAC secret for visitor identity (printed once); older ones expire
    after the overlap.
    """
    settings = _settings()
    secret = _run(
        lambda: _with_services(
            settings,
            lambda s: s.widgets.rotate_hmac_secret(None, widget_id, int(overlap_hours * 3600)),
        )
    )
    typer.echo(json.dumps({"id": widget_id, "hmac_secret": secret}) if as_json else secret)


@widget_app.command("add-jwt-key")
def widget_add_jwt_key(
    widget_id: Annotated[str, typer.Argument(help="Widget id.")],
    alg: Annotated[str, typer.Option(help="HS256, RS256 or EdDSA.")],
    key_file: Annotated[str, typer.Option(help="File with the shared secret or PEM public key.")],
) -> None:
    """Trust identity JWTs signed with this key; prints the key id (use it as ``kid``)."""
    settings = _settings()
    try:
        with open(key_file, encoding="utf-8") as fh:
            key = fh.read().strip()
    except OSError as err:
        fail(f"cannot read {key_file}: {err.strerror}")
        raise
    key_id = _run(
        lambda: _with_services(settings, lambda s: s.widgets.add_jwt_key(None, widget_id, alg, key))
    )
    typer.echo(key_id)


@department_app.command("create")
def department_create(
    name: Annotated[str, typer.Argument(help="Department name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a department."""
    settings = _settings()
    dep = _run(lambda: _with_services(settings, lambda s: s.departments.create(None, name)))
    typer.echo(json.dumps({"id": dep.id, "name": dep.name}) if as_json else dep.id)


@department_app.command("list")
def department_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List departments."""
    settings = _settings()
    deps = _run(lambda: _with_services(settings, lambda s: s.departments.list_all(None)))
    if as_json:
        typer.echo(
            json.dumps(
                [{"id": d.id, "name": d.name, "retention_days": d.retention_days} for d in deps]
            )
        )
    for d in [] if as_json else deps:
        typer.echo(f"{d.id}  {d.name}")


@department_app.command("retention")
def department_retention(
    department: Annotated[str, typer.Argument(help="Department id or name.")],
    days: Annotated[
        str, typer.Argument(help="Days to keep closed chats, 0 = forever, or 'default'.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete a department's conversations DAYS days after they close (audited by count)."""
    if days == "default":
        wanted: int | None = None
    elif days.isdigit():
        wanted = int(days)
    else:
        fail("DAYS must be a whole number of days, 0 (keep forever) or 'default'")
        raise AssertionError  # unreachable: fail() exits
    settings = _settings()

    async def go(svc: Any) -> Any:
        dep = await svc.departments.find(None, department)
        return await svc.departments.set_retention(None, dep.id, wanted)

    dep = _run(lambda: _with_services(settings, go))
    out = {"id": dep.id, "name": dep.name, "retention_days": dep.retention_days}
    if as_json:
        typer.echo(json.dumps(out))
    else:
        days_kept = dep.retention_days
        kept = {None: "the default", 0: "forever"}.get(days_kept, f"{days_kept} days")
        typer.echo(f"{dep.name}: closed chats kept {kept}")


@department_app.command("assign")
def department_assign(
    email: Annotated[str, typer.Option(help="Staff e-mail.")],
    departments: Annotated[
        list[str] | None, typer.Argument(help="Department ids or names.")
    ] = None,
) -> None:
    """Set a staff member's departments (none: sees only unassigned chats)."""
    settings = _settings()

    async def go(svc: Any) -> list[str]:
        user = await svc.staff.find(email)
        ids = [(await svc.departments.find(None, d)).id for d in departments or []]
        result: list[str] = await svc.departments.set_user_departments(None, user.id, ids)
        return result

    typer.echo(" ".join(_run(lambda: _with_services(settings, go))) or "-")


@widget_app.command("department")
def widget_department(
    widget_id: Annotated[str, typer.Argument(help="Widget id.")],
    department: Annotated[str, typer.Argument(help="Department id or name, or 'none'.")],
) -> None:
    """Route new chats from a widget to a department."""
    settings = _settings()

    async def go(svc: Any) -> str:
        dep = None if department == "none" else (await svc.departments.find(None, department))
        change = WidgetChange(department_id=dep.id if dep else None)
        await svc.widgets.update(None, widget_id, change)
        return dep.name if dep else "none"

    typer.echo(f"{widget_id}: department {_run(lambda: _with_services(settings, go))}")


@role_app.command("create")
def role_create(
    name: Annotated[str, typer.Argument(help="Role name (a-z, 0-9, - and _).")],
    perm: Annotated[
        list[str] | None, typer.Option("--perm", help="A permission, e.g. chat.handle (repeat).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a custom role from the permission set."""
    from bastion.domain.roles import role_summary

    settings = _settings()
    role = _run(lambda: _with_services(settings, lambda s: s.roles.create(None, name, perm or [])))
    out = role_summary(role)
    typer.echo(json.dumps(out) if as_json else f"created role {role.name}")


@role_app.command("list")
def role_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List built-in and custom roles with their permissions."""
    from bastion.domain.roles import role_summary

    settings = _settings()
    roles = _run(lambda: _with_services(settings, lambda s: s.roles.list_all(None)))
    if as_json:
        typer.echo(json.dumps([role_summary(r, n) for r, n in roles]))
        return
    for role, users in roles:
        kind = "built-in" if role.builtin else "custom"
        perms = " ".join(role_summary(role)["permissions"])
        typer.echo(f"{role.name}  ({kind}, {users} user(s))  {perms}")


@role_app.command("delete")
def role_delete(name: Annotated[str, typer.Argument(help="Custom role name.")]) -> None:
    """Delete a custom role (refused while a user still has it)."""
    settings = _settings()
    _run(lambda: _with_services(settings, lambda s: s.roles.delete(None, name)))
    typer.echo(f"deleted role {name}")


@gdpr_app.command("export")
def gdpr_export(
    email: Annotated[str, typer.Option(help="The e-mail address the person gave.")],
    out: Annotated[
        Path | None, typer.Option(help="ZIP file to write (default: ./<name>.zip).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Export everything stored about a person (a ZIP with JSON) to a file made 0600."""
    settings = _settings()

    async def go(svc: Any) -> Any:
        await _backfill(settings)
        return await svc.privacy.export_person(None, email)

    export = _run(lambda: _with_services(settings, go))
    target = out or Path(export.filename)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        fail(f"cannot write {target}: {err.strerror}")
    with os.fdopen(fd, "wb") as fh:
        fh.write(export.data)
    result = {"file": str(target), **export.counts}
    typer.echo(
        json.dumps(result)
        if as_json
        else f"wrote {target} ({export.counts['visitors']} visitor record(s))"
    )


@gdpr_app.command("erase")
def gdpr_erase(
    email: Annotated[str, typer.Option(help="The e-mail address the person gave.")],
    reason: Annotated[
        str, typer.Option(help="Why (kept in the audit log; no personal data).")
    ] = "erasure request",
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Erase a person: destroy their data keys, delete their rows, record it in the ledger."""
    if not yes:
        fail("erasure cannot be undone: pass --yes to confirm")
    settings = _settings()

    async def go(svc: Any) -> Any:
        await _backfill(settings)
        return await svc.privacy.erase_person(None, email, reason)

    result = _run(lambda: _with_services(settings, go))
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(f"erased {result['visitors']} visitor record(s); recorded in the erasure ledger")


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Data keys re-wrapped per transaction.")
    ] = 200,
    grace_s: Annotated[
        float, typer.Option(min=0, help="Seconds to wait before the last pass (in-flight writes).")
    ] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Make a new key-encryption key and re-wrap every data key under it, while the
    server runs; the old KEK file is deleted once no data key needs it.
    """
    from bastion.storage.db import Database
    from bastion.storage.rotation import rotate_kek

    settings = _settings()

    async def go() -> Any:
        await _prepare(settings)
        db = Database(settings.resolved_database_url)
        try:
            return await rotate_kek(
                db, settings.resolved_kek_file, batch=batch_size, grace_s=grace_s
            )
        finally:
            await db.dispose()

    report = _run(go)
    if as_json:
        typer.echo(json.dumps({"kek_id": report.kek_id, "rewrapped": report.rewrapped}))
    else:
        typer.echo(f"re-wrapped {report.rewrapped} data key(s) under KEK {report.kek_id}")


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check every entry of the audit log against the chain: exits 1 if one was altered,
    removed or reordered. Keep the printed head somewhere else: a later run must reach
    it again.
    """
    from bastion.storage.auditchain import verify
    from bastion.storage.db import Database

    settings = _settings()

    async def go() -> Any:
        await _prepare(settings)
        db = Database(settings.resolved_database_url)
        try:
            return await verify(db, FileKeyStore(settings.resolved_kek_file))
        finally:
            await db.dispose()

    report = _run(go)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(
            f"{report.entries} chained entries, head {report.head_seq} {report.head_mac}"
            + (f"; {report.unchained} older entries outside the chain" if report.unchained else "")
        )
        for problem in report.problems:
            typer.echo(f"bastion: {problem}", err=True)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="File to write (JSON lines; must not exist).")],
) -> None:
    """Write every audit entry with its seq and MAC, in chain order, for incident
    evidence; `bastion audit verify` checks the same chain in place.
    """
    from bastion.storage.auditchain import export
    from bastion.storage.db import Database

    settings = _settings()

    async def go() -> int:
        await _prepare(settings)
        db = Database(settings.resolved_database_url)
        count = 0
        try:
            # Owner-only: entries name staff ids and addresses.
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                async for entry in export(db):
                    f.write(json.dumps(entry, sort_keys=True) + "\n")
                    count += 1
        finally:
            await db.dispose()
        return count

    if out.exists():
        fail(f"{out} exists; choose a new file")
    typer.echo(f"wrote {_run(go)} entries to {out}")


@backup_app.command("create")
def backup_create(
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: BASTION_BACKUP_DIR).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Make an encrypted, consistent backup while the server runs."""
    from bastion.clock import SystemClock
    from bastion.storage.backup import create_backup

    settings = _settings()
    path = _run(lambda: create_backup(settings, SystemClock(), out))
    typer.echo(json.dumps({"file": str(path)}) if as_json else str(path))


@backup_app.command("verify")
def backup_verify(
    file: Annotated[Path, typer.Argument(help="The backup file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Decrypt and authenticate a backup completely and check the database inside."""
    from bastion.storage.backup import verify_backup

    settings = _settings()
    info = _run(lambda: verify_backup(settings, file))
    if as_json:
        typer.echo(json.dumps(info))
    else:
        typer.echo(f"ok: {info['kind']} backup made {info['created_at']}")


@backup_app.command("restore")
def backup_restore(
    file: Annotated[Path, typer.Argument(help="The backup file.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: the current database is replaced.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replace the database with a backup (server stopped), then re-apply the erasure ledger."""
    from bastion.services import build_services
    from bastion.storage.backup import restore_backup

    if not yes:
        fail("restoring replaces the current database: pass --yes to confirm")
    settings = _settings()

    async def reapply() -> dict[str, int]:
        await _backfill(settings)
        svc = build_services(settings)
        try:
            result: dict[str, int] = await svc.privacy.reapply_ledger()
            return result
        finally:
            await _dispose(svc)

    info = _run(lambda: restore_backup(settings, file, reapply))
    if as_json:
        typer.echo(json.dumps(info))
    else:
        ledger = info["ledger"]
        typer.echo(
            f"restored the {info['kind']} backup made {info['created_at']}; erasure ledger "
            f"re-applied ({ledger['entries']} entries, "
            f"{ledger['visitors']} visitor record(s) erased)"
        )
    if info["unreadable_keys"]:
        typer.echo(
            f"warning: {info['unreadable_keys']} data key(s) are wrapped by a key-encryption "
            "key that is not here (the backup predates a rotation): put that KEK file back "
            "as kek.key.old and run `bastion keys rotate`",
            err=True,
        )


@jobs_app.command("status")
def jobs_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each registered job: its interval and its last run on any node."""
    settings = _settings()

    async def go(svc: Any) -> list[dict[str, Any]]:
        from bastion.storage.jobs import SqlJobLedger

        runs = await SqlJobLedger(svc.db).last_runs()
        out = []
        for job in svc.jobs.jobs:
            started, finished, ok = runs.get(job.name, (None, None, None))
            out.append(
                {
                    "name": job.name,
                    "every_s": int(job.every.total_seconds()),
                    "last_started": started.isoformat() if started else None,
                    "last_finished": finished.isoformat() if finished else None,
                    "ok": ok,
                }
            )
        return out

    jobs = _run(lambda: _with_services(settings, go))
    if as_json:
        typer.echo(json.dumps(jobs))
        return
    for j in jobs:
        state = {True: "ok", False: "failed", None: "running or cut short"}[j["ok"]]
        last = f"last {j['last_started']} {state}" if j["last_started"] else "never ran"
        typer.echo(f"{j['name']}  every {j['every_s']}s  {last}")


def main() -> None:
    app()

"""The CLI: JSON output, one-line failures with a non-zero exit, schema guard."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.support.server import Server, base_env, cli


def test_user_create_widget_list_and_failures(tmp_path: Path) -> None:
    env = base_env(tmp_path, None)
    out = cli(
        env,
        "user",
        "create",
        "--email",
        "a@example.com",
        "--role",
        "agent",
        "--password-stdin",
        "--json",
        stdin="a perfectly fine password\n",
    )
    created = json.loads(out.stdout)
    assert created["email"] == "a@example.com" and created["role"] == "agent"
    # The password never appears in output or in the database file.
    assert "perfectly" not in out.stdout + out.stderr
    assert b"perfectly fine" not in (tmp_path / "bastion.db").read_bytes()

    short = cli(
        env,
        "user",
        "create",
        "--email",
        "b@example.com",
        "--role",
        "agent",
        "--password-stdin",
        stdin="short\n",
        check=False,
    )
    assert short.returncode == 1
    assert short.stderr.strip().count("\n") == 0 and "at least 12" in short.stderr
    assert "Traceback" not in short.stderr

    dup = cli(
        env,
        "user",
        "create",
        "--email",
        "A@example.com",
        "--role",
        "agent",
        "--password-stdin",
        stdin="another fine password\n",
        check=False,
    )
    assert dup.returncode == 1 and "exists" in dup.stderr

    assert json.loads(cli(env, "widget", "list", "--json").stdout) == []

    # Departments are named by id or by name, as `department list` prints them.
    dep = json.loads(cli(env, "department", "create", "Sales", "--json").stdout)
    assigned = cli(env, "department", "assign", "--email", "a@example.com", "sales")
    assert assigned.stdout.split() == [dep["id"]]
    bad = cli(env, "department", "assign", "--email", "a@example.com", "Nobody", check=False)
    assert bad.returncode == 1 and "no such department" in bad.stderr


def test_bad_settings_fail_with_one_line(tmp_path: Path) -> None:
    env = {**base_env(tmp_path, None), "BASTION_DATABASE_URL": "mysql://nope"}
    proc = cli(env, "migrate", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("bastion: BASTION_DATABASE_URL")
    assert "Traceback" not in proc.stderr


def test_refuses_a_schema_newer_than_it_knows(tmp_path: Path) -> None:
    env = base_env(tmp_path, None)
    cli(env, "migrate")
    with sqlite3.connect(tmp_path / "bastion.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_future'")
    proc = cli(env, "migrate", check=False)
    assert proc.returncode == 1 and "newer" in proc.stderr
    serve = cli(env, "serve", "--port", "1", check=False)
    assert serve.returncode == 1 and "newer" in serve.stderr


def test_department_retention_by_name_with_checked_values(tmp_path: Path) -> None:
    env = base_env(tmp_path, None)
    dep = json.loads(cli(env, "department", "create", "Sales", "--json").stdout)
    out = cli(env, "department", "retention", "sales", "90", "--json")
    assert json.loads(out.stdout) == {"id": dep["id"], "name": "Sales", "retention_days": 90}
    assert cli(env, "department", "retention", dep["id"], "0").stdout.strip() == (
        "Sales: closed chats kept forever"
    )
    cli(env, "department", "retention", "Sales", "default")
    listed = json.loads(cli(env, "department", "list", "--json").stdout)
    assert listed == [{"id": dep["id"], "name": "Sales", "retention_days": None}]
    for args, reason in (
        (("Sales", "ten"), "DAYS must be"),
        (("Sales", "99999"), "retention is 0"),
        (("Nobody", "7"), "no such department"),
    ):
        bad = cli(env, "department", "retention", *args, check=False)
        assert bad.returncode == 1 and reason in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_jobs_status_lists_registered_jobs(tmp_path: Path) -> None:
    env = {**base_env(tmp_path, None), "BASTION_IDLE_CLOSE_MINUTES": "0"}
    jobs = json.loads(cli(env, "jobs", "status", "--json").stdout)
    # Idle close is off, so only the purge, the requeue backstop and the file sweep are
    # registered; none has run here.
    never = {"last_started": None, "last_finished": None, "ok": None}
    assert jobs == [
        {"name": "retention.purge", "every_s": 3600, **never},
        {"name": "conversations.release_unheld", "every_s": 60, **never},
        {"name": "audit.checkpoint", "every_s": 3600, **never},
        {"name": "files.sweep_orphans", "every_s": 3600, **never},
    ]


def test_logs_go_to_stderr_at_the_configured_level(sqlite_server: Server) -> None:
    """A warning on the way (here: Redis unreachable while telling the nodes about a
    widget change) goes to standard error, so --json output still parses; and
    BASTION_LOG_LEVEL=error silences it."""
    env = {**sqlite_server.env, "BASTION_REDIS_URL": "redis://127.0.0.1:1/0"}
    widget = sqlite_server.widget
    out = cli(env, "widget", "allow", widget, "https://shop.example", "--json")
    assert json.loads(out.stdout)["allowed_origins"][-1] == "https://shop.example"
    assert "bus_publish_dropped" in out.stderr and "warning" in out.stderr
    quiet = cli(
        {**env, "BASTION_LOG_LEVEL": "ERROR"}, "widget", "allow", widget, "https://b.example"
    )
    assert "bus_publish_dropped" not in quiet.stdout + quiet.stderr
    bad = cli({**env, "BASTION_LOG_LEVEL": "chatty"}, "widget", "list", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "bastion: BASTION_LOG_LEVEL must be debug, info, warning or error"
    )


def test_audit_verify_and_export_find_an_edited_entry(tmp_path: Path) -> None:
    """The operator's view of the chain: verify prints the head and exits 0; export
    writes the entries in chain order, owner-only; an entry edited in the database file
    makes verify exit 1 naming the entry, and nothing of its content."""
    import sqlite3

    env = base_env(tmp_path, None)
    for name in ("Sales", "Billing", "Support"):
        cli(env, "department", "create", name)
    report = json.loads(cli(env, "audit", "verify", "--json").stdout)
    assert report["ok"] and report["entries"] == 3 and report["head"]["seq"] == 3
    assert cli(env, "audit", "verify").stdout.startswith("3 chained entries, head 3 ")

    out = tmp_path / "evidence.jsonl"
    assert cli(env, "audit", "export", "--out", str(out)).stdout.strip().startswith("wrote 3")
    assert out.stat().st_mode & 0o077 == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(e["seq"], e["action"]) for e in lines] == [
        (n, "department.created") for n in (1, 2, 3)
    ]
    assert lines[-1]["mac"] == report["head"]["mac"]
    again = cli(env, "audit", "export", "--out", str(out), check=False)
    assert again.returncode == 1 and "exists" in again.stderr

    with sqlite3.connect(tmp_path / "bastion.db") as db:
        db.execute("UPDATE audit_log SET target = 'd_forged' WHERE seq = 2")
    bad = cli(env, "audit", "verify", check=False)
    assert bad.returncode == 1
    assert "entry 2 does not match its MAC" in bad.stderr
    assert "d_forged" not in bad.stdout + bad.stderr


def snippet(base: str, widget: str) -> str:
    """The embed code, as DESIGN.md's external contracts fix it."""
    return f'<script async src="{base}/widget.js" data-bastion-widget="{widget}"></script>'


def test_widget_list_snippets_use_the_public_url(sqlite_server: Server) -> None:
    """The embed code points where browsers reach Bastion: BASTION_PUBLIC_URL (port and
    all), else the address `serve` gives for the same settings, https under built-in TLS.
    """
    widget = sqlite_server.widget
    public = {**sqlite_server.env, "BASTION_PUBLIC_URL": "https://chat.example.com:8443/"}
    listed = cli(public, "widget", "list", "--json")
    [entry] = json.loads(listed.stdout)
    expected = snippet("https://chat.example.com:8443", widget)
    assert entry["snippet"] == expected
    assert listed.stderr == ""
    # The plain listing shows the embed code too, not only the allowed sites.
    plain = cli(public, "widget", "list").stdout.splitlines()
    assert plain[0].startswith(f"{widget}  Support  ")
    assert plain[1].strip() == expected

    # No public URL: this server's own address, its scheme following TLS, and a note.
    tls = {
        **sqlite_server.env,
        "BASTION_PORT": "8443",
        "BASTION_TLS_CERT": "/etc/bastion/fullchain.pem",
        "BASTION_TLS_KEY": "/etc/bastion/privkey.pem",
    }
    guessed = cli(tls, "widget", "list", "--json")
    assert json.loads(guessed.stdout)[0]["snippet"] == snippet("https://127.0.0.1:8443", widget)
    assert "BASTION_PUBLIC_URL is not set" in guessed.stderr

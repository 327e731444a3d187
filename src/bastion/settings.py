"""Every setting Bastion reads, from the environment (``BASTION_*``), with defaults that run.

Only the app factory and the CLI build a :class:`Settings`; everything else receives
the values it needs.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A setting has a value Bastion cannot use; the message names the variable."""


@dataclass(frozen=True)
class Secret:
    """A string that must never be revealed in ``repr``, logs or tracebacks."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("bastion-data")
    database_url: str = ""
    public_url: str = ""
    redis_url: str = ""
    # Prefix of every Redis key and channel, so several deployments can share one Redis.
    redis_prefix: str = "bastion:"
    # Active chats an agent may hold at once (accept refuses beyond it).
    agent_max_chats: int = 5
    log_level: str = "info"
    # Staff sessions: idle and absolute lifetimes in seconds.
    session_idle_s: int = 8 * 3600
    session_absolute_s: int = 7 * 24 * 3600
    # Visitor tokens live this long after their last exchange.
    visitor_token_ttl_s: int = 30 * 24 * 3600
    # WebSocket limits.
    ws_max_frame_bytes: int = 16 * 1024
    # JSON request bodies (REST) and the nesting of any JSON a client sends.
    http_max_json_bytes: int = 64 * 1024
    json_max_depth: int = 8
    ws_idle_timeout_s: float = 75.0
    ws_session_recheck_s: int = 60
    ws_send_queue: int = 256
    message_max_chars: int = 4000
    agent_access_after_close_s: int = 24 * 3600
    # argon2id parameters (OWASP 2024 minimum is m=19 MiB, t=2, p=1; we go above it).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1
    sqlite_synchronous: str = "FULL"
    # Abuse resistance (docs/security.md lists each with what a client sees). Rates use
    # the `limits` notation, "N/second|minute|hour|day", counted in a moving window.
    trusted_proxies: tuple[str, ...] = ()
    rl_http: str = "300/minute"  # HTTP requests per client IP
    rl_http_credential: str = "600/minute"  # HTTP requests per bearer token or staff session
    rl_sessions: str = "30/minute"  # visitor sessions created per IP
    rl_login: str = "10/minute"  # login attempts per IP
    rl_messages: str = "30/minute"  # visitor messages per conversation
    rl_conversations_visitor: str = "10/hour"  # conversations started per visitor
    rl_conversations_ip: str = "30/hour"  # conversations started per IP
    rl_ws_connects: str = "60/minute"  # WebSocket handshakes per IP
    ws_max_per_ip: int = 50  # open sockets per IP on one process
    ws_max_connections: int = 10000  # open sockets on one process
    ws_frames_per_s: float = 20.0
    ws_frame_burst: int = 60
    ws_max_strikes: int = 50
    spam_duplicates: int = 3  # identical visitor messages allowed per window
    spam_links: int = 10  # links a visitor may send per window
    spam_window_s: int = 300
    # TLS served by Bastion itself (PEM files); empty when plain HTTP or behind a proxy.
    tls_cert: str = ""
    tls_key: str = ""
    # The key-encryption key's file; empty: ``<data dir>/kek.key``, made on first run.
    kek_file: str = ""
    # The backup key's file; empty: ``backup.key`` beside the KEK, made on first backup.
    backup_key_file: str = ""
    # Where ``bastion backup create`` writes without --out; empty: ``<data dir>/backups``.
    backup_dir: str = ""
    # Periodic jobs (docs/deploy.md): off on a node with BASTION_JOBS=0; how often each
    # node looks for due jobs; retention (0 keeps chats forever) and its run interval;
    # minutes without a message after which an open chat is closed (0: never).
    jobs_enabled: bool = True
    jobs_poll_s: int = 30
    retention_days: int = 0
    retention_every_s: int = 3600
    idle_close_minutes: int = 30
    # Scheduled encrypted backups: every N seconds (0: off), keeping the newest K.
    backup_interval_s: int = 0
    backup_keep: int = 7
    # File sharing (docs/security.md, "Files"). Uploads are refused while no scanner is
    # configured: fail closed, also in development.
    upload_max_bytes: int = 10 * 1024 * 1024
    clamd: str = ""  # "tcp://127.0.0.1:3310" or a unix socket path
    clamd_timeout_s: int = 30
    rl_upload_bytes: str = "52428800/hour"  # bytes uploaded per IP and per uploader
    # Where sealed file bytes live: "database" (every node reads them), "directory"
    # (``<data dir>/files``), or "auto": the database on PostgreSQL, the directory on SQLite.
    file_store: str = "auto"
    # Outgoing e-mail (password reset, e-mailed sign-in codes); empty: mail is off.
    smtp_url: Secret = field(default=Secret(""))
    mail_from: str = ""
    smtp_ca_file: str = ""  # extra CA bundle to trust for the SMTP server's certificate
    password_reset_ttl_s: int = 30 * 60
    email_otp_ttl_s: int = 10 * 60
    rl_mail_ip: str = "20/hour"  # reset and code e-mails requested per IP
    rl_reset_account: str = "3/hour"  # reset e-mails per address (known or not)
    rl_email_code_account: str = "5/hour"  # e-mailed sign-in codes per account

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_url.reveal())

    @property
    def base_url(self) -> str:
        """Where people reach Bastion: BASTION_PUBLIC_URL, else this server's own address."""
        if self.public_url:
            return self.public_url
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def resolved_kek_file(self) -> Path:
        return Path(self.kek_file) if self.kek_file else self.data_dir / "kek.key"

    @property
    def resolved_backup_key_file(self) -> Path:
        if self.backup_key_file:
            return Path(self.backup_key_file)
        return self.resolved_kek_file.with_name("backup.key")

    @property
    def resolved_backup_dir(self) -> Path:
        return Path(self.backup_dir) if self.backup_dir else self.data_dir / "backups"

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'bastion.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_file_store(self) -> str:
        """``database`` or ``directory``: ``file_store`` with ``auto`` decided by the engine."""
        if self.file_store == "auto":
            return "directory" if self.is_sqlite else "database"
        return self.file_store

    @property
    def webauthn_rp(self) -> tuple[str, tuple[str, ...]] | None:
        """Passkeys' relying party: (RP id, the origin pages are served from).

        From ``public_url``; without it (development), ``localhost`` on the server's port.
        None when the host is an IP address: WebAuthn needs a domain name.
        """
        if self.public_url:
            parts = urlsplit(self.public_url)
            host = (parts.hostname or "").lower()
            origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
        else:
            scheme = "https" if self.tls else "http"
            host, origin = "localhost", f"{scheme}://localhost:{self.port}"
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return (host, (origin,)) if host else None
        return None

    @property
    def own_origins(self) -> frozenset[str]:
        """Origins Bastion is served from (used for WebSocket Origin checks)."""
        scheme = "https" if self.tls else "http"
        origins = {f"{scheme}://{self.host}:{self.port}"}
        if self.host in ("127.0.0.1", "localhost", "0.0.0.0", "::"):  # noqa: S104 - a comparison, not a bind
            origins |= {f"{scheme}://127.0.0.1:{self.port}", f"{scheme}://localhost:{self.port}"}
        if self.public_url:
            parts = urlsplit(self.public_url)
            origins.add(f"{parts.scheme}://{parts.netloc}")
        return frozenset(origins)


RATE_PATTERN = re.compile(r"[1-9][0-9]{0,8}/(second|minute|hour|day)")
RATE_DEFAULTS = {
    "rl_http": Settings.rl_http,
    "rl_http_credential": Settings.rl_http_credential,
    "rl_sessions": Settings.rl_sessions,
    "rl_login": Settings.rl_login,
    "rl_messages": Settings.rl_messages,
    "rl_conversations_visitor": Settings.rl_conversations_visitor,
    "rl_conversations_ip": Settings.rl_conversations_ip,
    "rl_ws_connects": Settings.rl_ws_connects,
    "rl_upload_bytes": Settings.rl_upload_bytes,
    "rl_mail_ip": Settings.rl_mail_ip,
    "rl_reset_account": Settings.rl_reset_account,
    "rl_email_code_account": Settings.rl_email_code_account,
}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0")


def _proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("BASTION_TRUSTED_PROXIES", "")
    nets = []
    for part in raw.replace(" ", ",").split(","):
        if not part:
            continue
        try:
            nets.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise SettingsError("BASTION_TRUSTED_PROXIES must be a list of CIDR ranges") from None
    return tuple(nets)


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read ``BASTION_*`` variables; keyword overrides (from CLI flags) win."""
    env = os.environ if env is None else env
    values: dict[str, object] = {
        "host": env.get("BASTION_HOST", "127.0.0.1"),
        "port": _int(env, "BASTION_PORT", 8000),
        "data_dir": Path(env.get("BASTION_DATA_DIR", "bastion-data")),
        "database_url": env.get("BASTION_DATABASE_URL", ""),
        "public_url": env.get("BASTION_PUBLIC_URL", "").rstrip("/"),
        "redis_url": env.get("BASTION_REDIS_URL", ""),
        "redis_prefix": env.get("BASTION_REDIS_PREFIX", "bastion:"),
        "agent_max_chats": _int(env, "BASTION_AGENT_MAX_CHATS", 5),
        "log_level": env.get("BASTION_LOG_LEVEL", "info").strip().lower(),
        "session_idle_s": _int(env, "BASTION_SESSION_IDLE_S", 8 * 3600),
        "session_absolute_s": _int(env, "BASTION_SESSION_ABSOLUTE_S", 7 * 24 * 3600),
        "visitor_token_ttl_s": _int(env, "BASTION_VISITOR_TOKEN_TTL_S", 30 * 24 * 3600),
        "ws_max_frame_bytes": _int(env, "BASTION_WS_MAX_FRAME_BYTES", 16 * 1024),
        "ws_session_recheck_s": _int(env, "BASTION_WS_SESSION_RECHECK_S", 60),
        "http_max_json_bytes": _int(env, "BASTION_HTTP_MAX_JSON_BYTES", 64 * 1024),
        "json_max_depth": _int(env, "BASTION_JSON_MAX_DEPTH", 8),
        "message_max_chars": _int(env, "BASTION_MESSAGE_MAX_CHARS", 4000),
        "agent_access_after_close_s": _int(env, "BASTION_AGENT_ACCESS_AFTER_CLOSE_S", 24 * 3600),
        "argon2_time_cost": _int(env, "BASTION_ARGON2_TIME_COST", 3),
        "argon2_memory_kib": _int(env, "BASTION_ARGON2_MEMORY_KIB", 65536),
        "sqlite_synchronous": env.get("BASTION_SQLITE_SYNCHRONOUS", "FULL").upper(),
        "trusted_proxies": _proxies(env),
        **{
            name: env.get(f"BASTION_{name.upper()}") or default
            for name, default in RATE_DEFAULTS.items()
        },
        "ws_max_per_ip": _int(env, "BASTION_WS_MAX_PER_IP", 50),
        "ws_max_connections": _int(env, "BASTION_WS_MAX_CONNECTIONS", 10000),
        "ws_frames_per_s": float(_int(env, "BASTION_WS_FRAMES_PER_S", 20)),
        "ws_frame_burst": _int(env, "BASTION_WS_FRAME_BURST", 60),
        "ws_max_strikes": _int(env, "BASTION_WS_MAX_STRIKES", 50),
        "spam_duplicates": _int(env, "BASTION_SPAM_DUPLICATES", 3),
        "spam_links": _int(env, "BASTION_SPAM_LINKS", 10),
        "spam_window_s": _int(env, "BASTION_SPAM_WINDOW_S", 300),
        "tls_cert": env.get("BASTION_TLS_CERT", ""),
        "tls_key": env.get("BASTION_TLS_KEY", ""),
        "kek_file": env.get("BASTION_KEK_FILE", ""),
        "backup_key_file": env.get("BASTION_BACKUP_KEY_FILE", ""),
        "backup_dir": env.get("BASTION_BACKUP_DIR", ""),
        "jobs_enabled": _flag(env, "BASTION_JOBS", True),
        "jobs_poll_s": _int(env, "BASTION_JOBS_POLL_S", 30),
        "retention_days": _int(env, "BASTION_RETENTION_DAYS", 0),
        "retention_every_s": _int(env, "BASTION_RETENTION_EVERY_S", 3600),
        "idle_close_minutes": _int(env, "BASTION_IDLE_CLOSE_MINUTES", 30),
        "backup_interval_s": _int(env, "BASTION_BACKUP_INTERVAL", 0),
        "backup_keep": _int(env, "BASTION_BACKUP_KEEP", 7),
        "upload_max_bytes": _int(env, "BASTION_UPLOAD_MAX_BYTES", 10 * 1024 * 1024),
        "clamd": env.get("BASTION_CLAMD", "").strip(),
        "clamd_timeout_s": _int(env, "BASTION_CLAMD_TIMEOUT_S", 30),
        "file_store": env.get("BASTION_FILE_STORE", "").strip().lower() or "auto",
        "smtp_url": Secret(env.get("BASTION_SMTP_URL", "")),
        "mail_from": env.get("BASTION_MAIL_FROM", ""),
        "smtp_ca_file": env.get("BASTION_SMTP_CA_FILE", ""),
        "password_reset_ttl_s": _int(env, "BASTION_PASSWORD_RESET_TTL_S", 30 * 60),
        "email_otp_ttl_s": _int(env, "BASTION_EMAIL_OTP_TTL_S", 10 * 60),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)  # type: ignore[arg-type]  # keys mirror the dataclass fields
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if not 0 < s.port < 65536:
        raise SettingsError("BASTION_PORT must be between 1 and 65535")
    url = s.resolved_database_url
    if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
        raise SettingsError(
            "BASTION_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    if s.sqlite_synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise SettingsError("BASTION_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
    if s.redis_url and urlsplit(s.redis_url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError("BASTION_REDIS_URL must start with redis://, rediss:// or unix://")
    if s.agent_max_chats < 1:
        raise SettingsError("BASTION_AGENT_MAX_CHATS must be 1 or more")
    for name in RATE_DEFAULTS:
        if not RATE_PATTERN.fullmatch(getattr(s, name)):
            raise SettingsError(
                f"BASTION_{name.upper()} must look like 30/minute (second, minute, hour or day)"
            )
    for name in ("ws_max_per_ip", "ws_max_connections", "ws_frame_burst", "ws_max_strikes"):
        if getattr(s, name) < 1:
            raise SettingsError(f"BASTION_{name.upper()} must be 1 or more")
    if bool(s.tls_cert) != bool(s.tls_key):
        raise SettingsError("BASTION_TLS_CERT and BASTION_TLS_KEY go together: give both")
    if not 1 <= s.jobs_poll_s <= 3600:
        raise SettingsError("BASTION_JOBS_POLL_S must be between 1 and 3600")
    if not 0 <= s.retention_days <= 36500:
        raise SettingsError("BASTION_RETENTION_DAYS must be between 0 (keep) and 36500")
    if not 60 <= s.retention_every_s <= 7 * 24 * 3600:
        raise SettingsError("BASTION_RETENTION_EVERY_S must be between 60 and 604800")
    if s.backup_interval_s and not 3600 <= s.backup_interval_s <= 30 * 24 * 3600:
        raise SettingsError("BASTION_BACKUP_INTERVAL is seconds: 0 (off), or 3600 to 2592000")
    if not 1 <= s.backup_keep <= 1000:
        raise SettingsError("BASTION_BACKUP_KEEP must be between 1 and 1000")
    if not 0 <= s.idle_close_minutes <= 7 * 24 * 60:
        raise SettingsError("BASTION_IDLE_CLOSE_MINUTES must be between 0 (never) and 10080")
    if not 1 <= s.upload_max_bytes <= 512 * 1024 * 1024:
        raise SettingsError("BASTION_UPLOAD_MAX_BYTES must be between 1 and 536870912")
    if s.clamd and not (s.clamd.startswith("tcp://") or s.clamd.startswith("/")):
        raise SettingsError(
            "BASTION_CLAMD must be tcp://HOST:PORT or the absolute path of clamd's socket"
        )
    if s.clamd_timeout_s < 1:
        raise SettingsError("BASTION_CLAMD_TIMEOUT_S must be 1 or more")
    if not 1 <= s.ws_session_recheck_s <= 3600:
        raise SettingsError("BASTION_WS_SESSION_RECHECK_S must be between 1 and 3600")
    if s.log_level not in ("debug", "info", "warning", "error"):
        raise SettingsError("BASTION_LOG_LEVEL must be debug, info, warning or error")
    if s.file_store not in ("auto", "database", "directory"):
        raise SettingsError("BASTION_FILE_STORE must be auto, database or directory")
    if s.public_url and urlsplit(s.public_url).scheme not in ("http", "https"):
        raise SettingsError("BASTION_PUBLIC_URL must be an http(s) URL")
    _validate_mail(s)


def _validate_mail(s: Settings) -> None:
    # Messages name the variable, never its value: the URL may hold the SMTP password.
    url = s.smtp_url.reveal()
    if url:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise SettingsError("BASTION_SMTP_URL is not a valid URL") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingsError(
                "BASTION_SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465"
            )
        if parts.query not in ("", "tls=off"):
            raise SettingsError("BASTION_SMTP_URL accepts only the option ?tls=off")
        loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
        if parts.query == "tls=off" and parts.password is not None and not loopback:
            raise SettingsError(
                "BASTION_SMTP_URL: ?tls=off with a password is allowed only for localhost"
            )
        if "@" not in s.mail_from:
            raise SettingsError("BASTION_MAIL_FROM must be set (an address) with BASTION_SMTP_URL")
    if s.smtp_ca_file and not Path(s.smtp_ca_file).is_file():
        raise SettingsError("BASTION_SMTP_CA_FILE must name a readable PEM file")
    if not 60 <= s.password_reset_ttl_s <= 24 * 3600:
        raise SettingsError("BASTION_PASSWORD_RESET_TTL_S must be between 60 and 86400")
    if not 60 <= s.email_otp_ttl_s <= 3600:
        raise SettingsError("BASTION_EMAIL_OTP_TTL_S must be between 60 and 3600")

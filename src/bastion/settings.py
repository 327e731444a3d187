"""Every setting Bastion reads, from the environment (``BASTION_*``), with defaults that run.

Only the app factory and the CLI build a :class:`Settings`; everything else receives
the values it needs.
"""

from __future__ import annotations

import ipaddress
import os
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
    ws_idle_timeout_s: float = 75.0
    ws_send_queue: int = 256
    message_max_chars: int = 4000
    agent_access_after_close_s: int = 24 * 3600
    # argon2id parameters (OWASP 2024 minimum is m=19 MiB, t=2, p=1; we go above it).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1
    sqlite_synchronous: str = "FULL"
    # Peers whose X-Forwarded-For is believed (CIDR ranges), e.g. the nginx in front.
    trusted_proxies: tuple[str, ...] = ()
    # TLS served by Bastion itself (PEM files); empty when plain HTTP or behind a proxy.
    tls_cert: str = ""
    tls_key: str = ""
    # The key-encryption key's file; empty: ``<data dir>/kek.key``, made on first run.
    kek_file: str = ""

    @property
    def resolved_kek_file(self) -> Path:
        return Path(self.kek_file) if self.kek_file else self.data_dir / "kek.key"

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


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer") from None


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
        "log_level": env.get("BASTION_LOG_LEVEL", "info"),
        "session_idle_s": _int(env, "BASTION_SESSION_IDLE_S", 8 * 3600),
        "session_absolute_s": _int(env, "BASTION_SESSION_ABSOLUTE_S", 7 * 24 * 3600),
        "visitor_token_ttl_s": _int(env, "BASTION_VISITOR_TOKEN_TTL_S", 30 * 24 * 3600),
        "ws_max_frame_bytes": _int(env, "BASTION_WS_MAX_FRAME_BYTES", 16 * 1024),
        "message_max_chars": _int(env, "BASTION_MESSAGE_MAX_CHARS", 4000),
        "agent_access_after_close_s": _int(env, "BASTION_AGENT_ACCESS_AFTER_CLOSE_S", 24 * 3600),
        "argon2_time_cost": _int(env, "BASTION_ARGON2_TIME_COST", 3),
        "argon2_memory_kib": _int(env, "BASTION_ARGON2_MEMORY_KIB", 65536),
        "sqlite_synchronous": env.get("BASTION_SQLITE_SYNCHRONOUS", "FULL").upper(),
        "trusted_proxies": tuple(
            p.strip() for p in env.get("BASTION_TRUSTED_PROXIES", "").split(",") if p.strip()
        ),
        "tls_cert": env.get("BASTION_TLS_CERT", ""),
        "tls_key": env.get("BASTION_TLS_KEY", ""),
        "kek_file": env.get("BASTION_KEK_FILE", ""),
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
    for proxy in s.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise SettingsError("BASTION_TRUSTED_PROXIES must be comma-separated CIDRs") from None
    if s.redis_url and urlsplit(s.redis_url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError("BASTION_REDIS_URL must start with redis://, rediss:// or unix://")
    if s.agent_max_chats < 1:
        raise SettingsError("BASTION_AGENT_MAX_CHATS must be 1 or more")
    if bool(s.tls_cert) != bool(s.tls_key):
        raise SettingsError("BASTION_TLS_CERT and BASTION_TLS_KEY go together: give both")
    if s.public_url and urlsplit(s.public_url).scheme not in ("http", "https"):
        raise SettingsError("BASTION_PUBLIC_URL must be an http(s) URL")

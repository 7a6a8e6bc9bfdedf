"""Settings: the only module that reads the environment.

Every PULSE_* variable is read and validated here, once. A bad value stops the program with one line
that names the variable. With nothing set, Pulse runs in the embedded mode: a SQLite file under
``var/``, jobs in-process, emails written to ``var/outbox/``.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pulse.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SQLITE_SCHEMES = {"sqlite"}
POSTGRES_SCHEMES = {"postgres", "postgresql", "asyncpg"}
REDIS_SCHEMES = {"redis", "rediss"}
SMTP_SCHEMES = {"smtp", "smtps"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    #: True for ``smtps://`` (TLS from the first byte); ``smtp://`` upgrades with STARTTLS when offered.
    implicit_tls: bool


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    smtp: SmtpSettings | None
    mail_from: str
    base_url: str
    secret_key: str
    var_dir: Path
    #: Leaders get the PDF attached to the report email instead of only a link.
    attach_report_pdf: bool = False
    log_level: str = "INFO"
    #: Largest request body the web app accepts, in bytes (CSV imports are the big ones).
    max_body_size: int = 20 * 1024 * 1024
    #: Serve cookies with the Secure flag; on by default when PULSE_BASE_URL is https.
    secure_cookies: bool = False
    #: Redis key of the arq queue; separate names let several deployments (or test runs) share a Redis.
    queue_name: str = "pulse:queue"
    #: Networks (CIDR strings) of the reverse proxies whose X-Forwarded-For/-Proto headers are believed.
    #: Empty: every client is the address that connected, whatever headers it sends.
    trusted_proxies: tuple[str, ...] = ()
    #: Processes in which `pulse worker` lays out report PDFs, several at once (0: in a thread of the worker).
    pdf_processes: int = 2
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.database_url).scheme in POSTGRES_SCHEMES

    @property
    def embedded(self) -> bool:
        """True when nothing external is configured (SQLite, in-process jobs, outbox)."""
        return not self.is_postgres and self.redis_url is None and self.smtp is None

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


#: Every variable the settings read; docker-compose.yml and the README are checked against it.
VARIABLES: dict[str, str] = {
    "PULSE_DATABASE_URL": "Tortoise database URL (sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB)",
    "PULSE_REDIS_URL": "Redis URL for the arq job queue; unset = jobs run in-process",
    "PULSE_SMTP_URL": "smtp://user:pass@host:port or smtps://…; unset = emails written to var/outbox/",
    "PULSE_MAIL_FROM": "From address of every email",
    "PULSE_BASE_URL": "Public base URL used in links in emails",
    "PULSE_SECRET_KEY": "Key for token hashes and session cookies; required outside the embedded mode",
    "PULSE_VAR_DIR": "Directory for the SQLite file, the outbox and the embedded secret key",
    "PULSE_ATTACH_REPORT_PDF": "1 = attach the PDF to leaders' report emails (default: link only)",
    "PULSE_LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR",
    "PULSE_MAX_BODY_SIZE": "Largest accepted request body in bytes",
    "PULSE_SECURE_COOKIES": "1 = Secure cookies (default: on when PULSE_BASE_URL is https)",
    "PULSE_QUEUE_NAME": "Redis key of the job queue (default pulse:queue)",
    "PULSE_TRUSTED_PROXIES": "IPs/CIDRs (comma-separated) of reverse proxies whose X-Forwarded-For is believed",
    "PULSE_PDF_PROCESSES": "Processes in which the worker renders report PDFs at once (default 2; 0 = a thread)",
}


def _bool(name: str, value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no)")


def _database_url(value: str | None, var_dir: Path) -> str:
    if not value:
        return f"sqlite://{(var_dir / 'pulse.sqlite3').resolve()}"
    parts = urlsplit(value)
    if parts.scheme in SQLITE_SCHEMES:
        if value in {"sqlite://:memory:", "sqlite://"}:
            return "sqlite://:memory:"
        return value
    if parts.scheme in POSTGRES_SCHEMES:
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigurationError(
                f"PULSE_DATABASE_URL={value!r} needs a host and a database name (postgres://user@host:5432/pulse)"
            )
        # Tortoise names its asyncpg backend "postgres"; accept the common spellings too.
        return "postgres" + value[len(parts.scheme) :]
    raise ConfigurationError(
        f"PULSE_DATABASE_URL has unknown scheme {parts.scheme!r} (use sqlite:// or postgres://): {value!r}"
    )


def _redis_url(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise ConfigurationError(f"PULSE_REDIS_URL={value!r} is not a redis:// or rediss:// URL with a host")
    return value


def parse_smtp_url(value: str | None) -> SmtpSettings | None:
    """Parse ``smtp://user:pass@host:port`` / ``smtps://…``; None when unset."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in SMTP_SCHEMES:
        raise ConfigurationError(f"PULSE_SMTP_URL has unknown scheme {parts.scheme!r} (use smtp:// or smtps://)")
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"PULSE_SMTP_URL has a port that is not a number: {value!r}") from None
    if not parts.hostname:
        raise ConfigurationError(f"PULSE_SMTP_URL={value!r} has no host (smtp://user:pass@host:port)")
    implicit_tls = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if implicit_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit_tls,
    )


def _base_url(value: str | None) -> str:
    url = (value or "http://127.0.0.1:8000").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(f"PULSE_BASE_URL={value!r} is not an http(s):// URL with a host")
    return url


def _embedded_secret(var_dir: Path) -> str:
    """The embedded mode keeps a generated key in var/ so links stay valid across restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def _int(name: str, value: str | None, default: int, minimum: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name}={value!r} is not a whole number") from None
    if number < minimum:
        raise ConfigurationError(f"{name}={value!r} must be at least {minimum}")
    return number


def _trusted_proxies(value: str | None) -> tuple[str, ...]:
    """PULSE_TRUSTED_PROXIES: addresses and networks, each checked (a typo must not silently trust nobody
    or, worse, be read as something else), as CIDR strings uvicorn's proxy-header middleware understands."""
    networks: list[str] = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"PULSE_TRUSTED_PROXIES has {item!r}, not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
            ) from None
        networks.append(str(network))
    return tuple(dict.fromkeys(networks))


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the PULSE_* variables of ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    var_dir = Path(env.get("PULSE_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    database_url = _database_url(env.get("PULSE_DATABASE_URL"), var_dir)
    redis_url = _redis_url(env.get("PULSE_REDIS_URL"))
    smtp = parse_smtp_url(env.get("PULSE_SMTP_URL"))
    base_url = _base_url(env.get("PULSE_BASE_URL"))
    mail_from = env.get("PULSE_MAIL_FROM") or "Pulse <pulse@localhost>"
    if "@" not in mail_from:
        raise ConfigurationError(f"PULSE_MAIL_FROM={mail_from!r} has no email address in it")
    log_level = (env.get("PULSE_LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigurationError(f"PULSE_LOG_LEVEL={log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    production = urlsplit(database_url).scheme in POSTGRES_SCHEMES or redis_url is not None or smtp is not None
    secret_key = env.get("PULSE_SECRET_KEY") or ""
    if not secret_key:
        if production:
            raise ConfigurationError(
                "PULSE_SECRET_KEY is required when PostgreSQL, Redis or SMTP is configured "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        secret_key = _embedded_secret(var_dir)
    elif len(secret_key) < 32:
        raise ConfigurationError("PULSE_SECRET_KEY is too short: use at least 32 characters")
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        smtp=smtp,
        mail_from=mail_from,
        base_url=base_url,
        secret_key=secret_key,
        var_dir=var_dir,
        attach_report_pdf=_bool("PULSE_ATTACH_REPORT_PDF", env.get("PULSE_ATTACH_REPORT_PDF"), False),
        log_level=log_level,
        max_body_size=_int("PULSE_MAX_BODY_SIZE", env.get("PULSE_MAX_BODY_SIZE"), 20 * 1024 * 1024, 1024),
        secure_cookies=_bool("PULSE_SECURE_COOKIES", env.get("PULSE_SECURE_COOKIES"), base_url.startswith("https://")),
        queue_name=env.get("PULSE_QUEUE_NAME") or "pulse:queue",
        trusted_proxies=_trusted_proxies(env.get("PULSE_TRUSTED_PROXIES")),
        pdf_processes=_int("PULSE_PDF_PROCESSES", env.get("PULSE_PDF_PROCESSES"), 2, 0),
        extra={k: v for k, v in env.items() if k.startswith("PULSE_") and k not in VARIABLES},
    )


_current: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, loaded from the environment on first use."""
    global _current
    if _current is None:
        _current = load()
    return _current


def configure(settings: Settings | None) -> None:
    """Replace the process-wide settings (tests, the CLI); None forgets them so the next use reloads."""
    global _current
    _current = settings

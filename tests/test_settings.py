from __future__ import annotations

import re
from pathlib import Path

import pytest

from pulse.errors import ConfigurationError
from pulse.settings import VARIABLES, SmtpSettings, load, parse_smtp_url

SECRET = "s" * 40


def test_with_nothing_set_pulse_runs_embedded_under_var_dir(tmp_path: Path) -> None:
    settings = load({"PULSE_VAR_DIR": str(tmp_path)})
    assert settings.embedded and not settings.is_postgres
    assert settings.database_url == f"sqlite://{tmp_path.resolve() / 'pulse.sqlite3'}"
    assert (settings.redis_url, settings.smtp) == (None, None)
    assert settings.outbox_dir == tmp_path.resolve() / "outbox"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.mail_from == "Pulse <pulse@localhost>"
    assert (settings.log_level, settings.max_body_size, settings.queue_name) == (
        "INFO",
        20 * 1024 * 1024,
        "pulse:queue",
    )
    assert (settings.attach_report_pdf, settings.secure_cookies) == (False, False)


def test_the_embedded_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load({"PULSE_VAR_DIR": str(tmp_path)})
    second = load({"PULSE_VAR_DIR": str(tmp_path)})
    assert len(first.secret_key) >= 32 and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_given_secret_key_is_used(tmp_path: Path) -> None:
    assert load({"PULSE_VAR_DIR": str(tmp_path), "PULSE_SECRET_KEY": SECRET}).secret_key == SECRET
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "asyncpg"])
def test_postgres_urls_are_normalised_for_tortoise(tmp_path: Path, scheme: str) -> None:
    settings = load(
        {
            "PULSE_VAR_DIR": str(tmp_path),
            "PULSE_DATABASE_URL": f"{scheme}://pulse:pw@db.internal:5432/pulse",
            "PULSE_SECRET_KEY": SECRET,
        }
    )
    assert settings.database_url == "postgres://pulse:pw@db.internal:5432/pulse"
    assert settings.is_postgres and not settings.embedded


def test_smtp_and_smtps_urls_are_parsed() -> None:
    assert parse_smtp_url("smtp://mailpit:1025") == SmtpSettings("mailpit", 1025, None, None, implicit_tls=False)
    assert parse_smtp_url("smtp://mail.example.org") == SmtpSettings("mail.example.org", 25, None, None, False)
    assert parse_smtp_url("smtps://us%40er:p%3Ass@mail.example.org") == SmtpSettings(
        "mail.example.org", 465, "us@er", "p:ss", implicit_tls=True
    )
    assert parse_smtp_url("smtps://u:p@mail.example.org:2465") == SmtpSettings("mail.example.org", 2465, "u", "p", True)
    assert parse_smtp_url(None) is None and parse_smtp_url("") is None


def test_https_base_url_turns_secure_cookies_on_and_trailing_slashes_go(tmp_path: Path) -> None:
    settings = load({"PULSE_VAR_DIR": str(tmp_path), "PULSE_BASE_URL": "https://pulse.example.org/"})
    assert settings.base_url == "https://pulse.example.org" and settings.secure_cookies


def test_booleans_and_numbers_are_read(tmp_path: Path) -> None:
    settings = load(
        {
            "PULSE_VAR_DIR": str(tmp_path),
            "PULSE_ATTACH_REPORT_PDF": "yes",
            "PULSE_SECURE_COOKIES": "off",
            "PULSE_MAX_BODY_SIZE": "4096",
            "PULSE_LOG_LEVEL": "debug",
            "PULSE_QUEUE_NAME": "acme:jobs",
            "PULSE_REDIS_URL": "redis://127.0.0.1:6379/2",
            "PULSE_SECRET_KEY": SECRET,
        }
    )
    assert (settings.attach_report_pdf, settings.secure_cookies, settings.max_body_size) == (True, False, 4096)
    assert (settings.log_level, settings.queue_name, settings.redis_url) == (
        "DEBUG",
        "acme:jobs",
        "redis://127.0.0.1:6379/2",
    )


BAD_VALUES = [
    ({"PULSE_DATABASE_URL": "mysql://db/pulse"}, "PULSE_DATABASE_URL", "unknown scheme 'mysql'"),
    ({"PULSE_DATABASE_URL": "postgres://db.internal"}, "PULSE_DATABASE_URL", "needs a host and a database name"),
    ({"PULSE_SMTP_URL": "http://mail:25"}, "PULSE_SMTP_URL", "unknown scheme 'http'"),
    ({"PULSE_SMTP_URL": "smtp://mail:twentyfive"}, "PULSE_SMTP_URL", "port that is not a number"),
    ({"PULSE_SMTP_URL": "smtp://:25"}, "PULSE_SMTP_URL", "has no host"),
    ({"PULSE_REDIS_URL": "localhost:6379"}, "PULSE_REDIS_URL", "not a redis://"),
    ({"PULSE_BASE_URL": "pulse.example.org"}, "PULSE_BASE_URL", "not an http(s)://"),
    ({"PULSE_BASE_URL": "ftp://pulse.example.org"}, "PULSE_BASE_URL", "not an http(s)://"),
    ({"PULSE_MAIL_FROM": "Pulse"}, "PULSE_MAIL_FROM", "no email address"),
    ({"PULSE_LOG_LEVEL": "LOUD"}, "PULSE_LOG_LEVEL", "'LOUD'"),
    ({"PULSE_ATTACH_REPORT_PDF": "maybe"}, "PULSE_ATTACH_REPORT_PDF", "is not a boolean"),
    ({"PULSE_SECURE_COOKIES": "2"}, "PULSE_SECURE_COOKIES", "is not a boolean"),
    ({"PULSE_MAX_BODY_SIZE": "20MB"}, "PULSE_MAX_BODY_SIZE", "is not a whole number"),
    ({"PULSE_MAX_BODY_SIZE": "10"}, "PULSE_MAX_BODY_SIZE", "must be at least 1024"),
    ({"PULSE_SECRET_KEY": "short"}, "PULSE_SECRET_KEY", "too short"),
]


@pytest.mark.parametrize(("env", "variable", "message"), BAD_VALUES, ids=[f"{v} {m}" for _, v, m in BAD_VALUES])
def test_every_bad_value_stops_with_one_line_naming_its_variable(
    tmp_path: Path, env: dict[str, str], variable: str, message: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        load({"PULSE_VAR_DIR": str(tmp_path), **env})
    text = str(error.value)
    assert variable in text and message in text and "\n" not in text


@pytest.mark.parametrize(
    "env",
    [
        {"PULSE_DATABASE_URL": "postgres://pulse@db.internal:5432/pulse"},
        {"PULSE_REDIS_URL": "redis://127.0.0.1:6379/0"},
        {"PULSE_SMTP_URL": "smtp://mail.example.org:587"},
    ],
    ids=["postgres", "redis", "smtp"],
)
def test_production_mode_requires_a_secret_key(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match=re.escape("PULSE_SECRET_KEY is required")):
        load({"PULSE_VAR_DIR": str(tmp_path), **env})
    assert not (tmp_path / "secret_key").exists()


def test_unknown_pulse_variables_are_kept_apart_from_the_known_ones(tmp_path: Path) -> None:
    settings = load({"PULSE_VAR_DIR": str(tmp_path), "PULSE_EXPERIMENT": "1", "HOME": "/root"})
    assert dict(settings.extra) == {"PULSE_EXPERIMENT": "1"}
    assert all(name.startswith("PULSE_") for name in VARIABLES)

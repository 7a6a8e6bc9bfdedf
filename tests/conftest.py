"""Shared fixtures: settings and fresh, migrated databases on SQLite and on the real PostgreSQL.

Each test gets its own database: a copy of a SQLite file, or a PostgreSQL database cloned from a
template that was migrated once per run. Database names carry a random run id, so two runs (or two
xdist workers) never collide.
"""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulse import db as pulse_db
from pulse.settings import Settings, configure, load

POSTGRES_ADMIN_DSN = os.environ.get("PULSE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("PULSE_TEST_REDIS", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:8]
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def postgres_url(name: str) -> str:
    return f"{POSTGRES_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


def make_settings(tmp: Path, database_url: str, **env: str) -> Settings:
    """Settings as the process would load them from PULSE_* variables."""
    return load(
        {
            "PULSE_VAR_DIR": str(tmp),
            "PULSE_DATABASE_URL": database_url,
            "PULSE_SECRET_KEY": SECRET,
            "PULSE_BASE_URL": "http://pulse.test",
            "PULSE_MAIL_FROM": "Pulse <pulse@pulse.test>",
            **env,
        }
    )


async def postgres_admin(sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the server's maintenance database."""
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sqlite-template")
    settings = make_settings(directory, f"sqlite://{directory / 'template.sqlite3'}")
    asyncio.run(pulse_db.upgrade(settings))
    return directory / "template.sqlite3"


@pytest.fixture(scope="session")
def postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"pulse_tpl_{RUN_ID}_{os.getpid()}"
    asyncio.run(postgres_admin(f'CREATE DATABASE "{name}"'))
    settings = make_settings(tmp_path_factory.mktemp("pg-template"), postgres_url(name))
    asyncio.run(pulse_db.upgrade(settings))
    yield name
    asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _fresh(request, tmp_path)


def _fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    backend = request.param
    if backend == "sqlite":
        target = tmp_path / "pulse.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite://{target}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"pulse_t_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    asyncio.run(postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield postgres_url(name)
    finally:
        asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Process-wide settings for this test: its own database, var/ dir and outbox; no Redis, no SMTP."""
    current = make_settings(tmp_path, database_url)
    configure(current)
    yield current
    configure(None)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Settings]:
    """The ORM connected to this test's fresh database (SQLite and PostgreSQL)."""
    context = await pulse_db.init_db(settings)
    try:
        yield settings
    finally:
        await pulse_db.close_db(context)


@pytest.fixture
def sqlite_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Like ``settings`` but SQLite only, for tests where the database engine does not matter."""
    target = tmp_path / "pulse.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), target)
    current = make_settings(tmp_path, f"sqlite://{target}")
    configure(current)
    yield current
    configure(None)


@pytest.fixture
async def sqlite_db(sqlite_settings: Settings) -> AsyncIterator[Settings]:
    context = await pulse_db.init_db(sqlite_settings)
    try:
        yield sqlite_settings
    finally:
        await pulse_db.close_db(context)


class SmtpCapture:
    """An aiosmtpd handler that keeps every message, and can refuse the next N with a 451."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse_next = 0
        self.url = ""
        self.port = 0

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
async def smtp_server() -> AsyncIterator[SmtpCapture]:
    """A real SMTP server (aiosmtpd) on a free loopback port, in the test's event loop."""
    from aiosmtpd.smtp import SMTP

    capture = SmtpCapture()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(capture, hostname="pulse.test"), "127.0.0.1", 0)
    capture.port = server.sockets[0].getsockname()[1]
    capture.url = f"smtp://127.0.0.1:{capture.port}"
    try:
        yield capture
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def redis_url() -> str:
    """The real Redis on this machine; tests isolate themselves with a unique PULSE_QUEUE_NAME."""
    return REDIS_TEST_URL


@pytest.fixture
def queue_name() -> str:
    return f"pulse:test:{RUN_ID}:{uuid.uuid4().hex[:8]}"

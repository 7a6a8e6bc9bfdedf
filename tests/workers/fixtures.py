"""Fixtures for tests that run the real worker: PostgreSQL, a private Redis, a real SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pulse import db as pulse_db
from pulse.settings import Settings, configure
from tests.conftest import SmtpCapture, make_settings
from tests.workers.harness import RedisServer


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def pg_worker_settings(
    tmp_path: Path, database_url: str, private_redis: RedisServer, smtp_server: SmtpCapture, queue_name: str
) -> AsyncIterator[Settings]:
    """Settings with PostgreSQL (use with ``POSTGRES_ONLY``), the private Redis and the SMTP server; ORM connected."""
    settings = make_settings(
        tmp_path,
        database_url,
        PULSE_REDIS_URL=private_redis.url,
        PULSE_SMTP_URL=smtp_server.url,
        PULSE_QUEUE_NAME=queue_name,
    )
    configure(settings)
    context = await pulse_db.init_db(settings)
    try:
        yield settings
    finally:
        await pulse_db.close_db(context)
        configure(None)


#: Put on a test (or as ``pytestmark``) so that ``database_url`` is the real PostgreSQL only.
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

"""Fixtures of the benchmarks (make bench): a fresh, empty database on each engine."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pulse.settings import Settings
from tests.conftest import make_settings, postgres_admin, postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
async def bench_settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings for an empty (not yet migrated) database on SQLite, then on the real PostgreSQL."""
    if request.param == "sqlite":
        yield make_settings(tmp_path, f"sqlite://{tmp_path / 'bench.sqlite3'}")
        return
    name = f"pulse_bench_{uuid.uuid4().hex[:10]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_settings(tmp_path, postgres_url(name))
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

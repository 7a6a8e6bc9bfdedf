"""Database configuration (shared with aerich), start-up, shutdown and migrations."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext

from pulse.settings import PROJECT_ROOT, Settings, get_settings

MODELS_MODULES = ["pulse.models", "aerich.models"]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config dict for ``database_url``; aerich reads the same through TORTOISE_ORM."""
    if database_url.startswith("sqlite://") and database_url != "sqlite://:memory:":
        Path(urlsplit(database_url).path).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": database_url},
        "apps": {"models": {"models": MODELS_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def __getattr__(name: str) -> Any:
    # aerich imports pulse.db.TORTOISE_ORM; computing it lazily keeps imports free of side effects.
    if name == "TORTOISE_ORM":
        return tortoise_config(get_settings().database_url)
    raise AttributeError(name)


def _forget_cached_queries() -> None:
    # Tortoise caches each model's INSERT/UPDATE SQL by (connection name, table), not by dialect: a
    # process that talks to SQLite and then PostgreSQL (the test suite, the migration maker) would
    # send SQLite SQL to PostgreSQL. A real deployment uses one database; clearing costs nothing.
    EXECUTOR_CACHE.clear()


async def init_db(settings: Settings | None = None) -> TortoiseContext:
    """Connect the ORM. The global fallback lets tasks that did not inherit the context (a Starlette
    lifespan, arq jobs) use it too."""
    settings = settings or get_settings()
    _forget_cached_queries()
    return await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)


async def close_db(context: TortoiseContext | None = None) -> None:
    if context is not None:
        await context.close_connections()
    else:
        await Tortoise.close_connections()


@asynccontextmanager
async def database(settings: Settings | None = None) -> AsyncIterator[TortoiseContext]:
    context = await init_db(settings)
    try:
        yield context
    finally:
        await close_db(context)


async def upgrade(settings: Settings | None = None) -> list[str]:
    """Apply every migration the database lacks; returns the names of those applied."""
    settings = settings or get_settings()
    # aerich leaves its closed ORM context in the calling task's context variables, where a second
    # upgrade in the same task would find it and fail: give every upgrade a context of its own.
    return await asyncio.get_running_loop().create_task(_upgrade(settings), context=contextvars.Context())


async def _upgrade(settings: Settings) -> list[str]:
    from aerich import Command

    _forget_cached_queries()
    command = Command(tortoise_config(settings.database_url), app="models", location=str(MIGRATIONS_DIR))
    await command.init()
    try:
        applied: list[str] = await command.upgrade(run_in_transaction=True)
    finally:
        await command.aclose()
    return applied

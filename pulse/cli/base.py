"""What every command shares: settings, the database around a coroutine, output helpers."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import click

from pulse.db import database
from pulse.settings import Settings, get_settings

P = ParamSpec("P")
T = TypeVar("T")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def with_database(fn: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """Run an async command body with the ORM connected, and always disconnect afterwards."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        settings = get_settings()

        async def run() -> T:
            async with database(settings):
                return await fn(*args, **kwargs)

        return asyncio.run(run())

    return wrapper


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))

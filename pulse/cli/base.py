"""What every command shares: settings, the database around a coroutine, output helpers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import click

from pulse.db import database
from pulse.errors import PulseError
from pulse.settings import Settings, get_settings
from workers.queue import ArqQueue, InProcessQueue, queue_for

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


@contextlib.asynccontextmanager
async def job_queue(settings: Settings | None = None) -> AsyncIterator[InProcessQueue | ArqQueue]:
    """The job queue for a command. Without Redis the jobs run here, and the command waits for them
    (and for the jobs they start) before it exits, so `pulse round open` has sent its emails when it
    returns. A job that failed for good makes the command fail."""
    settings = settings or get_settings()
    queue = await queue_for(settings)
    try:
        yield queue
        if isinstance(queue, InProcessQueue):
            await queue.drain()
            if queue.failures:
                name, error = queue.failures[0]
                raise PulseError(f"background job {name} failed: {error}")
    finally:
        await queue.close()


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))

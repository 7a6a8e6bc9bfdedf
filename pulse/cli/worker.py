"""``pulse worker``: the arq worker that runs jobs and the minute tick (needs PULSE_REDIS_URL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from dataclasses import replace
from typing import Any, cast

import click

from pulse import logs
from pulse.errors import ConfigurationError
from pulse.settings import Settings, get_settings

CHECK_TIMEOUT_SECONDS = 5.0
#: Pause between losing Redis and trying again (the new worker then waits up to a minute for it).
RECONNECT_SECONDS = 1.0

log = logging.getLogger("pulse.worker")


async def health(settings: Settings) -> str | None:
    """None when Redis and the database both answer; otherwise one line saying which does not."""
    from arq.connections import RedisSettings, create_pool

    from pulse.db import database

    if not settings.redis_url:
        return "PULSE_REDIS_URL is not set"
    try:
        once = replace(RedisSettings.from_dsn(settings.redis_url), conn_retries=0, conn_timeout=3)
        redis = await asyncio.wait_for(create_pool(once), CHECK_TIMEOUT_SECONDS)
        try:
            await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT_SECONDS)
        finally:
            await redis.aclose()
    except Exception as error:
        return f"Redis at {settings.redis_url} does not answer: {type(error).__name__}: {error}"
    try:
        async with database(settings):
            from tortoise import connections

            await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), CHECK_TIMEOUT_SECONDS)
    except Exception as error:
        kind = "PostgreSQL" if settings.is_postgres else "the database"
        return f"{kind} does not answer: {type(error).__name__}: {error}"
    return None


@click.command("worker")
@click.option("--check", is_flag=True, help="Exit 0 when Redis and the database answer, 1 otherwise (healthcheck).")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit (scripts, tests).")
def worker(check: bool, burst: bool) -> None:
    """Run background jobs and the minute tick. Start as many as you like on the same Redis."""
    settings = get_settings()
    if not settings.redis_url:
        raise ConfigurationError(
            "PULSE_REDIS_URL is not set: `pulse worker` needs Redis (without it, `pulse serve` runs the jobs)"
        )
    if check:
        problem = asyncio.run(health(settings))
        if problem is not None:
            click.echo(f"pulse worker: unhealthy: {problem}", err=True)
            sys.exit(1)
        click.echo("pulse worker: Redis and the database answer")
        return
    logs.setup(settings)
    run_until_stopped(settings, burst=burst)


def run_until_stopped(settings: Settings, *, burst: bool = False) -> None:
    """Run arq's worker; when Redis goes away under it, start a new one as soon as Redis answers.

    arq's worker stops with an error when its Redis connection breaks. Jobs and their state live in
    the database and in Redis, not in the worker, so starting over is safe: a job that was running is
    taken up again by arq once its lock expires, and the tick catches up on whatever is due.
    """
    import redis.exceptions
    from arq.worker import create_worker

    from workers.settings import WorkerSettings, redis_settings, shutdown

    # arq's Worker takes the current event loop when it is built; give it a fresh one.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    while True:
        arq_worker = create_worker(
            cast(Any, WorkerSettings),
            redis_settings=redis_settings(),
            queue_name=settings.queue_name,
            health_check_key=f"{settings.queue_name}:health-check",
            burst=burst,
            ctx={"settings": settings},
        )
        try:
            arq_worker.run()
            return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as error:
            log.error(
                "lost Redis: starting again when it answers",
                extra={"reason": f"{type(error).__name__}: {error}", "retry_in": RECONNECT_SECONDS},
            )
        # arq could not finish its own shutdown without Redis: close what it left open.
        loop.run_until_complete(shutdown(arq_worker.ctx))
        with contextlib.suppress(Exception):
            loop.run_until_complete(arq_worker.pool.aclose())
        time.sleep(RECONNECT_SECONDS)


COMMANDS = [worker]

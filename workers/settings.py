"""arq's WorkerSettings for ``pulse worker``: every job function, the cron ticks, start-up/shutdown."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Function

from pulse.db import close_db, init_db
from pulse.mail import mailer_for
from pulse.settings import get_settings

log = logging.getLogger("pulse.worker")


def all_functions() -> list[Function]:
    from workers import invitations, reports, ticks

    return [*invitations.FUNCTIONS, *reports.FUNCTIONS, *ticks.FUNCTIONS]


def all_cron_jobs() -> list[CronJob]:
    from workers import ticks

    return [job for job in ticks.CRON_JOBS if isinstance(job, CronJob)]


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    ctx["settings"] = settings
    # on_shutdown runs in another task: keep the ORM context here to close exactly that one.
    ctx["tortoise"] = await init_db(settings)
    ctx["mailer"] = mailer_for(settings)
    # Jobs that enqueue follow-up jobs use the worker's own Redis pool.
    from workers.queue import ArqQueue

    ctx["queue"] = ArqQueue(ctx["redis"])
    log.info("worker started", extra={"database": settings.database_url.split("://")[0]})


async def shutdown(ctx: dict[str, Any]) -> None:
    await close_db(ctx.get("tortoise"))


def redis_settings() -> RedisSettings:
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("PULSE_REDIS_URL is not set: without Redis, jobs run inside `pulse serve`")
    return RedisSettings.from_dsn(url)


class WorkerSettings:
    """Read by arq when the worker starts (``pulse worker``, which also passes redis_settings and
    queue_name from the Pulse settings)."""

    functions: ClassVar[list[Function]] = all_functions()
    cron_jobs: ClassVar[list[CronJob]] = all_cron_jobs()
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 20
    job_timeout = 600
    keep_result = 3600
    # Jobs are retried only when they raise Retry; give every job a sensible ceiling.
    max_tries = 8

"""arq's WorkerSettings for ``pulse worker``: every job function, the cron ticks, start-up/shutdown."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Function

from pulse.db import close_db, init_db
from pulse.errors import ConfigurationError
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
    settings = ctx.get("settings") or get_settings()
    ctx["settings"] = settings
    if not ctx.get("database_connected"):  # tests that run a worker next to their own ORM set it
        # on_shutdown runs in another task: keep the ORM context here to close exactly that one.
        ctx["tortoise"] = await init_db(settings)
    ctx.setdefault("mailer", mailer_for(settings))
    # Report PDFs are laid out in processes of their own, several at once (started on the first render).
    from pulse import pdf

    pdf.start_processes(settings.pdf_processes)
    # Jobs that enqueue follow-up jobs use the worker's own Redis pool (and so the worker's queue name).
    from workers.queue import ArqQueue

    ctx["queue"] = ArqQueue(ctx["redis"])
    log.info(
        "worker started",
        extra={"database": settings.database_url.split("://")[0], "queue": ctx["redis"].default_queue_name},
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    from pulse import pdf

    await asyncio.to_thread(pdf.stop_processes)  # waits for the renders under way
    # pop: `pulse worker` calls this again when arq could not (Redis gone); close only once.
    context = ctx.pop("tortoise", None)
    if context is not None:
        await close_db(context)
        log.info("worker stopped")


def redis_settings() -> RedisSettings:
    url = get_settings().redis_url
    if not url:
        raise ConfigurationError("PULSE_REDIS_URL is not set: without Redis, jobs run inside `pulse serve`")
    # Retry the connection for about a minute at start-up: compose may start us before Redis answers.
    return replace(RedisSettings.from_dsn(url), conn_retries=30, conn_retry_delay=2)


class WorkerSettings:
    """Read by arq when the worker starts (``pulse worker``, which also passes redis_settings and
    queue_name from the Pulse settings)."""

    functions: ClassVar[list[Function]] = all_functions()
    cron_jobs: ClassVar[list[CronJob]] = all_cron_jobs()
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 20
    #: A job running longer is cancelled and retried. It also bounds how long a job of a worker that
    #: died (kill -9, lost machine) waits before another worker takes it: job_timeout + 10 s.
    job_timeout = 600
    #: Results are not kept (nobody reads them): a finished job's id is free at once, so the tick can
    #: queue ``invite:ID`` again for late joiners or ``report:ID`` after a failure without waiting
    #: for a kept result to expire. Ids still keep a job from being queued twice while it waits or runs.
    keep_result = 0
    # Jobs are retried only when they raise Retry; give every job a sensible ceiling.
    max_tries = 8
    #: The health key (`<queue>:health-check`) is refreshed this often while the worker lives.
    health_check_interval = 30

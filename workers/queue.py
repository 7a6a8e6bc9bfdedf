"""One way to run background work in both runtime modes.

With PULSE_REDIS_URL set, ``enqueue`` hands the job to arq and a ``pulse worker`` process runs it.
Without it (the embedded default) the very same job function runs in this process, with the same
retry semantics: a job that raises ``arq.Retry`` is run again after its ``defer`` until its
``max_tries`` is reached.

Job ids make enqueueing idempotent: a job id that is queued, running, or (with arq) whose result is
still kept, is not enqueued again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from arq import ArqRedis, Retry, create_pool
from arq.connections import RedisSettings
from arq.worker import Function

from pulse.settings import Settings

log = logging.getLogger("pulse.jobs")

JobCallable = Callable[..., Awaitable[Any]]


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_by: float = 0) -> bool:
        """Queue job ``name``; False when a job with ``job_id`` is already known."""
        ...

    async def close(self) -> None: ...


def registry() -> dict[str, Function]:
    """Every job function, by name (imported lazily: the web app only needs the names)."""
    from workers.settings import all_functions

    return {function.name: function for function in all_functions()}


class InProcessQueue:
    """Runs jobs as asyncio tasks of this process; ``drain()`` waits until all are done."""

    def __init__(self, settings: Settings, context: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.context = context if context is not None else {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._known_ids: set[str] = set()
        self.failures: list[tuple[str, BaseException]] = []

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_by: float = 0) -> bool:
        functions = registry()
        if name not in functions:
            raise KeyError(f"no job named {name!r}")
        if job_id is not None:
            if job_id in self._known_ids:
                return False
            self._known_ids.add(job_id)
        task = asyncio.get_running_loop().create_task(self._run(functions[name], args, job_id, defer_by))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, function: Function, args: tuple[Any, ...], job_id: str | None, defer_by: float) -> None:
        if defer_by:
            await asyncio.sleep(defer_by)
        max_tries = function.max_tries or 5
        try:
            for attempt in range(1, max_tries + 1):
                ctx = {
                    **self.context,
                    "job_try": attempt,
                    "job_id": job_id or f"inproc-{id(args)}",
                    "settings": self.settings,
                    "queue": self,
                }
                started = time.monotonic()
                try:
                    await function.coroutine(ctx, *args)
                    return
                except Retry as retry:
                    if attempt == max_tries:
                        raise
                    delay = retry.defer_score / 1000 if retry.defer_score else 0.0
                    log.warning("job %s try %d: retry in %.1fs", function.name, attempt, delay)
                    await asyncio.sleep(delay)
                finally:
                    log.debug("job %s try %d took %.3fs", function.name, attempt, time.monotonic() - started)
        except Exception as error:  # recorded, logged, and surfaced by drain(): never lost silently
            log.exception("job %s failed", function.name)
            self.failures.append((function.name, error))
        finally:
            if job_id is not None:
                # Finished jobs may be queued again later (arq forgets finished ids too).
                self._known_ids.discard(job_id)

    async def drain(self) -> None:
        """Wait for every queued job, including jobs that jobs enqueue."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()


def arq_job_id(queue_name: str, job_id: str) -> str:
    """The id arq knows a Pulse job by (its Redis keys are ``arq:job:<id>``, ``arq:in-progress:<id>``…).

    arq keys jobs and kept results by job id alone, across queues: without the queue name in it,
    "invite:1" of one deployment (or of another test database) would block "invite:1" of another
    sharing the Redis for as long as the result is kept.
    """
    return f"{queue_name}:{job_id}"


class ArqQueue:
    """Enqueues to Redis for ``pulse worker`` processes."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, redis_url: str, queue_name: str) -> ArqQueue:
        return cls(await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=queue_name))

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_by: float = 0) -> bool:
        scoped = None if job_id is None else arq_job_id(self.pool.default_queue_name, job_id)
        job = await self.pool.enqueue_job(name, *args, _job_id=scoped, _defer_by=defer_by or None)
        return job is not None

    async def close(self) -> None:
        await self.pool.aclose()


async def queue_for(settings: Settings, context: dict[str, Any] | None = None) -> InProcessQueue | ArqQueue:
    """arq when PULSE_REDIS_URL is set, else in-process."""
    if settings.redis_url:
        return await ArqQueue.connect(settings.redis_url, settings.queue_name)
    from pulse.mail import mailer_for

    return InProcessQueue(settings, {"mailer": mailer_for(settings), **(context or {})})

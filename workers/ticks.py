"""Jobs: the tick. arq's cron enqueues ``tick`` at second 0 of every minute; ``unique`` makes one run
per minute however many workers there are (and the tick is idempotent if two ever ran)."""

from __future__ import annotations

from typing import Any

from arq.cron import cron
from arq.worker import Function, func

from pulse.services import cadence
from workers.jobs import job


@job
async def tick(ctx: dict[str, Any]) -> dict[str, Any]:
    """Open due rounds, queue due reminders, close due rounds and queue their reports, recover sends."""
    result = await cadence.tick(ctx["queue"])
    return result.as_json()


#: The arq functions of this module (name, coroutine, retries); registered in workers.settings.
FUNCTIONS: list[Function] = [func(tick, name="tick", max_tries=3, timeout=300)]
CRON_JOBS: list[object] = [
    # A transient failure is retried within the minute (5 s, 10 s); past that, the next minute redoes it.
    cron(tick, name="tick_cron", second=0, unique=True, run_at_startup=True, timeout=300, max_tries=3),
]

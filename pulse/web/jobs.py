"""Background work the pages and the API start: always through the app's job queue, with job ids.

The queue is created by the app's lifespan and reaches handlers as ``request.state.queue`` (arq with
Redis, in-process otherwise). Job ids make a double click or a retried API call harmless.
"""

from __future__ import annotations

from typing import cast

from starlette.requests import Request

from pulse.models import Round
from pulse.services import rounds
from workers.queue import JobQueue


def queue_of(request: Request) -> JobQueue:
    queue = getattr(request.state, "queue", None)
    if queue is None:
        raise RuntimeError("the app was started without its lifespan: no job queue")
    return cast(JobQueue, queue)


async def after_open(request: Request, round_id: int) -> bool:
    """Send a new round's invitations."""
    return await queue_of(request).enqueue("send_invitations", round_id, job_id=f"invite:{round_id}")


async def remind(request: Request, found: Round) -> bool:
    """Remind people who have not answered; False when reminders for the round are already queued.
    Refused for a closed round, whose links no longer work."""
    rounds.check_remindable(found)
    return await queue_of(request).enqueue("send_reminders", found.id, job_id=f"remind:{found.id}")


async def after_close(request: Request, round_id: int) -> bool:
    """Build (and email) a closed round's report."""
    return await queue_of(request).enqueue("build_report", round_id, job_id=f"report:{round_id}")

"""Jobs: invitations. Thin: each job parses its ids, calls a service, logs what it did.

Job ids used by callers: ``invite:<round id>`` and ``remind:<round id>``. A transient mail failure
raises ``arq.Retry`` with exponential backoff; the service has marked every message it sent, so the
retry continues exactly where the failure happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry
from arq.worker import Function, func

from pulse.mail import MailDeliveryError, Mailer, mailer_for
from pulse.services import invitations
from pulse.services.invitations import SendResult
from pulse.settings import Settings

log = logging.getLogger("pulse.jobs.invitations")

BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 15 * 60.0
MAX_TRIES = 12


def backoff(job_try: int) -> float:
    """Seconds before try ``job_try + 1``: 10 s, 20 s, 40 s… capped at 15 minutes."""
    return float(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, job_try - 1)))


Service = Callable[[int, Settings, Mailer], Awaitable[SendResult]]


async def _run(ctx: dict[str, Any], name: str, service: Service, round_id: Any) -> dict[str, object]:
    round_number = int(round_id)
    settings: Settings = ctx["settings"]
    mailer: Mailer = ctx.get("mailer") or mailer_for(settings)
    job_try = int(ctx.get("job_try", 1))
    started = time.monotonic()
    try:
        result = await service(round_number, settings, mailer)
    except MailDeliveryError as error:
        if not error.transient:
            raise
        delay = backoff(job_try)
        log.warning(
            "%s round=%d try=%d outcome=retry in=%.0fs duration=%.2fs error=%s",
            name, round_number, job_try, delay, time.monotonic() - started, error,
        )  # fmt: skip
        raise Retry(defer=delay) from error
    outcome = f"skipped ({result.skipped})" if result.skipped else "done"
    log.info(
        "%s round=%d try=%d outcome=%s sent=%d failed=%d duration=%.2fs",
        name, round_number, job_try, outcome, result.sent, result.failed, time.monotonic() - started,
    )  # fmt: skip
    return result.as_dict()


async def send_invitations(ctx: dict[str, Any], round_id: int) -> dict[str, object]:
    """Email the round's unsent invitations (job id ``invite:<round id>``)."""
    return await _run(ctx, "send_invitations", invitations.send_invitations, round_id)


async def send_reminders(ctx: dict[str, Any], round_id: int) -> dict[str, object]:
    """Remind the round's unanswered invitations, once (job id ``remind:<round id>``)."""
    return await _run(ctx, "send_reminders", invitations.send_reminders, round_id)


#: The arq functions of this module (name, coroutine, retries); registered in workers.settings.
FUNCTIONS: list[Function] = [
    func(send_invitations, name="send_invitations", max_tries=MAX_TRIES),
    func(send_reminders, name="send_reminders", max_tries=MAX_TRIES),
]

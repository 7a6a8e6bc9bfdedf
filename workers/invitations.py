"""Jobs: invitations. Thin: each job parses its ids, calls a service, and returns what it did.

Job ids used by callers: ``invite:<round id>`` and ``remind:<round id>``. ``workers.jobs.job`` logs
one structured line per try (round id, sent/failed counts, seconds, outcome) and turns a transient
mail failure into ``arq.Retry`` with exponential backoff; the service has marked every message it
sent, so the retry continues exactly where the failure happened.
"""

from __future__ import annotations

from typing import Any

from arq.worker import Function, func

from pulse.mail import Mailer, mailer_for
from pulse.services import invitations
from pulse.settings import Settings
from workers.jobs import job

MAX_TRIES = 12


def _mailer(ctx: dict[str, Any]) -> Mailer:
    settings: Settings = ctx["settings"]
    mailer: Mailer = ctx.get("mailer") or mailer_for(settings)
    return mailer


@job
async def send_invitations(ctx: dict[str, Any], round_id: int) -> dict[str, object]:
    """Email the round's unsent invitations (job id ``invite:<round id>``)."""
    result = await invitations.send_invitations(int(round_id), ctx["settings"], _mailer(ctx))
    return result.as_dict()


@job
async def send_reminders(ctx: dict[str, Any], round_id: int) -> dict[str, object]:
    """Remind the round's unanswered invitations, once (job id ``remind:<round id>``)."""
    result = await invitations.send_reminders(int(round_id), ctx["settings"], _mailer(ctx))
    return result.as_dict()


#: The arq functions of this module (name, coroutine, retries); registered in workers.settings.
FUNCTIONS: list[Function] = [
    func(send_invitations, name="send_invitations", max_tries=MAX_TRIES),
    func(send_reminders, name="send_reminders", max_tries=MAX_TRIES),
]

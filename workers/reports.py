"""Jobs: reports. Thin: each job parses its ids, calls a service, logs what it did."""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry
from arq.worker import Function, func

from pulse.errors import NotFound
from pulse.mail import mailer_for
from pulse.services import reports
from pulse.services.release import RoundStillOpen
from workers.jobs import backoff, job

log = logging.getLogger("pulse.jobs.reports")

BUILD_MAX_TRIES = 5
EMAIL_MAX_TRIES = 8


@job
async def build_report(ctx: dict[str, Any], round_id: int) -> str:
    """Build and store the report of a round, then queue the leaders' emails (job id report-mail:ID)."""
    settings = ctx["settings"]
    try:
        report = await reports.build_report(int(round_id), settings)
    except NotFound:
        log.warning("report of round %s not built: the round does not exist", round_id)
        return "missing"
    except RoundStillOpen as refused:
        log.warning("report of round %s not built: %s", round_id, refused)
        return "open"
    except Exception as error:
        # The failure is recorded on the report (status failed, error); try again later.
        if int(ctx.get("job_try", 1)) >= BUILD_MAX_TRIES:
            raise
        raise Retry(defer=backoff(ctx)) from error
    await ctx["queue"].enqueue("email_report", int(round_id), job_id=f"report-mail:{round_id}")
    return f"ready ({len(report.pdf or b'')} bytes)"


@job
async def email_report(ctx: dict[str, Any], round_id: int) -> int:
    """Queue one ``email_leaders`` job per group of leaders still to email (a scope in a language), so
    their PDFs are made at once by several jobs and a slow one holds up nobody else's email. Returns
    how many groups were queued; a group already queued or running is not queued twice (its job id),
    and a repeated run finds every emailed leader stamped."""
    groups = await reports.leader_groups(int(round_id))
    for group in groups:
        await ctx["queue"].enqueue(
            "email_leaders",
            int(round_id),
            None if group.unit_ids is None else list(group.unit_ids),
            group.language,
            job_id=f"report-mail:{round_id}:{group.key}",
        )
    return len(groups)


@job
async def email_leaders(ctx: dict[str, Any], round_id: int, unit_ids: list[int] | None, language: str) -> int:
    """Email the report of one scope in one language to its leaders, each exactly once (a transient mail
    failure, or a render process that died, is retried by ``@job``; the deliveries already stamped are
    skipped on the retry)."""
    group = reports.LeaderGroup(None if unit_ids is None else tuple(int(i) for i in unit_ids), str(language))
    mailer = ctx.get("mailer") or mailer_for(ctx["settings"])
    return await reports.email_group(int(round_id), group, ctx["settings"], mailer)


#: The arq functions of this module (name, coroutine, retries); registered in workers.settings.
FUNCTIONS: list[Function] = [
    func(build_report, name="build_report", max_tries=BUILD_MAX_TRIES),
    func(email_report, name="email_report", max_tries=EMAIL_MAX_TRIES),
    func(email_leaders, name="email_leaders", max_tries=EMAIL_MAX_TRIES),
]

"""A worker process is killed (SIGKILL) in the middle of sending or of building a report; another one
finishes the work.

The guarantee, exactly: each invitation is marked sent right after the SMTP server accepted it, and a
run sends over ``pulse.services.invitations.CONCURRENCY`` SMTP sessions at once, each with at most one
message in flight. So a worker killed mid-batch leaves at most that many accepted-but-unmarked
messages, and the next worker sends every unmarked invitation: nobody is left out, and at most
CONCURRENCY people (per killed worker) get the invitation twice — never a third time. A report is
built again from the database (stored once); each leader's email has one delivery row, stamped after
sending, so the same rule holds for report emails.

arq keeps a dead worker's job locked for job_timeout + 10 s before another worker takes it; the test
lets that lock run out at once (PEXPIRE) instead of waiting ten minutes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pulse.models import Invitation, Report, ReportDelivery, ReportStatus
from pulse.services import rounds
from pulse.services.invitations import CONCURRENCY
from pulse.settings import Settings, configure, parse_smtp_url
from tests.workers.fixtures import POSTGRES_ONLY
from tests.workers.harness import (
    SlowSmtp,
    enqueue,
    expire_in_progress,
    log_lines,
    logged,
    organisation,
    recipients,
    start_smtp,
    start_worker_process,
    stop_process,
    wait_for,
)

pytestmark = [POSTGRES_ONLY, pytest.mark.redis, pytest.mark.slow]

PEOPLE = 24


async def test_a_worker_killed_mid_batch_leaves_the_rest_to_the_next_without_duplicates(
    pg_worker_settings: Settings, tmp_path: Path
) -> None:
    slow = SlowSmtp(delay=0.1)
    server = await start_smtp(slow)
    settings = pg_worker_settings.with_overrides(smtp=parse_smtp_url(slow.url))
    configure(settings)
    organization = await organisation(PEOPLE)
    opened = await rounds.open_round(organization)
    invited = PEOPLE + 1
    assert await enqueue(settings, "send_invitations", opened.id, job_id=f"invite:{opened.id}")
    first = start_worker_process(settings, tmp_path / "first.log")
    second = None
    try:
        await wait_for(lambda: _received_at_least(slow, 6), timeout=30)
        stop_process(first, kill=True)  # kill -9, in the middle of the batch
        assert first.returncode == -9
        await asyncio.sleep(0.3)  # the message in flight, if any, reaches the server
        sent_by_first = len(slow.messages)
        assert 6 <= sent_by_first < invited
        assert await expire_in_progress(settings, f"invite:{opened.id}")
        second = start_worker_process(settings, tmp_path / "second.log")
        await wait_for(lambda: _all_sent(opened.id), timeout=30)
        await wait_for(lambda: logged(tmp_path / "second.log", "job done", job="send_invitations"), timeout=10)
    finally:
        stop_process(first, kill=True)
        if second is not None:
            stop_process(second)
        server.close()
        await server.wait_closed()

    counts = recipients(slow.messages)
    everyone = {f"person{index}@acme.test" for index in range(PEOPLE)} | {"leader@acme.test"}
    assert set(counts) == everyone  # nobody left out
    twice = [address for address, count in counts.items() if count > 1]
    assert len(twice) <= CONCURRENCY and max(counts.values()) <= 2  # at most the messages in flight
    assert len(slow.messages) == invited + len(twice)
    # The second worker logged the job it finished, as one JSON line with its outcome.
    done = [line for line in log_lines(tmp_path / "second.log") if line.get("job") == "send_invitations"]
    assert done and done[-1]["outcome"] == "ok" and done[-1]["round_id"] == opened.id and done[-1]["try"] == 2


async def test_a_worker_killed_while_building_a_report_leaves_it_to_the_next(
    pg_worker_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_worker_settings
    organization = await organisation(6)
    opened = await rounds.open_round(organization)
    await Invitation.filter(round_id=opened.id).update(sent_at=opened.opened_at)
    await rounds.close_round(opened.id)
    assert await enqueue(settings, "build_report", opened.id, job_id=f"report:{opened.id}")
    first = start_worker_process(settings, tmp_path / "first.log")
    second = None
    try:
        await wait_for(lambda: _report_is(opened.id, ReportStatus.BUILDING), timeout=30, interval=0.01)
        stop_process(first, kill=True)
        assert first.returncode == -9
        assert (await Report.get(round_id=opened.id)).status == ReportStatus.BUILDING  # killed mid-build
        assert await expire_in_progress(settings, f"report:{opened.id}")
        second = start_worker_process(settings, tmp_path / "second.log")
        await wait_for(lambda: _delivered(opened.id), timeout=30)
    finally:
        stop_process(first, kill=True)
        if second is not None:
            stop_process(second)

    report = await Report.get(round_id=opened.id)
    assert report.status == ReportStatus.READY and report.pdf and report.attempts == 2
    assert await ReportDelivery.filter(report_id=report.id).count() == 1


async def _received_at_least(smtp: SlowSmtp, count: int) -> bool:
    return len(smtp.messages) >= count


async def _all_sent(round_id: int) -> bool:
    return not await Invitation.filter(round_id=round_id, sent_at__isnull=True).exists()


async def _report_is(round_id: int, status: ReportStatus) -> bool:
    report = await Report.get_or_none(round_id=round_id)
    return report is not None and report.status == status


async def _delivered(round_id: int) -> bool:
    return await ReportDelivery.filter(report__round_id=round_id, sent_at__isnull=False).exists()

"""PostgreSQL drops the worker's connections (what a restart does to them): the worker reconnects and
carries on, and a job that failed on a dropped connection is retried, not lost.

The shared PostgreSQL server cannot be restarted under the other tests, so the test terminates every
backend of its own database (``pg_terminate_backend``), which is what clients see of a restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
import pytest
from arq.worker import func
from tortoise import connections

from pulse import clock
from pulse.models import Invitation, Organization, Round, Schedule
from pulse.services import schedules
from pulse.services.invitations import CONCURRENCY
from pulse.settings import Settings, configure, parse_smtp_url
from tests.conftest import POSTGRES_ADMIN_DSN
from tests.workers.fixtures import POSTGRES_ONLY
from tests.workers.harness import (
    ARQ_CLOSE_WARNING,
    SlowSmtp,
    enqueue,
    log_lines,
    logged,
    organisation,
    recipients,
    start_smtp,
    start_worker_process,
    stop_process,
    wait_for,
    worker,
)
from workers.jobs import job
from workers.settings import WorkerSettings

pytestmark = [POSTGRES_ONLY, pytest.mark.redis, pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)]


async def terminate_backends(settings: Settings) -> int:
    """Drop every connection to this test's database (not the one running this query)."""
    name = urlsplit(settings.database_url).path.lstrip("/")
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    return len(rows)


async def test_a_job_whose_connection_is_dropped_is_retried_on_a_new_one(
    pg_worker_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[int] = []

    @job
    async def count_organisations(ctx: dict[str, Any]) -> int:
        tries.append(int(ctx["job_try"]))
        connection = connections.get("default")
        if len(tries) == 1:
            # The server drops this very connection in the middle of the job.
            await connection.execute_query("SELECT pg_terminate_backend(pg_backend_pid())")
        return await Organization.all().count()

    await organisation(2)
    assert await enqueue(pg_worker_settings, "count_organisations", job_id="count")
    caplog.set_level(logging.INFO, logger="pulse.jobs")
    arq_worker = worker(pg_worker_settings)
    arq_worker.functions["count_organisations"] = func(count_organisations, name="count_organisations")
    try:
        await arq_worker.async_run()
    finally:
        await arq_worker.close()
    assert tries == [1, 2]
    assert arq_worker.jobs_failed == 0 and arq_worker.jobs_retried == 1
    ours = [r for r in caplog.records if getattr(r, "job", None) == "count_organisations"]
    outcomes = [(getattr(r, "try", None), getattr(r, "outcome", None)) for r in ours]
    assert outcomes == [(1, "retry"), (2, "ok")]
    assert "terminating connection" in str(getattr(ours[0], "reason", ""))
    assert WorkerSettings.functions  # the real job list is untouched


async def test_the_worker_carries_on_after_its_database_connections_are_dropped(
    pg_worker_settings: Settings, tmp_path: Path
) -> None:
    await organisation(30)
    # A daily schedule whose occurrence of today (00:00 local, real clock) is due and still open.
    yesterday = schedules.to_local(clock.now(), schedules.zone("Europe/Paris")).date() - timedelta(days=1)
    schedule = await schedules.add_schedule(
        "acme", "FREQ=DAILY;BYHOUR=0;BYMINUTE=0", start=f"{yesterday}T00:00", open_days=1
    )
    cadence = schedules.Cadence.of(schedule, "Europe/Paris")
    due = cadence.latest_at_or_before(clock.now())
    assert due is not None and cadence.closes_at(due) > clock.now() + timedelta(minutes=5)
    await Schedule.filter(id=schedule.id).update(next_run_at=due)

    slow = SlowSmtp(delay=0.08)
    server = await start_smtp(slow)
    process = None
    try:
        settings = pg_worker_settings.with_overrides(smtp=parse_smtp_url(slow.url))
        configure(settings)
        process = start_worker_process(settings, tmp_path / "worker.log")
        await wait_for(lambda: logged(tmp_path / "worker.log", "worker started"), timeout=30)
        await asyncio.sleep(0.5)  # its start-up tick has run: idle connections in its pool
        assert await terminate_backends(settings) >= 1  # "PostgreSQL restarted"
        assert await enqueue(settings, "tick", job_id="tick:after-restart")
        await wait_for(lambda: _received_at_least(slow, 8), timeout=30)
        opened = await Round.get(schedule_id=schedule.id)
        assert await terminate_backends(settings) >= 1  # and again, in the middle of sending
        await asyncio.sleep(0.3)  # this test's own pooled connections were dropped too: let it notice
        await wait_for(lambda: _all_sent(opened.id), timeout=30)
        await wait_for(lambda: logged(tmp_path / "worker.log", "job done", job="send_invitations"), timeout=10)
        assert process.poll() is None  # the same worker process carried on
    finally:
        if process is not None:
            stop_process(process)
        server.close()
        await server.wait_closed()

    counts = recipients(slow.messages)
    assert len(counts) == 31  # everyone invited
    lines = log_lines(tmp_path / "worker.log")
    assert any(line.get("job") == "tick" and line.get("outcome") == "ok" for line in lines)
    sends = [line for line in lines if line.get("job") == "send_invitations"]
    assert sends and sends[-1]["outcome"] == "ok"
    # A try that failed on a dropped connection may have had messages accepted but not yet marked sent
    # (at most one per SMTP session): the retry sends those again, and nothing else.
    retried = [line for line in sends if line["outcome"] == "retry"]
    assert len(retried) <= 3
    assert sum(counts.values()) - len(counts) <= CONCURRENCY * len(retried)
    assert max(counts.values()) <= 1 + len(retried)
    # A job hit by a drop was retried (outcome "retry"), none failed for good.
    assert not [line for line in lines if line.get("outcome") == "failed"]


async def _received_at_least(smtp: SlowSmtp, count: int) -> bool:
    return len(smtp.messages) >= count


async def _all_sent(round_id: int) -> bool:
    return not await Invitation.filter(round_id=round_id, sent_at__isnull=True).exists()

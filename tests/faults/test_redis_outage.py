"""Redis goes down: people still answer (answers never go through Redis), nothing ticks meanwhile,
and when Redis comes back (empty: it kept nothing) the tick catches up from the database."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from pulse import clock
from pulse.models import Invitation, Report, ReportStatus, Response, Round, RoundStatus, Schedule
from pulse.services import schedules
from pulse.settings import Settings
from pulse.web.app import create_app
from tests.conftest import SmtpCapture
from tests.workers.fixtures import POSTGRES_ONLY
from tests.workers.harness import (
    ARQ_CLOSE_WARNING,
    RedisServer,
    enqueue,
    logged,
    organisation,
    recipients,
    run_burst,
    start_worker_process,
    stop_process,
    survey_links,
    wait_for,
)

pytestmark = [POSTGRES_ONLY, pytest.mark.redis, pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)]

PARIS = ZoneInfo("Europe/Paris")


def paris(*parts: int) -> datetime:
    return schedules.to_utc(datetime(*parts), PARIS)  # type: ignore[arg-type]


async def test_answers_work_without_redis_and_the_tick_catches_up_when_it_returns(
    pg_worker_settings: Settings,
    private_redis: RedisServer,
    smtp_server: SmtpCapture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = pg_worker_settings
    now = [datetime(2026, 3, 1, 12, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    await organisation(6)
    await schedules.add_schedule(
        "acme", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", start="2026-03-02T00:00", open_days=5, remind_after_days=None
    )
    # Monday 2 March, 9:00: the first round opens normally.
    now[0] = paris(2026, 3, 2, 9, 0) + timedelta(seconds=30)
    assert await enqueue(settings, "tick", job_id="tick:1")
    await run_burst(settings)
    first = await Round.get(number=1)
    links = survey_links(smtp_server.messages)
    assert len(links) == 7

    private_redis.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", private_redis.port), timeout=1).close()  # really down

    # People answer while Redis is down: the survey POST goes to the database only.
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pulse.test") as client:
        for link in list(links.values())[:3]:
            form = {key: "4" for key in first.item_keys}
            answered = await client.post(link.removeprefix("http://pulse.test"), data=form)
            assert answered.status_code == 303, answered.text
            assert answered.headers["location"] == "/s/thanks"
    assert await Response.filter(round_id=first.id).count() == 3
    assert await Invitation.filter(round_id=first.id, answered=True).count() == 3

    # Nothing ticks while Redis is down: the round's close (Saturday 9:00) and Monday 9 March pass.
    now[0] = paris(2026, 3, 10, 14, 0)
    private_redis.start()  # back, and empty: the queue, job ids and results are gone
    sent_before = len(smtp_server.messages)
    assert await enqueue(settings, "tick", job_id="tick:3")
    worker = await run_burst(settings)
    assert worker.jobs_failed == 0

    closed = await Round.get(id=first.id)
    assert closed.status == RoundStatus.CLOSED
    assert (await Report.get(round_id=first.id)).status == ReportStatus.READY
    second = await Round.get(number=2)
    assert second.occurrence_at == paris(2026, 3, 9, 9, 0)  # the missed occurrence, opened late
    assert second.closes_at == paris(2026, 3, 14, 9, 0)  # and closing when it was planned to
    after = smtp_server.messages[sent_before:]
    invitations = [m for m in after if "report" not in str(m["Subject"])]
    reports = [m for m in after if "report" in str(m["Subject"])]
    assert set(recipients(invitations).values()) == {1} and len(invitations) == 7
    assert recipients(reports) == {"leader@acme.test": 1}


async def test_a_running_worker_outlives_a_redis_restart_and_catches_up(
    pg_worker_settings: Settings, private_redis: RedisServer, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    settings = pg_worker_settings
    await organisation(4)
    # A daily schedule whose occurrence of today (00:00 local, real clock) is due and still open.
    yesterday = schedules.to_local(clock.now(), PARIS).date() - timedelta(days=1)
    schedule = await schedules.add_schedule(
        "acme", "FREQ=DAILY;BYHOUR=0;BYMINUTE=0", start=f"{yesterday}T00:00", open_days=1
    )
    log_file = tmp_path / "worker.log"
    process = start_worker_process(settings, log_file)
    try:
        await wait_for(lambda: logged(log_file, "worker started"), timeout=30)
        private_redis.stop()
        await wait_for(lambda: logged(log_file, "lost Redis: starting again when it answers"), timeout=30)
        # The occurrence becomes due while Redis is down.
        due = schedules.Cadence.of(schedule, "Europe/Paris").latest_at_or_before(clock.now())
        await Schedule.filter(id=schedule.id).update(next_run_at=due)
        private_redis.start()
        await wait_for(lambda: logged(log_file, "worker started", times=2), timeout=30)  # started again
        assert await enqueue(settings, "tick", job_id="tick:redis-back")
        await wait_for(lambda: _invited(4 + 1), timeout=30)
        assert process.poll() is None  # the same process all along
    finally:
        stop_process(process)
    opened = await Round.get(schedule_id=schedule.id)
    assert opened.occurrence_at == due
    assert set(recipients(smtp_server.messages).values()) == {1}


async def _invited(count: int) -> bool:
    return await Invitation.filter(sent_at__isnull=False).count() >= count

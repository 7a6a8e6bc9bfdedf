"""Redis goes down: people still answer (answers never go through Redis), nothing ticks meanwhile,
and when Redis comes back (empty: it kept nothing) the tick catches up from the database."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from pulse import clock
from pulse.models import Invitation, Report, ReportStatus, Response, Round, RoundStatus
from pulse.services import schedules
from pulse.settings import Settings
from pulse.web.app import create_app
from tests.conftest import SmtpCapture
from tests.workers.fixtures import POSTGRES_ONLY
from tests.workers.harness import (
    ARQ_CLOSE_WARNING,
    RedisServer,
    enqueue,
    organisation,
    recipients,
    run_burst,
    survey_links,
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

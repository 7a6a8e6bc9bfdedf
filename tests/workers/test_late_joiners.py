"""Someone who joins after a round opened is invited by the next tick, through the real worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse import clock
from pulse.models import Department, Organization, Person, Round
from pulse.services import schedules
from pulse.settings import Settings
from tests.conftest import SmtpCapture
from tests.workers.fixtures import POSTGRES_ONLY
from tests.workers.harness import ARQ_CLOSE_WARNING, enqueue, organisation, recipients, run_burst

pytestmark = [POSTGRES_ONLY, pytest.mark.redis, pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)]


async def test_a_late_joiner_gets_the_open_round_at_the_next_tick(
    pg_worker_settings: Settings, smtp_server: SmtpCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = pg_worker_settings
    now = [datetime(2026, 3, 1, 12, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    organization: Organization = await organisation(3)
    await schedules.add_schedule("acme", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", start="2026-03-02T00:00", open_days=5)
    now[0] = datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC)
    assert await enqueue(settings, "tick", job_id="tick:open")
    await run_burst(settings)
    assert len(smtp_server.messages) == 4
    # The next day HR adds someone to Sales.
    now[0] += timedelta(days=1)
    sales = await Department.get(organization_id=organization.id, name="Sales")
    await Person.create(organization=organization, email="newcomer@acme.test", name="New", department=sales)
    now[0] += timedelta(minutes=1)
    assert await enqueue(settings, "tick", job_id="tick:next")
    await run_burst(settings)
    counts = recipients(smtp_server.messages)
    assert counts["newcomer@acme.test"] == 1 and set(counts.values()) == {1} and len(counts) == 5
    assert await Round.all().count() == 1

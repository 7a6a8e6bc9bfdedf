from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulse import clock
from pulse.models import (
    Department,
    Invitation,
    Organization,
    Person,
    Report,
    ReportStatus,
    Response,
    Round,
    RoundStatus,
    Schedule,
)
from pulse.services import cadence, schedules
from pulse.services import rounds as rounds_service
from pulse.services.organizations import create_organization

BIWEEKLY = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9"


class RecordingQueue:
    """Records what the tick enqueues; like arq, a job id already queued is not queued again."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_by: float = 0) -> bool:
        if job_id is not None and any(known == job_id for _, _, known in self.jobs):
            return False
        self.jobs.append((name, args, job_id))
        return True

    def ids(self) -> list[str | None]:
        return [job_id for _, _, job_id in self.jobs]


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    now = [datetime(2026, 3, 1, 12, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    return now


async def _org(people: int = 6) -> Organization:
    organization = await create_organization("acme", "Acme", timezone="Europe/Paris")
    sales = await Department.create(organization=organization, name="Sales")
    for index in range(people):
        await Person.create(organization=organization, email=f"p{index}@acme.test", name=f"P{index}", department=sales)
    return organization


async def _schedule(**kwargs: Any) -> Schedule:
    arguments: dict[str, Any] = {"start": "2026-03-02T00:00", "open_days": 7, "remind_after_days": 3, **kwargs}
    return await schedules.add_schedule("acme", BIWEEKLY, **arguments)


async def test_a_due_schedule_opens_one_round_queues_its_invitations_and_moves_on(
    db: object, moment: list[datetime]
) -> None:
    await _org()
    schedule = await _schedule()
    queue = RecordingQueue()
    assert (await cadence.tick(queue)).idle
    moment[0] = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)  # 09:00:30 in Paris
    result = await cadence.tick(queue)
    opened = await Round.get(schedule_id=schedule.id)
    assert result.opened == [opened.id]
    assert queue.jobs == [("send_invitations", (opened.id,), f"invite:{opened.id}")]
    assert opened.occurrence_at == datetime(2026, 3, 2, 8, tzinfo=UTC)
    # The round follows the local wall clock: closes Monday 9 March 9:00, reminds Thursday 5 March 9:00.
    assert opened.closes_at == datetime(2026, 3, 9, 8, tzinfo=UTC)
    assert opened.remind_at == datetime(2026, 3, 5, 8, tzinfo=UTC)
    assert await Invitation.filter(round_id=opened.id).count() == 6
    assert (await Schedule.get(id=schedule.id)).next_run_at == datetime(2026, 3, 16, 8, tzinfo=UTC)
    again = await cadence.tick(queue)
    assert again.opened == [] and await Round.all().count() == 1


async def test_two_ticks_at_once_open_the_occurrence_once(db: object, moment: list[datetime]) -> None:
    await _org()
    schedule = await _schedule()
    moment[0] = datetime(2026, 3, 2, 8, 1, tzinfo=UTC)
    first, second = RecordingQueue(), RecordingQueue()
    results = await asyncio.gather(cadence.tick(first), cadence.tick(second), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    rounds = await Round.filter(schedule_id=schedule.id)
    assert len(rounds) == 1
    # Whichever tick lost the race still made sure the invitations are queued (same job id).
    assert {f"invite:{rounds[0].id}"} == set(first.ids() + second.ids()) - {None}
    assert (await Schedule.get(id=schedule.id)).next_run_at == datetime(2026, 3, 16, 8, tzinfo=UTC)


async def test_after_downtime_only_the_latest_missed_occurrence_opens(db: object, moment: list[datetime]) -> None:
    await _org()
    schedule = await schedules.add_schedule("acme", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", start="2026-03-02T00:00")
    # Down from Sunday 1 March to Wednesday 18 March: 2, 9 and 16 March were missed.
    moment[0] = datetime(2026, 3, 18, 10, tzinfo=UTC)
    result = await cadence.tick(RecordingQueue())
    opened = await Round.all()
    assert [r.occurrence_at for r in opened] == [datetime(2026, 3, 16, 8, tzinfo=UTC)]
    assert result.opened == [opened[0].id]
    # It keeps its planned close time (Monday 23 March 9:00), it does not get a full week from now.
    assert opened[0].closes_at == datetime(2026, 3, 23, 8, tzinfo=UTC)
    assert (await Schedule.get(id=schedule.id)).next_run_at == datetime(2026, 3, 23, 8, tzinfo=UTC)


async def test_a_missed_occurrence_whose_round_would_have_closed_is_skipped(db: object, moment: list[datetime]) -> None:
    await _org()
    schedule = await _schedule(open_days=2, remind_after_days=None)
    moment[0] = datetime(2026, 3, 5, tzinfo=UTC)  # the round of 2 March would have closed on 4 March
    result = await cadence.tick(RecordingQueue())
    assert result.missed == [(schedule.id, datetime(2026, 3, 2, 8, tzinfo=UTC))]
    assert await Round.all().count() == 0
    assert (await Schedule.get(id=schedule.id)).next_run_at == datetime(2026, 3, 16, 8, tzinfo=UTC)


async def test_a_paused_schedule_opens_nothing(db: object, moment: list[datetime]) -> None:
    await _org()
    schedule = await _schedule()
    await schedules.pause_schedule(schedule.id)
    moment[0] = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert (await cadence.tick(RecordingQueue())).idle
    assert await Round.all().count() == 0


async def test_an_occurrence_with_nobody_to_invite_is_logged_and_skipped(
    db: object, moment: list[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    await _org(people=0)
    schedule = await _schedule()
    moment[0] = datetime(2026, 3, 2, 9, tzinfo=UTC)
    await cadence.tick(RecordingQueue())
    assert await Round.all().count() == 0
    assert "nobody to invite" in caplog.text
    assert (await Schedule.get(id=schedule.id)).next_run_at == datetime(2026, 3, 16, 8, tzinfo=UTC)


async def test_reminders_then_closing_then_the_report_are_queued_when_due(db: object, moment: list[datetime]) -> None:
    await _org()
    await _schedule()
    queue = RecordingQueue()
    moment[0] = datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC)
    await cadence.tick(queue)
    opened = await Round.get()
    await Invitation.filter(round_id=opened.id).update(sent_at=moment[0])
    moment[0] = datetime(2026, 3, 5, 7, 59, tzinfo=UTC)
    assert (await cadence.tick(queue)).reminders_queued == []
    moment[0] = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    assert (await cadence.tick(queue)).reminders_queued == [opened.id]
    assert queue.jobs[-1] == ("send_reminders", (opened.id,), f"remind:{opened.id}")
    await Round.filter(id=opened.id).update(reminded_at=moment[0])
    moment[0] = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    result = await cadence.tick(queue)
    assert result.closed == [opened.id] and result.reports_queued == [opened.id]
    closed = await Round.get(id=opened.id)
    assert closed.status == RoundStatus.CLOSED and closed.shuffled_at is not None
    assert queue.jobs[-1] == ("build_report", (opened.id,), f"report:{opened.id}")


async def test_a_closed_round_without_a_finished_report_gets_its_report_queued(
    db: object, moment: list[datetime]
) -> None:
    await _org()
    await _schedule()
    moment[0] = datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC)
    await cadence.tick(RecordingQueue())
    opened = await Round.get()
    moment[0] = datetime(2026, 3, 10, tzinfo=UTC)
    await cadence.tick(RecordingQueue())  # closes it; pretend this process died before the report ran
    queue = RecordingQueue()
    assert (await cadence.tick(queue)).reports_queued == [opened.id]
    await Report.create(round_id=opened.id, status=ReportStatus.READY)
    assert (await cadence.tick(RecordingQueue())).reports_queued == []


async def test_unsent_invitations_and_late_joiners_are_picked_up(db: object, moment: list[datetime]) -> None:
    organization = await _org()
    await _schedule()
    moment[0] = datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC)
    await cadence.tick(RecordingQueue())
    opened = await Round.get()
    await Invitation.filter(round_id=opened.id).update(sent_at=moment[0])
    moment[0] += timedelta(minutes=1)
    assert (await cadence.tick(RecordingQueue())).idle
    department = await Department.get(name="Sales")
    late = await Person.create(organization=organization, email="new@acme.test", name="New", department=department)
    queue = RecordingQueue()
    result = await cadence.tick(queue)
    assert result.late_joiners == 1 and result.invitations_queued == [opened.id]
    assert await Invitation.filter(round_id=opened.id, person_id=late.id, sent_at__isnull=True).count() == 1
    assert queue.ids() == [f"invite:{opened.id}"]


async def test_a_round_opened_before_a_crash_is_finished_by_the_next_tick(db: object, moment: list[datetime]) -> None:
    organization = await _org()
    schedule = await schedules.add_schedule("acme", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", start="2026-03-23T00:00")
    occurrence = datetime(2026, 3, 23, 8, tzinfo=UTC)  # Monday 9:00 winter time
    moment[0] = occurrence + timedelta(seconds=3)
    # The process died right after the rounds service opened it: 7 × 24 h, queued nothing, schedule not moved.
    crashed = await rounds_service.open_round(organization, schedule=schedule, occurrence_at=occurrence)
    assert crashed.closes_at == moment[0] + timedelta(days=7)
    queue = RecordingQueue()
    result = await cadence.tick(queue)
    assert result.opened == [] and await Round.all().count() == 1
    assert queue.ids() == [f"invite:{crashed.id}"]
    # Monday 30 March 9:00 local is 07:00 UTC (summer time), not 08:00:03.
    assert (await Round.get(id=crashed.id)).closes_at == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert (await Schedule.get(id=schedule.id)).next_run_at == datetime(2026, 3, 30, 7, tzinfo=UTC)


async def test_open_rounds_with_answers_are_shuffled_hourly_so_a_backup_keeps_little_answer_order(
    db: object, moment: list[datetime]
) -> None:
    organization = await _org()
    opened = await rounds_service.open_round(organization, closes_in_days=7)
    assert (await cadence.tick(RecordingQueue())).shuffled == []  # no answers yet: nothing to hide
    sales = await Department.get(name="Sales")
    for score in (20.0, 40.0, 60.0):
        await Response.create(round_id=opened.id, department=sales, score_fear=score)
    before = set(await Response.filter(round_id=opened.id).values_list("id", flat=True))

    result = await cadence.tick(RecordingQueue())

    assert result.shuffled == [opened.id]
    after = await Response.filter(round_id=opened.id).values_list("id", "score_fear")
    assert not before & {row[0] for row in after}  # every response got a fresh random id
    assert sorted(row[1] for row in after) == [20.0, 40.0, 60.0]  # and kept its answers
    assert (await Round.get(id=opened.id)).shuffled_at == moment[0]

    moment[0] += timedelta(minutes=59)
    assert (await cadence.tick(RecordingQueue())).shuffled == []
    moment[0] += timedelta(minutes=2)
    assert (await cadence.tick(RecordingQueue())).shuffled == [opened.id]

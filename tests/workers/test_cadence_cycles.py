"""The real worker (arq, WorkerSettings) against PostgreSQL, Redis and SMTP runs a two-weekly pulse
by itself, with the clock controlled, through the change to summer time in Paris (29 March 2026)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pulse import clock
from pulse.models import Invitation, Report, ReportDelivery, ReportStatus, Round, RoundStatus, Schedule
from pulse.services import schedules
from pulse.settings import Settings
from tests.conftest import SmtpCapture
from tests.workers.fixtures import POSTGRES_ONLY
from tests.workers.harness import ARQ_CLOSE_WARNING, enqueue, organisation, run_burst

pytestmark = [POSTGRES_ONLY, pytest.mark.redis, pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)]

PARIS = ZoneInfo("Europe/Paris")
PEOPLE = 6
INVITED = PEOPLE + 1  # the leader is surveyed too


def local(*parts: int) -> datetime:
    return schedules.to_utc(datetime(*parts), PARIS)  # type: ignore[arg-type]


def at(day: datetime, days_later: int, hour: int, minute: int) -> datetime:
    """UTC instant of ``hour:minute`` Paris time, ``days_later`` days after ``day``."""
    return schedules.to_utc((day + timedelta(days=days_later)).replace(hour=hour, minute=minute), PARIS)


def subjects(smtp: SmtpCapture, start: int) -> Counter[tuple[str, str]]:
    """(kind, recipient) of the messages received since index ``start``."""
    found: Counter[tuple[str, str]] = Counter()
    for message in smtp.messages[start:]:
        subject = str(message["Subject"])
        kind = "reminder" if subject.startswith("Reminder") else "report" if "report" in subject else "invitation"
        found[(kind, str(message["To"]).split("<")[-1].rstrip(">"))] += 1
    return found


async def test_a_two_weekly_schedule_runs_itself_for_three_cycles_across_the_change_to_summer_time(
    pg_worker_settings: Settings,
    smtp_server: SmtpCapture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = pg_worker_settings
    now = [datetime(2026, 2, 27, 12, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    await organisation(PEOPLE)
    schedule = await schedules.add_schedule(
        "acme",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9",
        start="2026-03-02T00:00",
        open_days=5,
        remind_after_days=2,
    )
    step = 0

    async def tick_at(moment: datetime) -> None:
        nonlocal step
        step += 1
        now[0] = moment
        assert await enqueue(settings, "tick", job_id=f"tick:{step}")
        worker = await run_burst(settings)
        assert worker.jobs_failed == 0

    caplog.set_level(logging.INFO, logger="pulse.jobs")
    mondays = [datetime(2026, 3, 2), datetime(2026, 3, 16), datetime(2026, 3, 30)]
    for cycle, monday in enumerate(mondays, start=1):
        d = monday
        # A minute before 9:00 local nothing happens.
        seen = len(smtp_server.messages)
        await tick_at(at(d, 0, 8, 59))
        assert await Round.filter(schedule_id=schedule.id).count() == cycle - 1
        assert len(smtp_server.messages) == seen

        # 9:00 local: the round opens and everybody is invited, once.
        await tick_at(at(d, 0, 9, 0) + timedelta(seconds=20))
        opened = await Round.get(schedule_id=schedule.id, number=cycle)
        assert opened.occurrence_at is not None
        assert opened.occurrence_at.astimezone(PARIS).replace(tzinfo=None) == d.replace(hour=9)
        received = subjects(smtp_server, seen)
        assert set(received.values()) == {1} and len(received) == INVITED
        assert {kind for kind, _ in received} == {"invitation"}

        # Two of them answer (the answer service marks invitations answered; here directly).
        answered = await Invitation.filter(round_id=opened.id).order_by("id").limit(2).values_list("id", flat=True)
        await Invitation.filter(id__in=list(answered)).update(answered=True)

        # Wednesday 9:00 local: one reminder to each of the others, not before.
        seen = len(smtp_server.messages)
        await tick_at(at(d, 2, 8, 59))
        assert len(smtp_server.messages) == seen
        await tick_at(at(d, 2, 9, 0))
        reminders = subjects(smtp_server, seen)
        assert set(reminders) == {("reminder", email) for email in await _unanswered(opened.id)}
        assert len(reminders) == INVITED - 2 and set(reminders.values()) == {1}

        # Saturday 9:00 local: closed, report built and emailed to the leader, once.
        seen = len(smtp_server.messages)
        await tick_at(at(d, 5, 8, 59))
        assert (await Round.get(id=opened.id)).status == RoundStatus.OPEN
        await tick_at(at(d, 5, 9, 0))
        closed = await Round.get(id=opened.id)
        assert closed.status == RoundStatus.CLOSED and closed.closed_at == now[0]
        report = await Report.get(round_id=opened.id)
        assert report.status == ReportStatus.READY and report.pdf
        assert await ReportDelivery.filter(report_id=report.id, sent_at__isnull=False).count() == 1
        assert subjects(smtp_server, seen) == Counter({("report", "leader@acme.test"): 1})

    rounds = await Round.filter(schedule_id=schedule.id).order_by("number")
    shown = "%a %d %b %H:%M"
    local_times = [
        (f"{r.opened_at.astimezone(PARIS):{shown}}", f"{r.closes_at.astimezone(PARIS):{shown}}") for r in rounds
    ]
    assert local_times == [
        ("Mon 02 Mar 09:00", "Sat 07 Mar 09:00"),
        ("Mon 16 Mar 09:00", "Sat 21 Mar 09:00"),
        ("Mon 30 Mar 09:00", "Sat 04 Apr 09:00"),  # summer time since Sunday 29 March
    ]
    assert [r.opened_at.astimezone(UTC).hour for r in rounds] == [8, 8, 7]
    assert (await Schedule.get(id=schedule.id)).next_run_at == local(2026, 4, 13, 9, 0)
    # Every tick left one structured log line saying what it did and how long it took.
    ticks = [r for r in caplog.records if getattr(r, "job", None) == "tick" and r.getMessage() == "job done"]
    assert len(ticks) >= step and all(getattr(r, "outcome", None) == "ok" for r in ticks)
    assert all(isinstance(getattr(r, "seconds", None), float) for r in ticks)


async def _unanswered(round_id: int) -> set[str]:
    invitations = await Invitation.filter(round_id=round_id, answered=False).select_related("person")
    return {invitation.person.email for invitation in invitations if invitation.person is not None}

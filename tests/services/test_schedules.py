from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from pulse import clock
from pulse.errors import InvalidInput, NotFound
from pulse.models import AuditEvent, Department, Schedule
from pulse.services import schedules
from pulse.services.organizations import create_organization
from pulse.services.schedules import Cadence, preview, to_local, to_utc

PARIS = ZoneInfo("Europe/Paris")
BIWEEKLY = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9"


def biweekly(**kwargs: object) -> Cadence:
    return Cadence.build(BIWEEKLY, timezone="Europe/Paris", start=datetime(2026, 3, 2), **kwargs)  # type: ignore[arg-type]


def test_a_two_weekly_rule_keeps_nine_local_across_the_spring_change() -> None:
    occurrences = biweekly().after(datetime(2026, 3, 1, tzinfo=UTC), count=4)
    assert [to_local(o, PARIS) for o in occurrences] == [
        datetime(2026, 3, 2, 9),
        datetime(2026, 3, 16, 9),
        datetime(2026, 3, 30, 9),
        datetime(2026, 4, 13, 9),
    ]
    # Winter time is UTC+1, summer time (from 29 March 2026) UTC+2.
    assert [o.hour for o in occurrences] == [8, 8, 7, 7]


def test_a_two_weekly_rule_keeps_nine_local_across_the_autumn_change() -> None:
    cadence = Cadence.build(BIWEEKLY, timezone="Europe/Paris", start=datetime(2026, 10, 19))
    occurrences = cadence.after(datetime(2026, 10, 1, tzinfo=UTC), count=2)
    assert occurrences == [datetime(2026, 10, 19, 7, tzinfo=UTC), datetime(2026, 11, 2, 8, tzinfo=UTC)]


def test_a_round_closes_and_reminds_on_the_local_wall_clock_across_a_change() -> None:
    cadence = biweekly(open_days=7, remind_after_days=3)
    occurrence = datetime(2026, 3, 23, 8, tzinfo=UTC)  # Monday 9:00 winter time
    # Closes Monday 30 March 9:00 summer time = 07:00 UTC, not 08:00 UTC (7 × 24 h later).
    assert cadence.closes_at(occurrence) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert cadence.remind_at(occurrence) == datetime(2026, 3, 26, 8, tzinfo=UTC)


def test_a_local_time_in_the_spring_gap_is_shifted_forward() -> None:
    assert to_utc(datetime(2026, 3, 29, 2, 30), PARIS) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert to_local(to_utc(datetime(2026, 3, 29, 2, 30), PARIS), PARIS) == datetime(2026, 3, 29, 3, 30)
    daily = Cadence.build("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", timezone="Europe/Paris", start=datetime(2026, 3, 28))
    local = [to_local(o, PARIS) for o in daily.after(datetime(2026, 3, 27, tzinfo=UTC), count=3)]
    assert local == [datetime(2026, 3, 28, 2, 30), datetime(2026, 3, 29, 3, 30), datetime(2026, 3, 30, 2, 30)]


def test_a_repeated_autumn_time_means_its_first_instance() -> None:
    # 02:30 happens twice on 25 October 2026: first at UTC+2 (00:30 UTC), then at UTC+1.
    assert to_utc(datetime(2026, 10, 25, 2, 30), PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_the_latest_missed_occurrence_is_found() -> None:
    cadence = biweekly()
    assert cadence.latest_at_or_before(datetime(2026, 4, 1, tzinfo=UTC)) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert cadence.latest_at_or_before(datetime(2026, 3, 30, 7, tzinfo=UTC)) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert cadence.latest_at_or_before(datetime(2026, 3, 1, tzinfo=UTC)) is None


def test_a_utc_until_becomes_the_local_time_it_denotes() -> None:
    cadence = Cadence.build(
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;UNTIL=20260316T080000Z", timezone="Europe/Paris", start=datetime(2026, 3, 2)
    )
    assert "UNTIL=20260316T090000" in cadence.rule
    assert len(cadence.after(datetime(2026, 3, 1, tzinfo=UTC), count=10)) == 3


def test_preview_lists_local_and_utc_times_with_close_and_reminder() -> None:
    shown = preview(biweekly(open_days=5, remind_after_days=2), count=2, after=datetime(2026, 3, 20, tzinfo=UTC))
    assert [o.as_json() for o in shown] == [
        {
            "local": "2026-03-30T09:00:00",
            "utc": "2026-03-30T07:00:00+00:00",
            "closes_local": "2026-04-04T09:00:00",
            "remind_local": "2026-04-01T09:00:00",
        },
        {
            "local": "2026-04-13T09:00:00",
            "utc": "2026-04-13T07:00:00+00:00",
            "closes_local": "2026-04-18T09:00:00",
            "remind_local": "2026-04-15T09:00:00",
        },
    ]


@pytest.mark.parametrize(
    ("rule", "kwargs", "message"),
    [
        ("FREQ=HOURLY", {}, "FREQ=HOURLY is not supported"),
        ("FREQ=MINUTELY;INTERVAL=30", {}, "FREQ=MINUTELY is not supported"),
        ("FREQ=WEEKLY;BYDAY=XX", {}, "invalid RRULE 'FREQ=WEEKLY;BYDAY=XX': invalid 'BYDAY': XX"),
        ("FREQ=DAILY;BYHOUR=25", {}, "hour must be in 0..23"),
        ("BYDAY=MO", {}, "FREQ is missing"),
        ("FREQ=WEEKLY;FOO=1", {}, "unknown part 'FOO'"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270101T000000", {}, "COUNT and UNTIL"),
        ("DTSTART:20260302T090000\nRRULE:FREQ=WEEKLY", {}, "one RRULE line"),
        ("", {}, "the RRULE is empty"),
        (BIWEEKLY, {"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        (BIWEEKLY, {"open_days": 0}, "open days must be between 1 and 90 (got 0)"),
        (BIWEEKLY, {"open_days": 7, "remind_after_days": 7}, "a reminder after 7 days comes when the round has closed"),
        (BIWEEKLY, {"remind_after_days": 0}, "remind-after-days must be at least 1"),
    ],
)
def test_bad_cadences_are_refused_with_a_message_that_says_what_is_wrong(
    rule: str, kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"timezone": "Europe/Paris", "start": datetime(2026, 3, 2), **kwargs}
    with pytest.raises(InvalidInput) as raised:
        Cadence.build(rule, **arguments)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_the_default_start_is_today_at_nine_local() -> None:
    start = schedules.parse_start(None, PARIS, datetime(2026, 7, 1, 23, 30, tzinfo=UTC))
    assert start == datetime(2026, 7, 2, 9, 0)  # already 2 July in Paris
    with pytest.raises(InvalidInput, match="has a UTC offset"):
        schedules.parse_start("2026-03-02T09:00+01:00", PARIS)
    with pytest.raises(InvalidInput, match="not a local date/time"):
        schedules.parse_start("next monday", PARIS)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    moment = [datetime(2026, 3, 1, 12, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: moment[0])
    return moment


async def _org() -> None:
    """Acme with Sales (10 people: a round may be scoped to it, twice k = 5) and Support (3: too few)."""
    from pulse.services.people import import_people

    organization = await create_organization("acme", "Acme", timezone="Europe/Paris")
    await import_people(organization, _people_csv(Sales=10, Support=3))


def _people_csv(**sizes: int) -> bytes:
    lines = ["email,name,department"]
    lines += [f"{d.lower()}{i}@acme.test,{d} {i},{d}" for d, size in sizes.items() for i in range(size)]
    return ("\n".join(lines) + "\n").encode()


async def test_a_schedule_is_stored_with_its_next_run_in_utc(db: object, frozen: list[datetime]) -> None:
    await _org()
    schedule = await schedules.add_schedule(
        "acme", BIWEEKLY, start="2026-03-02T00:00", open_days=5, remind_after_days=2, departments=["Sales"]
    )
    stored = await Schedule.get(id=schedule.id)
    assert stored.next_run_at == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert (stored.rrule, stored.dtstart, stored.departments) == (BIWEEKLY, "2026-03-02T00:00:00", ["Sales"])
    assert await AuditEvent.filter(action="schedule.add").count() == 1
    listed = [schedules.schedule_json(s, "Europe/Paris") for s in await schedules.list_schedules("acme")]
    assert listed[0]["next_run_local"] == "2026-03-02T09:00:00"


@pytest.mark.parametrize(
    ("rule", "kwargs", "message"),
    [
        ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", {"open_days": 8}, "rounds would overlap: the round opened 2026-03-02 09:00"),
        ("FREQ=DAILY;BYHOUR=9,17", {"open_days": 1}, "rounds would overlap"),
        (BIWEEKLY, {"departments": ["Sales", "Marketing"]}, "unknown department in 'acme': 'Marketing'"),
        (
            BIWEEKLY,
            {"departments": ["Support"]},
            "scope 'Support' has 3 people to invite: a round for part of the organisation needs at least 10",
        ),
        ("FREQ=WEEKLY;COUNT=1", {"start": "2026-02-01T09:00"}, "has no occurrence after now"),
        ("FREQ=SECONDLY", {}, "FREQ=SECONDLY is not supported"),
    ],
)
async def test_a_refused_schedule_writes_nothing(
    db: object, frozen: list[datetime], rule: str, kwargs: dict[str, object], message: str
) -> None:
    await _org()
    with pytest.raises(InvalidInput) as raised:
        await schedules.add_schedule("acme", rule, **kwargs)  # type: ignore[arg-type]
    assert message in str(raised.value)
    assert await Schedule.all().count() == 0
    assert await AuditEvent.filter(action="schedule.add").count() == 0


async def test_a_resumed_schedule_skips_the_occurrences_of_its_pause(db: object, frozen: list[datetime]) -> None:
    await _org()
    schedule = await schedules.add_schedule("acme", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", start="2026-03-02T00:00")
    paused = await schedules.pause_schedule(schedule.id)
    assert paused.active is False and (await Schedule.get(id=schedule.id)).active is False
    frozen[0] = datetime(2026, 3, 25, tzinfo=UTC)
    resumed = await schedules.resume_schedule(schedule.id)
    assert resumed.active is True
    assert (await Schedule.get(id=schedule.id)).next_run_at == datetime(2026, 3, 30, 7, tzinfo=UTC)


async def test_a_removed_schedule_is_gone(db: object, frozen: list[datetime]) -> None:
    await _org()
    schedule = await schedules.add_schedule("acme", BIWEEKLY)
    await schedules.remove_schedule(schedule.id)
    assert not await Schedule.exists(id=schedule.id)
    with pytest.raises(NotFound, match=f"no schedule with id {schedule.id}"):
        await schedules.pause_schedule(schedule.id)


async def test_schedule_departments_are_unit_paths_matched_like_a_rounds_units(
    db: object, frozen: list[datetime]
) -> None:
    """A schedule names units by path (or a top-level unit by its plain name, as before), in any letter
    case or spacing; it stores each unit as the tree spells it, and its rounds cover each whole subtree."""
    from pulse.services.people import import_people
    from pulse.services.rounds import open_round

    organization = await create_organization("tree", "Tree", timezone="Europe/Paris")
    lines = ["email,name,department"]
    units = ["Retail / Stores North / Store 11", "Retail / Stores North / Store 12", "Retail / South", "Finance"]
    lines += [f"p{u}-{i}@tree.test,P {u} {i},{unit}" for u, unit in enumerate(units) for i in range(6)]
    await import_people(organization, ("\n".join(lines) + "\n").encode())
    schedule = await schedules.add_schedule(
        "tree", BIWEEKLY, start="2026-03-02T00:00", departments=["retail/stores  north", "FINANCE", "Finance"]
    )
    assert (await Schedule.get(id=schedule.id)).departments == ["Retail / Stores North", "Finance"]
    # What the schedule stored opens a round of both stores of the region and Finance, nobody else.
    opened = await open_round(organization, departments=schedule.departments)
    covered = {d.name for d in await Department.filter(id__in=opened.department_ids or [])}
    assert covered == {"Retail / Stores North", *units[:2], "Finance"}
    for wrong in ("Retail / West", "Stores North", "Retail // South"):
        with pytest.raises(InvalidInput, match="unknown department"):
            await schedules.add_schedule("tree", BIWEEKLY, departments=[wrong])
    assert await Schedule.all().count() == 1


async def test_a_schedule_whose_units_are_padded_with_newcomers_is_refused_until_they_settle(
    db: object, frozen: list[datetime]
) -> None:
    """The scope rule of a round, checked when the schedule is made with the quarantine as it will be at
    its first date: people who came in for it do not lift a scope over the gate, people who will have
    settled by then do."""
    from pulse.services.people import import_people

    await _org()
    organization = await schedules.get_organization("acme")
    await import_people(organization, _people_csv(Sales=10, Support=10))  # seven newcomers in Support
    with pytest.raises(InvalidInput, match=r"scope 'Support' has 3 people to invite \(and 7 newcomers"):
        await schedules.add_schedule("acme", BIWEEKLY, start="2026-03-02T00:00", departments=["Support"])
    assert await Schedule.all().count() == 0
    # The same schedule starting after the quarantine (28 days) counts them: they will be invited then.
    later = await schedules.add_schedule("acme", BIWEEKLY, start="2026-04-13T00:00", departments=["Support"])
    assert later.departments == ["Support"]

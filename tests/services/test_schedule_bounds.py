"""Evaluating a rule is bounded: a rule with no occurrence is refused quickly, and its search never
holds the event loop (it runs in a thread)."""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from datetime import UTC, datetime

import pytest

from pulse import clock
from pulse.errors import InvalidInput
from pulse.models import Schedule
from pulse.services import schedules
from pulse.services.organizations import create_organization
from pulse.services.schedules import Cadence

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _cadence(rule: str) -> Cadence:
    return Cadence.build(rule, timezone="Europe/Paris", start=datetime(2026, 3, 2, 9))


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "there is no day 30 in February"),
        ("FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31,-31", "no day 31,-31 in April or June or September or November"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-30", "no day -30 in February"),
    ],
)
def test_a_day_that_no_month_of_the_rule_has_is_refused_before_any_search(rule: str, named: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="never happens") as refused:
        _cadence(rule)
    assert named in str(refused.value)
    assert time.perf_counter() - started < 0.05


def test_29_february_and_the_last_day_of_a_month_are_real_days() -> None:
    assert _cadence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29").next_after(NOW) == datetime(2028, 2, 29, 8, tzinfo=UTC)
    assert _cadence("FREQ=MONTHLY;BYMONTH=4;BYMONTHDAY=-1").next_after(NOW) == datetime(2026, 4, 30, 7, tzinfo=UTC)
    # 29 February on a Monday: every 28 years or so, found all the same.
    sparse = _cadence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO")
    assert sparse.after(NOW, count=2) == [datetime(2044, 2, 29, 8, tzinfo=UTC), datetime(2072, 2, 29, 8, tzinfo=UTC)]


def test_a_rule_with_no_occurrence_ends_within_the_search_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Week 1 never falls in June: nothing but a search can tell. dateutil alone searches to 9999.
    never = _cadence("FREQ=YEARLY;BYWEEKNO=1;BYMONTH=6")
    tracer = sys.gettrace()
    started = time.perf_counter()
    assert never.next_after(NOW) is None and never.after(NOW, count=10) == []
    assert time.perf_counter() - started < 2 * schedules.EVALUATION_SECONDS
    assert sys.gettrace() is tracer, "the budget's trace function is removed afterwards"
    # The step budget alone ends it too, whatever the machine's speed.
    monkeypatch.setattr(schedules, "SEARCH_SECONDS", 60.0)
    monkeypatch.setattr(schedules, "EVALUATION_SECONDS", 60.0)
    monkeypatch.setattr(schedules, "SEARCH_CALLS", 2_000)
    started = time.perf_counter()
    assert never.next_after(NOW) is None
    assert time.perf_counter() - started < 5


def test_the_budget_is_per_occurrence_so_a_long_preview_of_a_dense_rule_is_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(schedules, "SEARCH_CALLS", 200)
    weekly = _cadence("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9")
    found = weekly.after(NOW, count=300)
    assert len(found) == 300 and found[-1].year == 2031
    # ... while a daily rule whose next occurrence is years away runs out of those 200 steps.
    assert _cadence("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29").next_after(NOW) is None


async def test_add_schedule_refuses_a_rule_that_never_happens_without_holding_the_event_loop(
    db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    await create_organization("acme", "Acme", timezone="Europe/Paris")
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(tick())
    try:
        started = time.perf_counter()
        with pytest.raises(InvalidInput, match="has no occurrence after now"):
            await schedules.add_schedule("acme", "FREQ=YEARLY;BYWEEKNO=1;BYMONTH=6", start="2026-03-02T09:00")
        took = time.perf_counter() - started
    finally:
        ticking.cancel()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert took < 3 and max(gaps) < 0.5, (took, max(gaps))
    assert await Schedule.all().count() == 0

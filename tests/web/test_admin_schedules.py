from __future__ import annotations

import pytest

from pulse.errors import InvalidInput
from pulse.models import Schedule
from pulse.web.admin.schedules import build_rrule, describe_rule
from tests.web.conftest import ClientFor, World, form_post


@pytest.mark.parametrize(
    ("frequency", "weekday", "hour", "rule"),
    [
        ("weekly", "TU", 10, "FREQ=WEEKLY;BYDAY=TU;BYHOUR=10;BYMINUTE=0;BYSECOND=0"),
        ("biweekly", "MO", 9, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0"),
        ("monthly", "FR", 14, "FREQ=MONTHLY;BYDAY=1FR;BYHOUR=14;BYMINUTE=0;BYSECOND=0"),
    ],
)
def test_the_friendly_choices_build_the_rrule(frequency: str, weekday: str, hour: int, rule: str) -> None:
    assert build_rrule(frequency, weekday, hour) == rule


@pytest.mark.parametrize(
    ("frequency", "weekday", "hour", "message"),
    [
        ("hourly", "MO", 9, "unknown frequency 'hourly'"),
        ("weekly", "XX", 9, "unknown weekday 'XX'"),
        ("weekly", "MO", 24, "hour 24"),
    ],
)
def test_bad_choices_are_refused(frequency: str, weekday: str, hour: int, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_rrule(frequency, weekday, hour)


async def test_the_form_previews_the_next_dates_in_the_organisations_time_zone(
    client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    page = await alice.get("/orgs/acme/schedules", params={"frequency": "weekly", "weekday": "WE", "hour": "8"})
    assert page.status_code == 200
    assert "FREQ=WEEKLY;BYDAY=WE;BYHOUR=8" in page.text
    assert page.text.count("Wed, ") >= 6 and "08:00" in page.text
    bad = await alice.get("/orgs/acme/schedules", params={"hour": "eight"})
    assert bad.status_code == 422 and "At (hour): &#39;eight&#39; is not a whole number." in bad.text


async def test_hr_creates_pauses_resumes_and_removes_a_schedule(client_for: ClientFor, world: World) -> None:
    alice = await client_for(world.alice)
    created = await form_post(
        alice,
        "/orgs/acme/schedules",
        "/orgs/acme/schedules",
        {"frequency": "biweekly", "weekday": "MO", "hour": "9", "open_days": "5", "remind_after_days": "3"},
    )
    assert created.status_code == 303
    assert "the first round opens" in (await alice.get(created.headers["location"])).text
    schedule = await Schedule.get(organization_id=world.acme.id)
    assert (schedule.rrule, schedule.open_days, schedule.remind_after_days) == (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
        5,
        3,
    )
    base = f"/orgs/acme/schedules/{schedule.id}"
    assert (await form_post(alice, "/orgs/acme/schedules", f"{base}/pause", {})).status_code == 303
    assert not (await Schedule.get(id=schedule.id)).active
    assert (await form_post(alice, "/orgs/acme/schedules", f"{base}/resume", {})).status_code == 303
    assert (await Schedule.get(id=schedule.id)).active
    assert (await form_post(alice, "/orgs/acme/schedules", f"{base}/explode", {})).status_code == 404
    assert (await form_post(alice, "/orgs/acme/schedules", f"{base}/remove", {})).status_code == 303
    assert not await Schedule.exists(id=schedule.id)


async def test_a_schedule_whose_rounds_would_overlap_is_refused_with_the_reason(
    client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    response = await form_post(
        alice,
        "/orgs/acme/schedules",
        "/orgs/acme/schedules",
        {"frequency": "weekly", "weekday": "MO", "open_days": "10"},
    )
    assert response.status_code == 422 and "Rounds would overlap" in response.text
    assert not await Schedule.exists(organization_id=world.acme.id)


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=WEEKLY;BYDAY=TU;BYHOUR=10;BYMINUTE=0;BYSECOND=0", "Every week on Tuesday at 10:00"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=30", "Every 2 weeks on Monday at 09:30"),
        ("FREQ=MONTHLY;BYDAY=1FR;BYHOUR=14;BYMINUTE=0;BYSECOND=0", "First Friday of every month at 14:00"),
        ("FREQ=DAILY;BYHOUR=9", None),
        ("FREQ=MONTHLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", None),
    ],
)
def test_rules_the_form_builds_are_described_in_words(rule: str, words: str | None) -> None:
    assert describe_rule(rule) == words

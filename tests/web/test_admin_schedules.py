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


async def test_hr_schedules_rounds_for_some_units_and_the_preview_keeps_them_ticked(
    client_for: ClientFor, world: World
) -> None:
    alice = await client_for(world.alice)
    choices = {"frequency": "monthly", "weekday": "TU", "hour": "10", "open_days": "5"}
    preview = await alice.get("/orgs/acme/schedules", params={**choices, "scope": "units", "unit": ["Sales", "Stores"]})
    assert preview.status_code == 200 and "The next rounds would open" in preview.text
    assert 'name="scope" value="units" checked' in preview.text
    assert 'value="Sales" checked' in preview.text and 'value="Logistics" checked' not in preview.text
    created = await form_post(
        alice,
        "/orgs/acme/schedules",
        "/orgs/acme/schedules",
        {**choices, "scope": "units", "unit": ["sales", "Stores"]},
    )
    assert created.status_code == 303, created.text
    schedule = await Schedule.get(organization_id=world.acme.id)
    assert schedule.departments == ["Sales", "Stores"]  # as the tree spells them
    listing = (await alice.get("/orgs/acme/schedules")).text
    assert '<ul class="plain"><li>Sales</li><li>Stores</li></ul>' in listing
    whole = await form_post(
        alice, "/orgs/acme/schedules", "/orgs/acme/schedules", {**choices, "weekday": "FR", "scope": "whole"}
    )
    assert whole.status_code == 303
    assert (await Schedule.filter(organization_id=world.acme.id).order_by("-id").first()).departments is None


@pytest.mark.parametrize(
    ("data", "english", "german"),
    [
        (
            {"scope": "units", "unit": ["Stores", "Logistics"]},
            "Scope &#39;Stores&#39;, &#39;Logistics&#39; has 9 people to invite: a round for part of the organisation "
            "needs at least 10",
            "Im Bereich &#39;Stores&#39;, &#39;Logistics&#39; sind 9 Personen einzuladen",
        ),
        (
            {"scope": "units", "unit": "Warehouse"},
            "Unknown department in &#39;acme&#39;: &#39;Warehouse&#39; (import people first, or check the spelling).",
            "Unbekannte Abteilung in &#39;acme&#39;: &#39;Warehouse&#39; (importieren Sie zuerst die Personen",
        ),
        ({"scope": "units"}, "Tick at least one unit, or choose the whole organisation.", "Kreuzen Sie mindestens"),
    ],
)
async def test_a_schedule_for_units_that_are_unknown_or_too_few_people_is_refused_in_the_readers_language(
    client_for: ClientFor, world: World, data: dict[str, object], english: str, german: str
) -> None:
    from pulse.models import AuditEvent, User

    alice = await client_for(world.alice)
    sent = {"frequency": "weekly", "weekday": "TH", "hour": "11", "open_days": "4", **data}
    refused = await form_post(alice, "/orgs/acme/schedules", "/orgs/acme/schedules", sent)
    assert refused.status_code == 422 and english in refused.text, refused.text[-3000:]
    assert 'role="alert" id="units-error"' in refused.text
    # The form comes back as it was sent.
    assert '<option value="TH" selected>' in refused.text and 'name="scope" value="units" checked' in refused.text
    await User.filter(id=world.alice.id).update(locale="de")
    german_page = await form_post(alice, "/orgs/acme/schedules", "/orgs/acme/schedules", sent)
    assert german_page.status_code == 422 and german in german_page.text, german_page.text[-3000:]
    assert not await Schedule.exists(organization_id=world.acme.id)
    assert not await AuditEvent.exists(action="schedule.add")

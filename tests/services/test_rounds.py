from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse import clock
from pulse.domain.items import compose_pulse
from pulse.errors import Conflict, InvalidInput, NotFound
from pulse.models import Department, Invitation, Person, Round, RoundStatus, Schedule
from pulse.services.rounds import check_remindable, close_round, get_round, invite_late_joiners, open_round
from pulse.services.tokens import hash_token, token_for
from pulse.settings import Settings
from tests.anonymity.population import populate

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


async def test_opening_a_round_invites_every_active_person_once_and_fixes_the_items(db: Settings) -> None:
    org = await populate({"Sales": 4, "Stores": 6})
    await Person.filter(email="sales-0@acme.test").update(active=False)
    first = await open_round(org, closes_in_days=5, remind_after_days=3)
    assert (first.number, first.status, first.department_ids) == (1, RoundStatus.OPEN, None)
    assert first.item_keys == list(compose_pulse(1))
    assert (first.opened_at, first.closes_at, first.remind_at) == (
        NOW,
        NOW + timedelta(days=5),
        NOW + timedelta(days=3),
    )
    invitations = await Invitation.filter(round_id=first.id).select_related("person", "department")
    assert len(invitations) == 9
    assert all(i.person is not None and i.person.active for i in invitations)
    assert all(i.department_id == i.person.department_id for i in invitations if i.person is not None)
    assert all(i.sent_at is None and not i.answered for i in invitations)
    second = await open_round(org)
    assert second.number == 2 and second.item_keys == list(compose_pulse(2))


async def test_a_link_is_derived_from_the_salt_and_only_its_keyed_hash_is_stored(db: Settings) -> None:
    org = await populate({"Sales": 3})
    opened = await open_round(org)
    invitation = await Invitation.filter(round_id=opened.id).first()
    assert invitation is not None
    token = token_for(invitation.token_salt, db.secret_key)
    assert len(token) == 43
    assert invitation.token_hash == hash_token(token, db.secret_key)
    assert token not in (invitation.token_salt, invitation.token_hash)
    # Another key derives another link: the database alone cannot reproduce one.
    assert token_for(invitation.token_salt, "another-secret-key-of-sufficient-length!") != token
    hashes = await Invitation.filter(round_id=opened.id).values_list("token_hash", flat=True)
    assert len(set(hashes)) == 3


async def test_a_round_can_cover_only_some_departments(db: Settings) -> None:
    org = await populate({"Sales": 3, "Stores": 4, "Warehouse": 6})
    opened = await open_round(org, departments=["Stores", "Warehouse"])
    stores = await Department.get(name="Stores")
    warehouse = await Department.get(name="Warehouse")
    assert opened.department_ids == sorted([stores.id, warehouse.id])
    assert await Invitation.filter(round_id=opened.id).count() == 10


async def test_a_scope_of_fewer_than_twice_k_people_is_refused_in_one_line(db: Settings) -> None:
    org = await populate({"Sales": 30, "Legal": 1, "Stores": 8})
    for scope, invited in ((["Legal"], 1), (["Legal", "Stores"], 9)):
        with pytest.raises(InvalidInput) as refused:
            await open_round(org, departments=scope)
        named = ", ".join(repr(d) for d in scope)
        assert str(refused.value) == (
            f"scope {named} has {invited} {'person' if invited == 1 else 'people'} to invite: a round for part of the "
            "organisation needs at least 10 (twice the minimum group size 5), or its organisation-wide figures "
            "would be about a few people"
        )
    assert await Round.all().count() == 0
    # The whole organisation, or a scope of 2k, is fine.
    await open_round(org, departments=["Sales"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"departments": ["Stores", "Marketing"]}, "unknown department 'Marketing'"),
        ({"closes_in_days": 0}, "closes in 0 days"),
        ({"closes_in_days": 7, "remind_after_days": 7}, "reminder after 7 days"),
        ({"departments": []}, "no department named"),
    ],
)
async def test_bad_round_options_are_refused_and_nothing_is_written(
    db: Settings, kwargs: dict[str, object], message: str
) -> None:
    org = await populate({"Stores": 3})
    with pytest.raises(InvalidInput, match=message):
        await open_round(org, **kwargs)  # type: ignore[arg-type]
    assert await Round.all().count() == 0
    assert await Invitation.all().count() == 0


async def test_a_round_with_nobody_to_invite_is_refused(db: Settings) -> None:
    org = await populate({"Stores": 2})
    await Person.all().update(active=False)
    with pytest.raises(InvalidInput, match="nobody to invite"):
        await open_round(org)
    assert await Round.all().count() == 0


async def test_a_schedule_occurrence_opens_at_most_one_round(db: Settings) -> None:
    org = await populate({"Stores": 3})
    schedule = await Schedule.create(organization=org, rrule="FREQ=WEEKLY", dtstart="2026-11-23T09:00:00")
    occurrence = NOW - timedelta(minutes=1)
    first = await open_round(org, schedule=schedule, occurrence_at=occurrence)
    with pytest.raises(Conflict, match="already has a round"):
        await open_round(org, schedule=schedule, occurrence_at=occurrence)
    assert [r.id for r in await Round.all()] == [first.id]
    assert await Invitation.all().count() == 3


async def test_closing_is_idempotent_and_stamps_the_shuffle(db: Settings) -> None:
    org = await populate({"Stores": 3})
    opened = await open_round(org)
    closed = await close_round(opened.id)
    assert (closed.status, closed.closed_at) == (RoundStatus.CLOSED, NOW)
    assert closed.shuffled_at is not None
    again = await close_round(opened.id)
    assert (again.status, again.closed_at, again.shuffled_at) == (RoundStatus.CLOSED, NOW, closed.shuffled_at)


async def test_an_unknown_round_is_named_in_the_error(db: Settings) -> None:
    with pytest.raises(NotFound, match="no round with id 999"):
        await get_round(999)
    with pytest.raises(NotFound, match="no round with id 999"):
        await close_round(999)


async def test_people_added_after_opening_can_be_invited_once(db: Settings) -> None:
    org = await populate({"Stores": 10, "Sales": 3})
    opened = await open_round(org, departments=["Stores"])
    stores = await Department.get(name="Stores")
    sales = await Department.get(name="Sales")
    await Person.create(organization=org, department=stores, email="late@acme.test", name="Late")
    await Person.create(organization=org, department=sales, email="other@acme.test", name="Out of scope")
    assert await invite_late_joiners(opened.id) == 1
    assert await invite_late_joiners(opened.id) == 0
    late = await Invitation.get(round_id=opened.id, person__email="late@acme.test")
    assert late.department_id == stores.id
    await close_round(opened.id)
    with pytest.raises(InvalidInput, match="closed"):
        await invite_late_joiners(opened.id)


async def test_only_an_open_round_before_its_closing_time_can_be_reminded(db: Settings) -> None:
    org = await populate({"Stores": 12})
    opened = await open_round(org, closes_in_days=3)
    check_remindable(opened)  # open: allowed
    # Past its closing time but not yet closed by the tick: its links no longer work, so refused too.
    late = await get_round(opened.id)
    late.closes_at = NOW - timedelta(minutes=1)
    with pytest.raises(InvalidInput, match=f"^round {opened.id} is closed: reminders go only to open rounds$"):
        check_remindable(late)
    closed = await close_round(opened.id)
    with pytest.raises(InvalidInput, match=f"round {opened.id} is closed"):
        check_remindable(closed)

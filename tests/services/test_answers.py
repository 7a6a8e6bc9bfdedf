from __future__ import annotations

import asyncio

import pytest

from pulse.domain.items import COMMENT_MAX_LENGTH
from pulse.domain.scoring import score_response
from pulse.errors import LinkAlreadyUsed, SurveyClosed, UnknownLink
from pulse.models import Answer, Department, HelpMark, Invitation, Response, Round
from pulse.services.answers import AnswersRejected, open_survey, submit
from pulse.services.rounds import close_round, open_round
from pulse.services.tokens import token_for
from pulse.settings import Settings
from tests.anonymity.population import populate


async def _links(round_id: int, secret_key: str) -> list[str]:
    salts = await Invitation.filter(round_id=round_id).order_by("id").values_list("token_salt", flat=True)
    return [token_for(str(salt), secret_key) for salt in salts]


async def _round(settings: Settings) -> tuple[Round, list[str]]:
    org = await populate({"Stores": 3, "Sales": 2, "Support": 1})
    opened = await open_round(org)
    return opened, await _links(opened.id, settings.secret_key)


def _full_form(round_: Round, value: int = 4) -> dict[str, str | list[str]]:
    return {key: str(value) for key in round_.item_keys}


async def test_a_valid_answer_is_stored_once_without_anything_about_the_person(db: Settings) -> None:
    opened, links = await _round(db)
    invitation = await Invitation.filter(round_id=opened.id).order_by("id").first()
    assert invitation is not None
    sales = await Department.get(name="Sales")
    form = _full_form(opened, 2)
    form[opened.item_keys[0]] = "5"
    form.update({"enps": "9", "helped_by": [str(sales.id)], "comment": "  More staff on Saturdays.  "})
    await submit(links[0], form)
    response = await Response.get(round_id=opened.id)
    assert response.department_id == invitation.department_id
    values = {key: int(str(value)) for key, value in form.items() if key in opened.item_keys}
    expected = score_response(values, opened.item_keys)
    assert (response.score_fear, response.score_initiative) == (expected["fear"], expected["initiative"])
    assert (response.enps, response.comment, response.answered_network) == (9, "More staff on Saturdays.", True)
    answers = dict(await Answer.filter(response_id=response.id).values_list("item_key", "value"))
    assert answers == values
    assert [m.helper_id for m in await HelpMark.filter(response_id=response.id)] == [sales.id]
    assert (await Invitation.get(id=invitation.id)).answered is True


async def test_a_used_link_cannot_answer_twice(db: Settings) -> None:
    opened, links = await _round(db)
    await submit(links[1], _full_form(opened))
    with pytest.raises(LinkAlreadyUsed):
        await submit(links[1], _full_form(opened, 1))
    with pytest.raises(LinkAlreadyUsed):
        await open_survey(links[1])
    assert await Response.all().count() == 1
    assert {a.value for a in await Answer.all()} == {4}


async def test_the_same_link_sent_twenty_times_at_once_stores_one_response(db: Settings) -> None:
    opened, links = await _round(db)
    outcomes = await asyncio.gather(*(submit(links[2], _full_form(opened)) for _ in range(20)), return_exceptions=True)
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, LinkAlreadyUsed) for o in outcomes if o is not None)
    assert await Response.all().count() == 1
    assert await Answer.all().count() == len(opened.item_keys)


async def test_partial_answers_are_accepted_and_unscorable_dimensions_stay_empty(db: Settings) -> None:
    opened, links = await _round(db)
    await submit(links[0], {opened.item_keys[0]: "3"})
    response = await Response.get(round_id=opened.id)
    assert await Answer.filter(response_id=response.id).count() == 1
    scores = score_response({opened.item_keys[0]: 3}, opened.item_keys)
    assert response.score_consistency == scores["consistency"] is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"nonsense": "1"}, "nonsense", "not a field"),
        ({"ITEM0": "6"}, "ITEM0", "not an answer between 1 and 5"),
        ({"ITEM0": "0"}, "ITEM0", "not an answer between 1 and 5"),
        ({"ITEM0": "three"}, "ITEM0", "not an answer"),
        ({"ITEM0": ["1", "2"]}, "ITEM0", "more than once"),
        ({"enps": "11"}, "enps", "between 0 and 10"),
        ({"enps": "-1"}, "enps", "between 0 and 10"),
        ({"comment": "x" * (COMMENT_MAX_LENGTH + 1)}, "comment", f"limit is {COMMENT_MAX_LENGTH}"),
        ({"helped_by": ["999999"]}, "helped_by", "not one of the departments"),
        ({"helped_by": ["none", "OWN"]}, "helped_by", "not one of the departments"),
        ({"fear_keep_head_down_x": "1"}, "fear_keep_head_down_x", "not a field"),
    ],
)
async def test_bad_answers_are_refused_with_the_reason_and_the_link_stays_usable(
    db: Settings, change: dict[str, str | list[str]], field: str, message: str
) -> None:
    opened, links = await _round(db)
    invitation = await Invitation.filter(round_id=opened.id).order_by("id").first()
    assert invitation is not None
    form = _full_form(opened)
    for key, value in change.items():
        if isinstance(value, list):
            value = [str(invitation.department_id) if v == "OWN" else v for v in value]
        form[opened.item_keys[0] if key == "ITEM0" else key] = value
    field = opened.item_keys[0] if field == "ITEM0" else field
    with pytest.raises(AnswersRejected, match=message) as raised:
        await submit(links[0], form)
    assert field in raised.value.problems
    assert await Response.all().count() == 0
    assert await Invitation.filter(answered=True).count() == 0
    await submit(links[0], _full_form(opened))
    assert await Response.all().count() == 1


async def test_an_item_of_the_bank_that_this_round_does_not_ask_is_refused(db: Settings) -> None:
    from pulse.domain.items import ITEMS

    opened, links = await _round(db)
    not_asked = next(item.key for item in ITEMS if item.key not in opened.item_keys)
    with pytest.raises(AnswersRejected, match="not a question of this survey"):
        await submit(links[0], {**_full_form(opened), not_asked: "3"})


async def test_an_empty_form_is_refused(db: Settings) -> None:
    _, links = await _round(db)
    with pytest.raises(AnswersRejected, match="at least one question"):
        await submit(links[0], {"comment": "   ", "enps": ""})


async def test_unknown_links_and_closed_rounds_are_refused(db: Settings) -> None:
    opened, links = await _round(db)
    with pytest.raises(UnknownLink):
        await submit("A" * 43, _full_form(opened))
    with pytest.raises(UnknownLink):
        await submit("../../etc/passwd", _full_form(opened))
    with pytest.raises(UnknownLink):
        await submit(links[0][:-1], _full_form(opened))
    await close_round(opened.id)
    with pytest.raises(SurveyClosed):
        await submit(links[0], _full_form(opened))
    assert await Response.all().count() == 0


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_closing_while_answers_arrive_leaves_nothing_stored_after_the_shuffle(db: Settings) -> None:
    from tortoise import connections

    from pulse.services.rounds import close_round

    org = await populate({"Stores": 30, "Sales": 20}, slug="race")
    opened = await open_round(org)
    links = await _links(opened.id, db.secret_key)

    async def answer(token: str) -> str:
        try:
            await submit(token, _full_form(opened))
        except (SurveyClosed, LinkAlreadyUsed) as error:
            return type(error).__name__
        return "stored"

    before = [await answer(token) for token in links[:10]]
    tasks = [asyncio.create_task(answer(token)) for token in links[10:]]
    await asyncio.sleep(0.02)
    await close_round(opened.id)
    outcomes = before + list(await asyncio.gather(*tasks))
    stored = outcomes.count("stored")
    assert stored >= 10
    assert set(outcomes) <= {"stored", "SurveyClosed"}
    assert await Response.filter(round_id=opened.id).count() == stored
    assert await Invitation.filter(round_id=opened.id, answered=True).count() == stored
    # Every response was written by the one shuffle transaction: none arrived after it.
    rows = await connections.get("default").execute_query_dict(
        "SELECT DISTINCT xmin::text AS x FROM response WHERE round_id = $1", [opened.id]
    )
    assert len(rows) == 1


async def test_in_a_tree_the_help_question_offers_the_units_beside_ones_path_not_every_unit(db: Settings) -> None:
    from pulse.domain.units import parse_unit_path
    from pulse.models import Organization
    from pulse.services.units import ensure_units

    stores = {f"Retail / North / Store {i}": 3 for i in range(1, 4)} | {
        f"Retail / South / Store {i}": 3 for i in (4, 5)
    }
    organization = await populate({**stores, "Operations / Warehouse": 3, "Finance": 3})
    # The import creates every unit above the people's own; populate does not.
    await ensure_units(
        await Organization.get(id=organization.id), [parse_unit_path(n) for n in (*stores, "Operations / Warehouse")]
    )
    opened = await open_round(organization)
    links = dict(
        zip(
            await Invitation.filter(round_id=opened.id).order_by("id").values_list("id", flat=True),
            await _links(opened.id, db.secret_key),
            strict=True,
        )
    )
    store_1 = await Department.get(name="Retail / North / Store 1")
    invitation = await Invitation.filter(round_id=opened.id, department_id=store_1.id).first()
    assert invitation is not None
    survey = await open_survey(links[invitation.id])
    assert [name for _, name in survey.helper_choices] == [
        "Finance",
        "Operations",
        "Retail / North / Store 2",
        "Retail / North / Store 3",
        "Retail / South",
    ]
    # A mark naming a unit that was not offered is taken (the report counts it for Retail / South).
    store_4 = await Department.get(name="Retail / South / Store 4")
    await submit(links[invitation.id], {**_full_form(opened), "helped_by": [str(store_4.id)]})
    assert [m.helper_id for m in await HelpMark.all()] == [store_4.id]

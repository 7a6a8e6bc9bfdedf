from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from pulse.domain.items import COMMENT_MAX_LENGTH, SCALE_LABELS
from pulse.models import Answer, Department, HelpMark, Invitation, Response, Round
from pulse.services.rounds import close_round, open_round
from pulse.services.tokens import token_for
from pulse.settings import Settings
from pulse.web.app import create_app
from tests.anonymity.population import populate


@pytest.fixture
async def client(db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(db, manage_database=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pulse.test") as http,
    ):
        yield http


async def _open(settings: Settings) -> tuple[Round, list[str]]:
    org = await populate({"Stores": 4, "Sales": 3, "Support": 2})
    opened = await open_round(org)
    salts = await Invitation.filter(round_id=opened.id).order_by("id").values_list("token_salt", flat=True)
    return opened, [token_for(str(salt), settings.secret_key) for salt in salts]


def _form(round_: Round, value: int = 3) -> dict[str, str]:
    return {key: str(value) for key, _ in zip(round_.item_keys, range(100), strict=False)}


async def test_the_form_has_a_labelled_radio_group_per_item_and_the_optional_questions(
    client: httpx.AsyncClient, db: Settings
) -> None:
    opened, links = await _open(db)
    page = await client.get(f"/s/{links[0]}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert html.count("<fieldset") == len(opened.item_keys) + 2
    for key in opened.item_keys:
        values = re.findall(rf'<input type="radio" name="{key}" value="(\d)"', html)
        assert values == ["1", "2", "3", "4", "5"]
    for number, label in enumerate(SCALE_LABELS, 1):
        assert f'<span class="survey-num">{number}</span> {label}</span>' in html
    assert re.findall(r'name="enps" value="(\d+)"', html) == [str(v) for v in range(11)]
    own = (await Invitation.filter(round_id=opened.id).order_by("id").first().values("department_id"))["department_id"]
    helpers = {int(v) for v in re.findall(r'name="helped_by" value="(\d+)"', html)}
    others = {d.id for d in await Department.all() if d.id != own}
    assert helpers == others
    assert f'maxlength="{COMMENT_MAX_LENGTH}"' in html
    assert "<script" not in html and "http" not in html.split("<body", 1)[1].replace('href="/', "")
    assert "groups of at least 5 people" in html


async def test_answering_redirects_to_a_thank_you_page_that_reveals_nothing(
    client: httpx.AsyncClient, db: Settings
) -> None:
    opened, links = await _open(db)
    sales = await Department.get(name="Sales")
    form = {**_form(opened, 4), "enps": "7", "comment": "Fewer meetings please", "helped_by": str(sales.id)}
    posted = await client.post(f"/s/{links[0]}", data=form)
    assert posted.status_code == 303
    assert posted.headers["location"] == "/s/thanks"
    thanks = await client.get("/s/thanks")
    assert thanks.status_code == 200 and "Thank you" in thanks.text
    assert thanks.headers["cache-control"] == "no-store"
    response = await Response.get()
    assert (response.enps, response.comment, response.answered_network) == (7, "Fewer meetings please", True)
    assert await Answer.filter(value=4).count() == len(opened.item_keys)
    assert await HelpMark.filter(helper_id=sales.id).count() == 1
    used = await client.get(f"/s/{links[0]}")
    assert used.status_code == 409 and "already been used" in used.text
    again = await client.post(f"/s/{links[0]}", data=form)
    assert again.status_code == 409
    assert await Response.all().count() == 1


async def test_bad_answers_re_render_the_form_with_the_answers_kept_and_store_nothing(
    client: httpx.AsyncClient, db: Settings
) -> None:
    opened, links = await _open(db)
    first, second = opened.item_keys[0], opened.item_keys[1]
    form = {first: "2", second: "9", "enps": "12", "comment": "kept text", "evil": "1"}
    page = await client.post(f"/s/{links[0]}", data=form)
    assert page.status_code == 422
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert 'role="alert"' in html
    assert "&#39;9&#39; is not an answer between 1 and 5" in html
    assert "&#39;12&#39; is not a number between 0 and 10" in html
    assert "evil: is not a field of this survey" in html
    assert f'name="{first}" value="2" checked' in html
    assert ">kept text</textarea>" in html
    assert await Response.all().count() == 0
    assert await Invitation.filter(answered=True).count() == 0
    fixed = await client.post(f"/s/{links[0]}", data={first: "2", second: "4"})
    assert fixed.status_code == 303


async def test_an_overlong_comment_is_refused_and_an_oversized_body_is_413(
    client: httpx.AsyncClient, db: Settings
) -> None:
    opened, links = await _open(db)
    long = await client.post(f"/s/{links[0]}", data={**_form(opened), "comment": "x" * (COMMENT_MAX_LENGTH + 1)})
    assert long.status_code == 422 and f"the limit is {COMMENT_MAX_LENGTH}" in long.text
    huge = await client.post(f"/s/{links[0]}", data={**_form(opened), "comment": "x" * 100_000})
    assert huge.status_code == 413
    assert await Response.all().count() == 0


async def test_unknown_used_and_closed_links_get_their_own_pages_with_nothing_personal(
    client: httpx.AsyncClient, db: Settings
) -> None:
    opened, links = await _open(db)
    unknown = await client.get("/s/" + "A" * 43)
    garbage = await client.get("/s/not-a-token")
    assert unknown.status_code == garbage.status_code == 404
    assert "We do not know this link" in unknown.text
    await client.post(f"/s/{links[1]}", data=_form(opened))
    used = await client.get(f"/s/{links[1]}")
    assert used.status_code == 409
    await close_round(opened.id)
    closed = await client.get(f"/s/{links[0]}")
    closed_post = await client.post(f"/s/{links[0]}", data=_form(opened))
    assert closed.status_code == closed_post.status_code == 410
    assert "has closed" in closed.text
    names = [p.lower() for p in ["Stores Person", "Sales Person", "acme.test", "Stores", "Sales"]]
    for page in (unknown, used, closed):
        assert page.headers["cache-control"] == "no-store"
        assert not any(name in page.text.lower() for name in names)


async def test_the_same_link_posted_twenty_times_at_once_answers_once(client: httpx.AsyncClient, db: Settings) -> None:
    opened, links = await _open(db)
    replies = await asyncio.gather(*(client.post(f"/s/{links[2]}", data=_form(opened)) for _ in range(24)))
    statuses = sorted(reply.status_code for reply in replies)
    assert statuses == [303] + [409] * 23
    assert await Response.all().count() == 1
    assert await Answer.all().count() == len(opened.item_keys)


def test_the_page_language_follows_the_browser_and_falls_back_to_english() -> None:
    from pulse.i18n import negotiate

    assert negotiate("en-GB,en;q=0.9") == "en"
    assert negotiate("de-CH, fr;q=0.8") == "de"
    assert negotiate("pt-BR") == negotiate("pt") == negotiate("pt_br") == "pt_BR"
    assert negotiate("fr-CA") == "fr"
    assert negotiate("tlh, *") == "en"  # a language Pulse does not speak: English, never an error
    assert negotiate(None) == negotiate("") == "en"

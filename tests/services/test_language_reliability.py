"""Reliability per language: Cronbach's alpha for each language with at least 30 complete answers, from
running sums that never name a response, a person or a department."""

from __future__ import annotations

import random

from pulse.domain.items import ITEM_BY_KEY, SCALE_MAX, SCALE_MIN
from pulse.domain.stats import cronbach_alpha
from pulse.models import LanguageTally, Response, Round
from pulse.services import language_reliability
from pulse.services.answers import submit
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.rounds import close_round, open_round
from pulse.settings import Settings
from tests.web.conftest import survey_tokens


async def _round(counts: dict[str, int]) -> Round:
    organization = await create_organization("acme", "Acme")
    lines = ["email,name,department,locale"]
    for locale, count in counts.items():
        lines += [
            f"{locale.lower()}{n}@acme.test,{locale} {n},{'Zeta' if n % 2 else 'Omega'},{locale}" for n in range(count)
        ]
    await import_people(organization, "\n".join(lines) + "\n")
    return await open_round(organization)


def _sheet(rng: random.Random, keys: list[str]) -> dict[str, int]:
    # A shared tendency per person plus noise, so the statements of a dimension correlate.
    tendency = rng.randint(-1, 1)
    return {
        key: max(
            SCALE_MIN, min(SCALE_MAX, 3 + (-tendency if ITEM_BY_KEY[key].reverse else tendency) + rng.randint(-1, 1))
        )
        for key in keys
    }


async def test_only_languages_with_30_invitations_get_sums_so_a_rare_language_leaves_no_trace(db: Settings) -> None:
    opened = await _round({"fr": 34, "de": 6, "en": 5})
    assert set(await LanguageTally.filter(round_id=opened.id).values_list("locale", flat=True)) == {"fr"}
    tokens = await survey_tokens(opened.id, db.secret_key)
    # The attacker's view: a German speaker answers in German, in a department of three.
    await submit(tokens[-1], {key: "5" for key in opened.item_keys}, language="de")
    assert await Response.filter(round_id=opened.id).count() == 1
    assert not await LanguageTally.filter(locale="de").exists()
    assert "locale" not in Response._meta.fields_map and "language" not in Response._meta.fields_map


async def test_alpha_per_language_equals_alpha_on_the_answers_and_is_released_from_30_answers(db: Settings) -> None:
    opened = await _round({"fr": 36, "es": 31})
    tokens = await survey_tokens(opened.id, db.secret_key)
    rng = random.Random(7)
    keys = list(opened.item_keys)
    french: list[dict[str, int]] = []
    for token in tokens[:32]:  # the French speakers (imported first)
        sheet = _sheet(rng, keys)
        french.append(sheet)
        await submit(token, {key: str(value) for key, value in sheet.items()}, language="fr")
    for token in tokens[36:41]:  # five Spanish speakers: their sums stay under 30
        await submit(token, {key: "3" for key in keys}, language="es")
    await close_round(opened.id)
    released = await language_reliability.release(opened.id)
    assert {r["locale"] for r in released} == {"fr"}
    for row in released:
        asked = [key for key in keys if ITEM_BY_KEY[key].dimension == row["dimension"]]
        keyed = [[SCALE_MAX + SCALE_MIN - s[k] if ITEM_BY_KEY[k].reverse else s[k] for k in asked] for s in french]
        assert row["respondents"] == 32
        expected = cronbach_alpha(keyed)
        assert expected is not None and abs(row["alpha"] - expected) < 1e-9
    # The Spanish sums (5 answers) are gone once the report is built; the French ones stay.
    assert not await LanguageTally.filter(round_id=opened.id, locale="es").exists()
    assert await LanguageTally.filter(round_id=opened.id, locale="fr").exists()

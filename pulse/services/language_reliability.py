"""Reliability per language: Cronbach's alpha of each dimension among the people who answered in one
language, so a bad translation shows up as a number.

What is stored, and why it is safe: never the language on a response. A round gets running sums
(``language_tally``: per page language and item, the count, sum and sum of squares of keyed answers
from people who answered every statement of that dimension, and the same for the dimension's total)
only for languages with at least ``MIN_RESPONDENTS`` invitations in the round, created when the round
opens; an answer in any other language leaves no trace of its language. Only organisation-wide sums
exist (no department), only alpha is released, only for a language with at least ``MIN_RESPONDENTS``
complete answers on that dimension, and the sums of a language that stayed under that are deleted
when the report is built.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from pulse import i18n
from pulse.domain.items import DIMENSION_KEYS, ITEM_BY_KEY, SCALE_MAX, SCALE_MIN
from pulse.models import Invitation, LanguageTally, Person

MIN_RESPONDENTS = 30


def _dimension_key(dimension: str) -> str:
    return f"dimension:{dimension}"


async def prepare(round_id: int, item_keys: Sequence[str]) -> list[str]:
    """Create the sums of a newly opened round for each language with enough invitations; returns them."""
    person_ids = await Invitation.filter(round_id=round_id, person_id__not_isnull=True).values_list(
        "person_id", flat=True
    )
    counts: dict[str, int] = {}
    for locale in await Person.filter(id__in=list(person_ids)).values_list("locale", flat=True):
        language = i18n.negotiate(str(locale))
        counts[language] = counts.get(language, 0) + 1
    measured = sorted(language for language, count in counts.items() if count >= MIN_RESPONDENTS)
    keys = [*item_keys, *(_dimension_key(d) for d in DIMENSION_KEYS)]
    await LanguageTally.bulk_create(
        [LanguageTally(round_id=round_id, locale=language, key=key) for language in measured for key in keys]
    )
    return measured


def _keyed(key: str, value: int) -> int:
    return SCALE_MAX + SCALE_MIN - value if ITEM_BY_KEY[key].reverse else value


def contributions(values: Mapping[str, int], item_keys: Sequence[str]) -> dict[str, int]:
    """What one answer sheet adds: keyed values of the dimensions it answered completely, and their totals."""
    result: dict[str, int] = {}
    for dimension in DIMENSION_KEYS:
        asked = [key for key in item_keys if key in ITEM_BY_KEY and ITEM_BY_KEY[key].dimension == dimension]
        if len(asked) < 2 or any(key not in values for key in asked):
            continue
        keyed = {key: _keyed(key, values[key]) for key in asked}
        result.update(keyed)
        result[_dimension_key(dimension)] = sum(keyed.values())
    return result


async def add(
    connection: BaseDBAsyncClient,
    round_id: int,
    language: str | None,
    values: Mapping[str, int],
    item_keys: Sequence[str],
) -> None:
    """Add one answer sheet to its language's sums (inside the submission's transaction); a language
    without sums (too few invitations) is not recorded anywhere."""
    if not language:
        return
    added = contributions(values, item_keys)
    if not added:
        return
    cases = " ".join("WHEN ? THEN ?" for _ in added)
    keys = list(added)
    params: list[Any] = []
    for key in keys:
        params += [key, added[key]]
    squares: list[Any] = []
    for key in keys:
        squares += [key, added[key] * added[key]]
    query = (
        f'UPDATE "language_tally" SET "n" = "n" + 1, "total" = "total" + CASE "key" {cases} ELSE 0 END, '
        f'"total_sq" = "total_sq" + CASE "key" {cases} ELSE 0 END '
        f'WHERE "round_id" = ? AND "locale" = ? AND "key" IN ({", ".join("?" for _ in keys)})'
    )
    values_list = [*params, *squares, round_id, language, *keys]
    if connection.capabilities.dialect == "postgres":
        parts = query.split("?")
        query = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
    await connection.execute_query(query, values_list)


def _variance(n: int, total: float, total_sq: float) -> float:
    return (total_sq - total * total / n) / (n - 1)


def alpha_from_sums(items: Sequence[tuple[int, float, float]], scale: tuple[int, float, float]) -> float | None:
    """Cronbach's alpha from each item's (n, sum, sum of squares) and the total's, over the same people."""
    k = len(items)
    n = scale[0]
    if k < 2 or n < 2 or any(item[0] != n for item in items):
        return None
    total_variance = _variance(*scale)
    if total_variance <= 0:
        return None
    value = k / (k - 1) * (1 - sum(_variance(*item) for item in items) / total_variance)
    return value if math.isfinite(value) else None


async def release(round_id: int) -> list[dict[str, Any]]:
    """Alpha per language and dimension where at least ``MIN_RESPONDENTS`` people answered the whole
    dimension in that language; the sums that stayed under it are deleted."""
    rows = await LanguageTally.filter(round_id=round_id).values_list("locale", "key", "n", "total", "total_sq")
    by_language: dict[str, dict[str, tuple[int, float, float]]] = {}
    for locale, key, n, total, total_sq in rows:
        by_language.setdefault(str(locale), {})[str(key)] = (int(n), float(total), float(total_sq))
    released: list[dict[str, Any]] = []
    for language, sums in sorted(by_language.items()):
        for dimension in DIMENSION_KEYS:
            scale = sums.get(_dimension_key(dimension))
            if scale is None or scale[0] < MIN_RESPONDENTS:
                continue
            items = [
                value for key, value in sums.items() if key in ITEM_BY_KEY and ITEM_BY_KEY[key].dimension == dimension
            ]
            alpha = alpha_from_sums([item for item in items if item[0] > 0], scale)
            released.append({"locale": language, "dimension": dimension, "respondents": scale[0], "alpha": alpha})
    await LanguageTally.filter(round_id=round_id, n__lt=MIN_RESPONDENTS).delete()
    return released


__all__ = ["MIN_RESPONDENTS", "add", "alpha_from_sums", "contributions", "prepare", "release"]

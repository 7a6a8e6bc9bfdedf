"""Answers to scores: reverse-keying, item and dimension scores on 0-100, and eNPS.

A 0-100 score is the answer's position on the scale: strongly disagree = 0, neutral = 50,
strongly agree = 100, after reverse-keyed answers are flipped. A dimension score is the mean of
its answered item scores, and only exists when at least half of the dimension's asked items were
answered (fewer would let one item speak for the whole dimension).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pulse.domain.errors import InvalidAnswer
from pulse.domain.items import (
    DIMENSION_BY_KEY,
    DIMENSIONS,
    ENPS_MAX,
    ENPS_MIN,
    ITEM_BY_KEY,
    SCALE_MAX,
    SCALE_MIN,
    Item,
)

EnpsCategory = Literal["promoter", "passive", "detractor"]


@dataclass(frozen=True)
class DimensionScore:
    """A score with what a reader needs to interpret it: label and which direction is healthy."""

    dimension: str
    label: str
    higher_is_better: bool
    value: float | None


def _check_answer(key: str, value: int) -> Item:
    item = ITEM_BY_KEY.get(key)
    if item is None:
        raise InvalidAnswer(f"unknown item key {key!r}")
    # bool is an int subclass; a True/False answer is a bug upstream, not a 2/1 rating.
    if isinstance(value, bool) or not isinstance(value, int) or not SCALE_MIN <= value <= SCALE_MAX:
        raise InvalidAnswer(f"answer to {key!r} must be an integer {SCALE_MIN}-{SCALE_MAX}, got {value!r}")
    return item


def keyed_value(key: str, value: int) -> int:
    """The answer on the dimension's direction: reverse-keyed answers are flipped (1<->5, 2<->4)."""
    item = _check_answer(key, value)
    return SCALE_MIN + SCALE_MAX - value if item.reverse else value


def item_score(key: str, value: int) -> float:
    """One answer as 0-100 on its dimension's direction."""
    return (keyed_value(key, value) - SCALE_MIN) * 100.0 / (SCALE_MAX - SCALE_MIN)


def item_scores(answers: Mapping[str, int], asked: Sequence[str]) -> dict[str, float]:
    """0-100 scores of the asked items that were answered; answers to items not asked are ignored."""
    for key in asked:
        if key not in ITEM_BY_KEY:
            raise InvalidAnswer(f"unknown item key {key!r} in the asked items")
    return {key: item_score(key, answers[key]) for key in asked if key in answers}


def score_response(answers: Mapping[str, int], asked: Sequence[str]) -> dict[str, float | None]:
    """Dimension key -> 0-100 score of one respondent, or None when the dimension cannot be scored.

    None means the dimension was not asked, or fewer than half of its asked items were answered.
    Every dimension key appears in the result, in DIMENSIONS order.
    """
    scores = item_scores(answers, asked)
    result: dict[str, float | None] = {}
    for dim in DIMENSIONS:
        asked_here = [k for k in dict.fromkeys(asked) if ITEM_BY_KEY[k].dimension == dim.key]
        answered = [scores[k] for k in asked_here if k in scores]
        if not asked_here or 2 * len(answered) < len(asked_here):
            result[dim.key] = None
        else:
            result[dim.key] = sum(answered) / len(answered)
    return result


def labelled_scores(scores: Mapping[str, float | None]) -> tuple[DimensionScore, ...]:
    """Attach label and direction to dimension scores (as returned by `score_response`)."""
    return tuple(
        DimensionScore(key, DIMENSION_BY_KEY[key].label, DIMENSION_BY_KEY[key].higher_is_better, value)
        for key, value in scores.items()
    )


def enps_category(value: int) -> EnpsCategory:
    """Classify a 0-10 answer: 9-10 promoter, 7-8 passive, 0-6 detractor."""
    if isinstance(value, bool) or not isinstance(value, int) or not ENPS_MIN <= value <= ENPS_MAX:
        raise InvalidAnswer(f"eNPS answer must be an integer {ENPS_MIN}-{ENPS_MAX}, got {value!r}")
    if value >= 9:
        return "promoter"
    if value >= 7:
        return "passive"
    return "detractor"


def enps_score(promoters: int, passives: int, detractors: int) -> float | None:
    """Employee Net Promoter Score, -100..100: % promoters minus % detractors; None without answers."""
    if min(promoters, passives, detractors) < 0:
        raise InvalidAnswer(f"eNPS counts cannot be negative: {promoters}, {passives}, {detractors}")
    total = promoters + passives + detractors
    if total == 0:
        return None
    return 100.0 * (promoters - detractors) / total

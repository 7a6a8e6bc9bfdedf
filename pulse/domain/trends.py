"""Trends: how each dimension moved since the previous round and over the last few rounds.

Like for like, in two senses:

* the same questions: a trend compares scores computed from the anchor items only (asked in every
  round, the same wording every time). The rotating items differ in difficulty by up to half a scale
  point, so a score over "every item asked" moves when the rotation moves, with no change in the
  climate. The current round's picture (scores, comparisons, flags) still uses every item asked;
  only trends are anchor-only.
* the same people: an organisation-wide trend only compares rounds that covered the same
  departments (`same_population`). After a round scoped to one department, "since the previous
  round" is not "since the previous round of anything": a round with another scope is left out of
  the organisation trend, and the report says so. A department's own trend compares the
  department with itself and is unaffected.

Rounds are treated as independent samples (people answer anonymously, so answers cannot be paired
across rounds): a change is the Welch difference between two rounds' means, with its interval (no
finite-population correction; see `stats`). Callers pass None for a round whose figure disclosure
control hides; a change is only computed between two rounds that are both shown.

A change is *claimed* ("an improvement", "a deterioration") only when it holds up after
Benjamini-Yekutieli correction over every change of its family (the organisation's headlines form
one family, the department trend marks another) at `TREND_FALSE_DISCOVERY_RATE`, AND it is at least
`NOTABLE_CHANGE` points. Everything else is reported as "no clear change".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from pulse.domain.items import DIMENSION_BY_KEY
from pulse.domain.stats import DEFAULT_CONFIDENCE, Moments, benjamini_yekutieli, mean_interval, welch_comparison
from pulse.domain.wording import N_, Wording

TREND_WINDOW = 4  # rounds, the current one included, for "over the last rounds"
NOTABLE_CHANGE = 5.0  # points on 0-100: a smaller change is never claimed, however certain
TREND_FALSE_DISCOVERY_RATE = 0.05

Verdict = Literal["improvement", "deterioration"]

TREND_METHODOLOGY_WORDING = Wording(
    N_(
        "Trends compare like with like. Same questions: every trend (organisation, departments, sparklines and the "
        "headline changes) uses only the anchor statements, which are asked in every round with the same wording; the "
        "rotating statements differ in difficulty from round to round, so a score over every statement asked would "
        "move with the rotation alone. This round's own scores, comparisons and flags use every statement asked. Same "
        "people: an organisation-wide trend only includes rounds that covered exactly the same departments as this "
        "one; a round with another scope (for example a round sent to one department) is left out, and the report "
        "says so. When the figures carry privacy noise, only the noisy scores over every statement are released; "
        "trends then move each round's noisy scores onto the anchor statements' scale by that round's "
        "organisation-wide difference between its noisy score over every statement and a noisy organisation-wide "
        "score over the anchors (mean equating through common items, assuming a rotating statement is as hard in one "
        "department as in another). Each round's answers are separate and anonymous, so rounds are compared as "
        "independent samples (Welch's t-test, 95%% interval): 'since the previous round' compares this round with the "
        "one before, 'over the last rounds' with the earliest shown round among the last %(window)s. A rise or fall "
        "is called an improvement or a deterioration only when it is at least %(points)s points and holds up after "
        "Benjamini-Yekutieli correction at a false-discovery rate of %(fdr)s%% over all changes of the same kind (the "
        "organisation's changes together, every department's changes together); otherwise it is 'no clear change'. "
        "A department flagged in the previous round will usually look better this round even if nothing changed: a "
        "group picked out for an extreme score tends to move back towards the average (regression to the mean). Its "
        "change is shown with the part of it that regression alone would explain."
    ),
    {"window": TREND_WINDOW, "points": NOTABLE_CHANGE, "fdr": round(TREND_FALSE_DISCOVERY_RATE * 100)},
)
TREND_METHODOLOGY = TREND_METHODOLOGY_WORDING.text


@dataclass(frozen=True)
class RoundFigure:
    """One round's figure for a group on one dimension; `moments` None = hidden in that round.

    `noise_variance` is the variance of noise added to the released mean (0 without noise).
    """

    label: str
    opened_on: str
    moments: Moments | None
    noise_variance: float = 0.0


@dataclass(frozen=True)
class TrendPoint:
    """A shown round's mean and confidence interval."""

    label: str
    opened_on: str
    mean: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class TrendChange:
    """Change from round `from_label` to round `to_label` (later minus earlier).

    `q_value` is the Benjamini-Yekutieli-adjusted p-value within the change's family and `verdict`
    the claim the report may make (None = no clear change); both are None until `claim_changes`.
    `regression_note` is set for a department flagged in the earlier round on this dimension.
    """

    from_label: str
    to_label: str
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    q_value: float | None = None
    verdict: Verdict | None = None
    expected_from_regression: float | None = None


@dataclass(frozen=True)
class DimensionTrend:
    """The series of one dimension for one group, and its recent changes."""

    dimension: str
    points: tuple[TrendPoint, ...]
    since_previous: TrendChange | None
    over_window: TrendChange | None


def same_population(current: Collection[str], earlier: Collection[str]) -> bool:
    """Whether two rounds covered exactly the same departments (the organisation-trend rule)."""
    return set(current) == set(earlier)


def _change(earlier: RoundFigure, later: RoundFigure, confidence: float) -> TrendChange | None:
    if earlier.moments is None or later.moments is None:
        return None
    comparison = welch_comparison(
        later.moments, earlier.moments, confidence, noise_a=later.noise_variance, noise_b=earlier.noise_variance
    )
    if comparison is None:
        return None
    return TrendChange(
        earlier.label, later.label, comparison.difference, comparison.low, comparison.high, comparison.p_value
    )


def dimension_trend(
    dimension: str, rounds: Sequence[RoundFigure], confidence: float = DEFAULT_CONFIDENCE
) -> DimensionTrend:
    """Trend of one dimension over `rounds` (oldest first, the current round last).

    The changes carry p-values only; `claim_changes` decides, over a whole family, which are claimed.
    """
    points: list[TrendPoint] = []
    for figure in rounds:
        if figure.moments is None:
            continue
        interval = mean_interval(figure.moments, confidence, figure.noise_variance)
        if interval is not None:
            points.append(
                TrendPoint(figure.label, figure.opened_on, interval.mean, interval.low, interval.high, interval.n)
            )
    if len(rounds) < 2:
        return DimensionTrend(dimension, tuple(points), None, None)
    current = rounds[-1]
    since_previous = _change(rounds[-2], current, confidence)
    window = [r for r in rounds[-TREND_WINDOW:-1] if r.moments is not None]
    over_window = _change(window[0], current, confidence) if window else None
    return DimensionTrend(dimension, tuple(points), since_previous, over_window)


def verdict_of(dimension: str, change: TrendChange, q_value: float) -> Verdict | None:
    """The claim for one change, given its adjusted p-value (see the module docstring)."""
    if q_value > TREND_FALSE_DISCOVERY_RATE or abs(change.difference) < NOTABLE_CHANGE:
        return None
    healthy = (change.difference > 0) == DIMENSION_BY_KEY[dimension].higher_is_better
    return "improvement" if healthy else "deterioration"


K = TypeVar("K", bound=Hashable)


def claim_changes(trends: Mapping[K, DimensionTrend]) -> dict[K, DimensionTrend]:
    """Adjust every change in `trends` (one family) with Benjamini-Yekutieli and set the verdicts.

    Benjamini-Yekutieli because the changes of one family are dependent in ways no simple model
    describes (the same rounds, overlapping people across dimensions).
    """
    slots: list[tuple[K, str, TrendChange]] = []
    for key, trend in trends.items():
        for attribute in ("since_previous", "over_window"):
            change = getattr(trend, attribute)
            if change is not None:
                slots.append((key, attribute, change))
    q_values = benjamini_yekutieli([change.p_value for _, _, change in slots])
    updated: dict[tuple[K, str], TrendChange] = {}
    for (key, attribute, change), q in zip(slots, q_values, strict=True):
        verdict = verdict_of(trends[key].dimension, change, q)
        updated[(key, attribute)] = dataclasses.replace(change, q_value=q, verdict=verdict)
    return {
        key: dataclasses.replace(
            trend,
            since_previous=updated.get((key, "since_previous"), trend.since_previous),
            over_window=updated.get((key, "over_window"), trend.over_window),
        )
        for key, trend in trends.items()
    }


def with_regression_note(trend: DimensionTrend, expected_change: float) -> DimensionTrend:
    """`trend` with the change regression to the mean alone would produce attached to `since_previous`."""
    if trend.since_previous is None:
        return trend
    return dataclasses.replace(
        trend, since_previous=dataclasses.replace(trend.since_previous, expected_from_regression=expected_change)
    )

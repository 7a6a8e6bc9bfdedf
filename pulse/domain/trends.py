"""Trends: how each dimension moved since the previous round and over the last few rounds.

Rounds are treated as independent samples (people answer anonymously, so answers cannot be paired
across rounds): a change is the Welch difference between two rounds' means, with its interval.
Callers pass None for a round whose figure disclosure control hides; a change is only computed
between two rounds that are both shown, so suppression in any round is respected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulse.domain.stats import DEFAULT_CONFIDENCE, Moments, mean_interval, welch_comparison

TREND_WINDOW = 4  # rounds, the current one included, for "over the last rounds"

TREND_METHODOLOGY = (
    "Each round's score comes from different, anonymous answers, so rounds are compared as independent samples "
    "(Welch's t-test): 'since the previous round' compares this round with the one before, and 'over the last "
    f"rounds' compares this round with the earliest shown round among the last {TREND_WINDOW} (this one "
    "included). A round where a group was hidden is left out."
)


@dataclass(frozen=True)
class RoundFigure:
    """One round's figure for a group on one dimension; `moments` None = hidden in that round."""

    label: str
    opened_on: str
    moments: Moments | None
    population: int | None
    noise_variance: float = 0.0  # privacy noise on the released mean (pulse.domain.privacy)


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
    """Change from round `from_label` to round `to_label` (later minus earlier)."""

    from_label: str
    to_label: str
    difference: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class DimensionTrend:
    """The series of one dimension for one group, and its recent changes."""

    dimension: str
    points: tuple[TrendPoint, ...]
    since_previous: TrendChange | None
    over_window: TrendChange | None


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
    """Trend of one dimension over `rounds` (oldest first, the current round last)."""
    points: list[TrendPoint] = []
    for figure in rounds:
        if figure.moments is None:
            continue
        interval = mean_interval(figure.moments, figure.population, confidence, figure.noise_variance)
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

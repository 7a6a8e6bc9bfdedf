from __future__ import annotations

import pytest

from pulse.domain.stats import Moments, welch_comparison
from pulse.domain.trends import TREND_WINDOW, RoundFigure, dimension_trend


def _round(label: str, values: list[float] | None, population: int | None = 100) -> RoundFigure:
    return RoundFigure(label, f"2025-{label}", Moments.from_values(values) if values is not None else None, population)


def test_change_since_the_previous_round_is_a_welch_difference_of_independent_rounds() -> None:
    earlier, later = [40.0, 45.0, 50.0, 55.0, 42.0], [55.0, 60.0, 62.0, 58.0, 65.0]
    trend = dimension_trend("fear", [_round("01", earlier), _round("02", later)])
    expected = welch_comparison(Moments.from_values(later), Moments.from_values(earlier))
    assert trend.since_previous is not None and expected is not None
    assert trend.since_previous.difference == pytest.approx(expected.difference)
    assert (trend.since_previous.ci_low, trend.since_previous.ci_high) == (expected.low, expected.high)
    assert [p.label for p in trend.points] == ["01", "02"]


def test_the_window_compares_with_the_earliest_shown_round_of_the_last_few() -> None:
    rounds = [_round(f"{i:02d}", [40.0 + i, 45.0 + i, 50.0 + i]) for i in range(1, 7)]
    rounds[-TREND_WINDOW] = _round("hidden", None)
    trend = dimension_trend("fear", rounds)
    assert trend.over_window is not None and trend.over_window.from_label == f"{6 - TREND_WINDOW + 2:02d}"
    assert trend.over_window.difference == pytest.approx(2.0)
    assert len(trend.points) == 5


def test_a_hidden_previous_round_gives_no_change() -> None:
    trend = dimension_trend("fear", [_round("01", [1.0, 2.0]), _round("02", None), _round("03", [3.0, 4.0])])
    assert trend.since_previous is None
    assert trend.over_window is not None and trend.over_window.from_label == "01"


def test_a_single_round_has_points_but_no_change() -> None:
    trend = dimension_trend("fear", [_round("01", [1.0, 2.0])])
    assert trend.since_previous is None and trend.over_window is None and len(trend.points) == 1
    thin = dimension_trend("fear", [_round("01", [1.0]), _round("02", [2.0])])
    assert thin.points == () and thin.since_previous is None

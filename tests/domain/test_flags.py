"""Flags: planted problems are found, healthy departments are left alone, small noisy departments are not flagged.

The full planted-problem study (40 organisations x 30 departments of 15-30 respondents, three
problems of 0.9 scale points per organisation, 40 healthy organisations alongside) runs in
tests/perf/bench_flags.py; a smaller seeded one runs here.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.domain.errors import InconsistentAggregates
from pulse.domain.flags import (
    FAMILYWISE_ERROR_RATE,
    FLAG_RULE,
    MIN_DIFFERENCE,
    DimensionModel,
    compare_departments,
    decide_flag,
    department_interval,
    fit_dimension_model,
    model_comparison,
    one_sided_p,
)
from pulse.domain.simulation import planted_problem_study
from pulse.domain.stats import Comparison, Moments, benjamini_yekutieli, icc1_from_moments


def _moments(n: int, mean: float, sd: float) -> Moments:
    return Moments(n, n * mean, n * (mean * mean + sd * sd * (n - 1) / n))


def test_planted_problems_are_found_and_healthy_departments_left_alone() -> None:
    study = planted_problem_study(10, seed=11)
    assert study.detection_rate >= 0.9  # measured: 29 of 30
    assert study.false_flags_per_30_healthy <= 1.0  # measured: 0.4
    assert study.false_flags_per_30_in_planted_orgs <= 1.0  # measured: 0.4


def test_the_study_survives_noise_on_released_department_means() -> None:
    # Noise of variance 4 (SD 2 points) on every department mean, as differential privacy adds.
    study = planted_problem_study(6, seed=12, noise_variance=4.0)
    assert study.detection_rate >= 0.85  # measured: 17 of 18
    assert study.false_flags_per_30_healthy <= 1.0  # measured: 0.33


def test_a_small_noisy_department_is_shrunk_towards_the_organisation_and_not_flagged() -> None:
    # Little real spread between departments (ICC ~ 0.01): a department of 6 that is 12 points worse
    # is mostly noise; its shrunk difference stays below the minimum that matters.
    others = {f"D{i}": {"fear": _moments(25, 40.0 + (i % 5 - 2) * 1.0, 17.0)} for i in range(20)}
    small = _moments(6, 52.0, 17.0)
    cells = {**others, "Small": {"fear": small}}
    organization = {"fear": sum((c["fear"] for c in cells.values()), Moments.empty())}
    result = compare_departments(cells, organization)[("Small", "fear")]
    assert result.comparison.difference == pytest.approx(12.0, abs=0.5)
    assert result.reliability < 0.3 and result.shrunk_difference < MIN_DIFFERENCE
    assert result.flag is None


def test_shrinkage_follows_the_reliability_of_the_department_mean() -> None:
    model = DimensionModel(within_variance=300.0, between_variance=30.0, df=500.0)
    assert model.reliability(10) == pytest.approx(30 / (30 + 30))
    assert model.reliability(10, noise_variance=30.0) == pytest.approx(30 / 90)
    assert DimensionModel(300.0, 0.0, 500.0).reliability(10) == 0.0
    department, rest = _moments(10, 60.0, 17.0), _moments(990, 40.0, 17.0)
    result = model_comparison(department, rest, model)
    assert result is not None
    comparison, shrunk, reliability = result
    assert reliability == pytest.approx(0.5)
    assert shrunk == pytest.approx(20.0 * (10 + 0.5 * 990) / 1000)
    se = math.sqrt(300.0 * (1 / 10 + 1 / 990))
    assert comparison.high - comparison.difference == pytest.approx(1.96 * se, rel=0.01)


def test_a_department_interval_is_narrower_than_its_comparison_with_the_rest() -> None:
    model = DimensionModel(300.0, 20.0, 400.0)
    department, rest = _moments(12, 55.0, 20.0), _moments(300, 45.0, 17.0)
    interval = department_interval(department, model)
    result = model_comparison(department, rest, model)
    assert interval is not None and result is not None
    assert 0 < interval.high - interval.low < result[0].high - result[0].low


def test_the_model_is_the_one_way_anova_with_n0() -> None:
    groups = [_moments(n, 40.0 + 6 * i, 15.0) for i, n in enumerate((5, 12, 30, 8))]
    model = fit_dimension_model(groups)
    icc = icc1_from_moments(groups)
    assert model is not None and icc is not None and icc > 0
    assert model.between_variance / (model.between_variance + model.within_variance) == pytest.approx(icc)
    assert fit_dimension_model(groups[:1]) is None


def test_significance_alone_does_not_flag_a_small_difference() -> None:
    # 2,000 vs 20,000 people: a 3-point gap is certain but does not matter.
    big = _moments(2000, 53.0, 15.0)
    org = big + _moments(20000, 50.0, 15.0)
    result = compare_departments({"Big": {"fear": big}}, {"fear": org})[("Big", "fear")]
    assert result.comparison.p_value < 1e-6 and result.flag is None


def test_only_the_unhealthy_direction_is_flagged() -> None:
    better = Comparison(-20.0, -25.0, -15.0, 1e-9, -1.2, 20, 500)
    assert decide_flag("fear", -15.0, 1e-6) is None
    assert decide_flag("initiative", -15.0, 1e-6) == "low_initiative"
    assert one_sided_p("fear", better) == pytest.approx(1 - 5e-10)
    assert decide_flag("initiative", -15.0, FAMILYWISE_ERROR_RATE * 2) is None
    assert decide_flag("initiative", -(MIN_DIFFERENCE - 0.1), 1e-9) is None


def test_one_problem_among_many_departments_needs_only_holms_threshold() -> None:
    # 30 departments of 20 and one of 15 that is 13 points worse on initiative. Departments differ
    # (±9 points), so the shrunk difference passes 5 points. Alone among 31 comparisons, its one-sided
    # p-value (0.002) survives Holm's correction at 10%; Benjamini-Yekutieli, which pays
    # 1 + 1/2 + ... + 1/31 = 4 at every rank for arbitrary dependence, would not have flagged it.
    cells = {f"D{i:02d}": {"initiative": _moments(20, 60.0 + (i % 5 - 2) * 4.5, 17.0)} for i in range(30)}
    cells["Problem"] = {"initiative": _moments(15, 47.0, 17.0)}
    organization = {"initiative": sum((c["initiative"] for c in cells.values()), Moments.empty())}
    result = compare_departments(cells, organization)
    problem = result[("Problem", "initiative")]
    p_values = [one_sided_p("initiative", c.comparison) for c in result.values()]
    by_q = dict(zip(result, benjamini_yekutieli(p_values), strict=True))
    assert problem.q_value <= FAMILYWISE_ERROR_RATE < by_q[("Problem", "initiative")]
    assert problem.flag == "low_initiative" and problem.shrunk_difference <= -MIN_DIFFERENCE
    assert [key for key, c in result.items() if c.flag] == [("Problem", "initiative")]


def test_the_noise_on_a_department_counts_as_the_laplace_draw_it_is() -> None:
    # The same noise variance, once as a normal and once as one Laplace draw of that variance (scale
    # 3, variance 18): the Laplace tail is heavier, so the difference is less surprising.
    model = DimensionModel(within_variance=300.0, between_variance=20.0, df=600.0)
    department, rest = _moments(15, 62.0, 17.0), _moments(600, 48.0, 17.0)
    as_normal = model_comparison(department, rest, model, noise_variance=18.0)
    as_laplace = model_comparison(department, rest, model, noise_variance=18.0, noise_scale=3.0)
    assert as_normal is not None and as_laplace is not None
    assert as_laplace[0].p_value > 1.05 * as_normal[0].p_value
    assert as_laplace[0].low == as_normal[0].low and as_laplace[1:] == as_normal[1:]
    with pytest.raises(InconsistentAggregates):
        model_comparison(department, rest, model, noise_variance=1.0, noise_scale=3.0)


def test_dimensions_without_an_organisation_figure_are_not_compared() -> None:
    moments = Moments.from_values([1.0, 2.0, 3.0])
    assert compare_departments({"A": {"fear": moments}}, {}) == {}
    assert compare_departments({"A": {"fear": moments}}, {"fear": moments}) == {}  # empty rest


def test_the_flag_rule_states_its_thresholds() -> None:
    assert f"{MIN_DIFFERENCE:g} points" in FLAG_RULE and "Holm" in FLAG_RULE
    assert f"familywise error rate of {FAMILYWISE_ERROR_RATE:.0%}" in FLAG_RULE


@settings(max_examples=60)
@given(
    st.integers(2, 200),
    st.floats(0.0, 500.0),
    st.floats(1.0, 500.0),
    st.floats(0.0, 100.0),
)
def test_reliability_lies_in_0_1_and_falls_with_noise_and_rises_with_size(
    n: int, between: float, within: float, noise: float
) -> None:
    model = DimensionModel(within, between, 100.0)
    r = model.reliability(n, noise)
    assert 0.0 <= r <= 1.0
    assert model.reliability(n, noise + 1.0) <= r + 1e-12
    assert model.reliability(n + 1, noise) >= r - 1e-12

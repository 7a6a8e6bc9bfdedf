"""Driver analysis: relative weights against an independent method, and recovery of a planted driver."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.domain.drivers import (
    MIN_DRIVER_RESPONDENTS,
    DriverMoments,
    analyse,
    general_dominance,
    headline,
    r_squared,
    relative_weights,
)
from pulse.domain.items import DIMENSION_KEYS
from pulse.domain.simulation import DepartmentSpec, simulate_round


def _random_correlation(rng: np.random.Generator, p: int = 5) -> np.ndarray:
    data = rng.normal(size=(200, p)) @ rng.normal(size=(p, p))
    return np.corrcoef(data, rowvar=False)


def _shapley_by_permutations(correlation: np.ndarray) -> np.ndarray:
    # An independent route to the same exact quantity: average each predictor's R² gain over every
    # ordering of the predictors (general dominance = Shapley value of R²).
    p = correlation.shape[0] - 1
    weights = np.zeros(p)
    orders = list(itertools.permutations(range(p)))
    for order in orders:
        before: list[int] = []
        for j in order:
            weights[j] += r_squared(correlation, [*before, j]) - r_squared(correlation, before)
            before.append(j)
    return weights / len(orders)


# mtcars (Henderson & Velleman 1981; R's `datasets::mtcars`): cyl, disp, hp, wt and mpg of 32 cars.
MTCARS = (
    (6, 160, 110, 2.62, 21), (6, 160, 110, 2.875, 21), (4, 108, 93, 2.32, 22.8), (6, 258, 110, 3.215, 21.4),
    (8, 360, 175, 3.44, 18.7), (6, 225, 105, 3.46, 18.1), (8, 360, 245, 3.57, 14.3), (4, 146.7, 62, 3.19, 24.4),
    (4, 140.8, 95, 3.15, 22.8), (6, 167.6, 123, 3.44, 19.2), (6, 167.6, 123, 3.44, 17.8), (8, 275.8, 180, 4.07, 16.4),
    (8, 275.8, 180, 3.73, 17.3), (8, 275.8, 180, 3.78, 15.2), (8, 472, 205, 5.25, 10.4), (8, 460, 215, 5.424, 10.4),
    (8, 440, 230, 5.345, 14.7), (4, 78.7, 66, 2.2, 32.4), (4, 75.7, 52, 1.615, 30.4), (4, 71.1, 65, 1.835, 33.9),
    (4, 120.1, 97, 2.465, 21.5), (8, 318, 150, 3.52, 15.5), (8, 304, 150, 3.435, 15.2), (8, 350, 245, 3.84, 13.3),
    (8, 400, 175, 3.845, 19.2), (4, 79, 66, 1.935, 27.3), (4, 120.3, 91, 2.14, 26), (4, 95.1, 113, 1.513, 30.4),
    (8, 351, 264, 3.17, 15.8), (6, 145, 175, 2.77, 19.7), (8, 301, 335, 3.57, 15), (4, 121, 109, 2.78, 21.4),
)  # fmt: skip


def test_relative_weights_reproduce_the_r_package_rwa_on_mtcars() -> None:
    # Reference: the documented output of the R package `rwa` (Martin Chan; an implementation of
    # Johnson 2000 following Tonidandel & LeBreton's RWA-Web), vignette "Regression methods":
    # rwa_multiregress(mtcars, "mpg", c("cyl", "disp", "hp", "wt")) gives raw relative weights
    # 0.2096904, 0.1883043, 0.1799590, 0.2706812 and rescaled weights 24.70914, 22.18908, 21.20570,
    # 31.89607 (%). Not a value from Johnson's or Tonidandel & LeBreton's papers: an independent
    # implementation's published result on public data.
    moments = DriverMoments.from_rows([[float(v) for v in row] for row in MTCARS])
    covariance = moments.covariance()
    assert covariance is not None and moments.n == 32
    sd = np.sqrt(np.diag(covariance))
    weights = relative_weights(covariance / np.outer(sd, sd))
    assert weights is not None
    assert weights == pytest.approx([0.2096904, 0.1883043, 0.1799590, 0.2706812], abs=5e-8)
    assert 100 * weights / weights.sum() == pytest.approx([24.70914, 22.18908, 21.20570, 31.89607], abs=5e-6)
    # R² of mpg on the four (lm(mpg ~ cyl + disp + hp + wt): 0.8486): the weights split it exactly.
    assert weights.sum() == pytest.approx(0.8486348, abs=5e-8)


def test_relative_weights_stay_close_to_exact_general_dominance_on_mtcars() -> None:
    # General dominance by brute force over every subset of the four (exact, no approximation): the
    # second, independent reference. Johnson's weights approximate it: same R², shares within 2 points.
    moments = DriverMoments.from_rows([[float(v) for v in row] for row in MTCARS])
    covariance = moments.covariance()
    assert covariance is not None
    sd = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(sd, sd)
    weights, dominance = relative_weights(correlation), general_dominance(correlation)
    assert weights is not None
    assert dominance.sum() == pytest.approx(weights.sum())
    assert np.abs(weights / weights.sum() - dominance / dominance.sum()).max() < 0.02
    assert int(np.argmax(weights)) == int(np.argmax(dominance)) == 3  # weight matters most


def test_relative_weights_add_up_to_r_squared_and_equal_squared_correlations_when_predictors_are_orthogonal() -> None:
    correlation = np.eye(5)
    correlation[:4, 4] = correlation[4, :4] = [0.5, 0.3, 0.2, 0.1]
    weights = relative_weights(correlation)
    assert weights is not None
    assert weights == pytest.approx([0.25, 0.09, 0.04, 0.01])
    assert weights.sum() == pytest.approx(r_squared(correlation, [0, 1, 2, 3]))


def test_general_dominance_by_subsets_equals_the_shapley_value_by_orderings() -> None:
    correlation = _random_correlation(np.random.default_rng(1))
    assert general_dominance(correlation) == pytest.approx(_shapley_by_permutations(correlation))
    assert general_dominance(correlation).sum() == pytest.approx(r_squared(correlation, [0, 1, 2, 3]))


def _climate_correlation(rng: np.random.Generator) -> np.ndarray:
    # The structure climate dimensions have: one common factor (loadings 0.3-0.8) and an outcome that
    # depends on each dimension with a non-negative weight.
    loadings, effects = rng.uniform(0.3, 0.8, 4), rng.uniform(0.0, 0.5, 4)
    rxx = np.outer(loadings, loadings)
    np.fill_diagonal(rxx, 1.0)
    correlation = np.eye(5)
    correlation[:4, :4] = rxx
    correlation[:4, 4] = correlation[4, :4] = rxx @ effects / np.sqrt(effects @ rxx @ effects + 1.0)
    return correlation


def test_with_two_predictors_relative_weights_are_exactly_the_dominance_weights() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        correlation = _random_correlation(rng, 3)
        weights = relative_weights(correlation)
        assert weights is not None
        assert weights == pytest.approx(general_dominance(correlation), abs=1e-12)


def test_relative_weights_agree_with_exact_dominance_weights_on_correlated_dimensions() -> None:
    # Johnson's weights approximate general dominance (Johnson 2000; LeBreton et al. 2004). On
    # correlation structures like the climate dimensions': the same top predictor, shares of R²
    # within 3 points (measured: at most 1.2 points over 200 structures).
    rng = np.random.default_rng(7)
    same_top = 0
    for _ in range(60):
        correlation = _climate_correlation(rng)
        weights, dominance = relative_weights(correlation), general_dominance(correlation)
        assert weights is not None
        assert weights.sum() == pytest.approx(dominance.sum())
        share, exact = weights / weights.sum(), dominance / dominance.sum()
        assert np.abs(share - exact).max() < 0.03
        same_top += int(np.argmax(share) == np.argmax(exact))
    assert same_top >= 57  # a different top only where two weights are nearly tied


def test_the_planted_driver_ranks_first_in_at_least_90_percent_of_simulations_at_n_200() -> None:
    # Fear moves the outcome most; the dimensions correlate (0.4), as real ones do.
    drivers = {"fear": 0.5, "initiative": 0.2, "consistency": 0.15, "collaboration": 0.1}
    simulations, first = 30, 0
    for seed in range(simulations):
        simulated = simulate_round(
            [DepartmentSpec("All", 200, 1.0)],
            seed=500 + seed,
            outcome_drivers=drivers,
            dimension_correlation=0.4,
            ask_network=False,
            comment_rate=0.0,
        )
        moments = simulated.aggregates()[0].driver_moments
        result = analyse("All", moments, replicates=50)
        assert result is not None and 180 <= result.n <= 200
        first += result.main.dimension == "fear"
    assert first / simulations >= 0.9  # measured: 30 of 30


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate() -> None:
    simulated = simulate_round([DepartmentSpec("All", 150, 1.0)], seed=3, dimension_correlation=0.3)
    moments = simulated.aggregates()[0].driver_moments
    once, again = analyse("All", moments), analyse("All", moments)
    assert once is not None and once == again
    assert sum(w.share for w in once.weights) == pytest.approx(1.0)
    assert [w.share for w in once.weights] == sorted((w.share for w in once.weights), reverse=True)
    for weight in once.weights:
        assert 0 <= weight.share_low <= weight.share_high <= 1
    assert once.r_squared_low <= once.r_squared <= once.r_squared_high
    assert sum(w.first for w in once.weights) == pytest.approx(1.0)
    assert "initiative" in headline(once) or "permission" in headline(once) or "holds back" in headline(once)


def test_fewer_than_the_minimum_respondents_give_no_driver_analysis() -> None:
    simulated = simulate_round([DepartmentSpec("Small", MIN_DRIVER_RESPONDENTS - 1, 1.0)], seed=4)
    assert analyse("Small", simulated.aggregates()[0].driver_moments) is None
    assert analyse("Nobody", DriverMoments.empty()) is None


def test_driver_moments_add_up_like_the_groups_they_summarise() -> None:
    rows = [[float(i), float(i % 3), float(i % 5), float(i % 7), float(i % 4)] for i in range(20)]
    whole = DriverMoments.from_rows(rows)
    parts = DriverMoments.from_rows(rows[:8]) + DriverMoments.from_rows(rows[8:])
    covariance, expected = parts.covariance(), np.cov(np.asarray(rows), rowvar=False)
    assert covariance is not None and whole.n == parts.n == 20
    assert covariance == pytest.approx(expected)
    assert DriverMoments.from_rows([[1.0, None, 2.0, 3.0, 4.0]]).n == 0


@settings(max_examples=40)
@given(st.integers(0, 10_000))
def test_relative_weights_are_non_negative_and_sum_to_r_squared(seed: int) -> None:
    correlation = _random_correlation(np.random.default_rng(seed))
    weights = relative_weights(correlation)
    assert weights is not None
    assert (weights >= -1e-12).all()
    assert weights.sum() == pytest.approx(r_squared(correlation, list(range(len(DIMENSION_KEYS)))))


def test_a_scoped_report_keeps_only_the_driver_analyses_of_departments_in_scope() -> None:
    from pulse.domain.scoped_report import scope_model
    from pulse.domain.units import name_path

    model = {
        "departments": [{"name": "Retail / North"}, {"name": "Operations / Warehouse"}],
        "drivers": {
            "organization": {"group": "Organisation"},
            "departments": [{"group": "Retail / North"}, {"group": "Operations / Warehouse"}],
        },
    }
    scoped = scope_model(model, [name_path("Retail")])
    assert [g["group"] for g in scoped["drivers"]["departments"]] == ["Retail / North"]
    assert scoped["drivers"]["organization"] == {"group": "Organisation"}

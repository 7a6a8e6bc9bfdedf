from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy import stats as sps

from pulse.domain.errors import InconsistentAggregates
from pulse.domain.stats import (
    CrossMoments,
    Moments,
    benjamini_hochberg,
    benjamini_yekutieli,
    cronbach_alpha,
    cronbach_alpha_from_moments,
    enps_interval,
    holm,
    icc1,
    icc1_from_moments,
    icc2,
    icc2_from_moments,
    mean_interval,
    null_variance,
    one_way_anova,
    rwg_j,
    rwg_j_from_moments,
    upper_tail_with_laplace,
    welch_comparison,
)

# Shrout & Fleiss (1979), Table 2: six targets rated by four judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]

answer = st.integers(1, 5)


def _grouped(rows: list[list[int]]) -> tuple[list[float], list[int]]:
    return [float(v) for row in rows for v in row], [g for g, row in enumerate(rows) for _ in row]


# ---------------------------------------------------------------- published values


def test_icc_of_shrout_and_fleiss_ratings_grouped_by_target() -> None:
    values, groups = _grouped(SHROUT_FLEISS)
    assert icc1(values, groups) == pytest.approx(0.1657, abs=5e-5)
    assert icc2(values, groups) == pytest.approx(0.4428, abs=5e-5)


def test_shrout_and_fleiss_anova_mean_squares() -> None:
    values, groups = _grouped(SHROUT_FLEISS)
    by_group = [Moments.from_values(v for v, g in zip(values, groups, strict=True) if g == i) for i in range(6)]
    anova = one_way_anova(by_group)
    assert anova is not None
    # Shrout & Fleiss report BMS = 11.24 and WMS = 6.26.
    assert anova.msb == pytest.approx(11.24, abs=0.005)
    assert anova.msw == pytest.approx(6.26, abs=0.005)
    assert anova.mean_group_size == 4


def test_alpha_of_shrout_and_fleiss_judges_equals_their_published_icc_3_k() -> None:
    # Cronbach's alpha with judges as items is ICC(3,k), which Shrout & Fleiss give as .91.
    alpha = cronbach_alpha(SHROUT_FLEISS)
    assert alpha is not None
    assert round(alpha, 2) == 0.91


def test_reversing_a_negatively_worded_item_repairs_alpha() -> None:
    # The textbook case: two items agree, a third is worded the other way round. Left unreversed,
    # its covariances are negative: item variances sum to 7.5 but the total score varies only
    # by 2.5, so alpha = 3/2 * (1 - 7.5/2.5) = -3. Reversed (6 - x), the items agree: alpha = 1.
    rows = [[1, 1, 5], [2, 2, 4], [3, 3, 3], [4, 4, 2], [5, 5, 1]]
    assert cronbach_alpha(rows) == pytest.approx(-3.0)
    assert cronbach_alpha([[a, b, 6 - c] for a, b, c in rows]) == pytest.approx(1.0)


def test_reverse_keying_in_a_realistic_scale_lowers_alpha_when_forgotten() -> None:
    rng = random.Random(4)
    rows = []
    for _ in range(200):
        trait = rng.gauss(0, 1)
        rows.append([min(5, max(1, round(3 + trait + rng.gauss(0, 0.7)))) for _ in range(4)])
    keyed = cronbach_alpha(rows)
    forgotten = cronbach_alpha([[a, b, c, 6 - d] for a, b, c, d in rows])
    assert keyed is not None and forgotten is not None
    assert keyed > 0.8 and forgotten < keyed - 0.4


def test_rwg_j_of_perfect_agreement_is_one_and_of_uniform_spread_is_zero() -> None:
    assert rwg_j([[4, 4, 4], [4, 4, 4], [4, 4, 4]], 5) == 1.0
    # Answers spread more than a uniform null (variance 2 on a 5-point scale): capped to 0.
    assert rwg_j([[1, 1], [5, 5], [1, 1], [5, 5]], 5) == 0.0


def test_rwg_j_matches_james_demaree_and_wolf_formula() -> None:
    rows = [[3, 4, 4], [4, 4, 5], [4, 5, 4], [3, 4, 4]]
    mean_var = float(np.var(np.array(rows, dtype=float), axis=0, ddof=1).mean())
    ratio = mean_var / 2.0
    expected = 3 * (1 - ratio) / (3 * (1 - ratio) + ratio)
    assert rwg_j(rows, 5) == pytest.approx(expected)
    assert null_variance(5) == 2.0


def test_rwg_j_needs_two_complete_rows() -> None:
    assert rwg_j([[3, 4]], 5) is None
    assert rwg_j([[3, 4], [4, None]], 5) is None
    assert rwg_j_from_moments([Moments.from_values([3])], 5) is None
    assert rwg_j_from_moments([], 5) is None
    with pytest.raises(InconsistentAggregates):
        rwg_j([[1], [1]], 1)


def test_alpha_is_undefined_for_one_item_or_one_row_or_no_variance() -> None:
    assert cronbach_alpha([[1], [2]]) is None
    assert cronbach_alpha([[1, 2]]) is None
    assert cronbach_alpha([[3, 3], [3, 3]]) is None
    assert cronbach_alpha([[1, None], [2, 3]]) is None  # listwise deletion leaves one row


def test_alpha_from_moments_is_undefined_without_pairs() -> None:
    moments = {"a": Moments.from_values([1, 2, 3]), "b": Moments.from_values([1, 2, 3])}
    assert cronbach_alpha_from_moments(["a"], moments, {}) is None
    assert cronbach_alpha_from_moments(["a", "b"], moments, {}) is None
    assert cronbach_alpha_from_moments(["a", "c"], moments, {}) is None


def test_icc_is_undefined_with_one_group_or_no_spread() -> None:
    assert icc1([1.0, 2.0], ["a", "a"]) is None
    assert icc2([1.0, 2.0], ["a", "b"]) is None  # no within-group degrees of freedom
    assert icc1_from_moments([Moments.from_values([3, 3]), Moments.from_values([3, 3])]) is None
    assert icc2_from_moments([Moments.from_values([3, 3]), Moments.from_values([3, 3])]) is None
    with pytest.raises(InconsistentAggregates):
        icc1([1.0], ["a", "b"])


# ---------------------------------------------------------------- moments


def test_moments_add_and_subtract_like_the_groups_they_summarise() -> None:
    a, b = Moments.from_values([1, 2, 3]), Moments.from_values([4, 5, None])
    both = a + b
    assert both == Moments.from_values([1, 2, 3, 4, 5])
    assert both - b == a
    assert both.mean == 3.0 and both.variance == pytest.approx(2.5)
    assert Moments.empty().mean is None and Moments.from_values([1]).variance is None
    with pytest.raises(InconsistentAggregates):
        _ = a - both


def test_cross_moments_add_and_give_the_pairwise_covariance() -> None:
    pairs = [(1, 2), (2, 4), (3, 5), (None, 1), (4, None)]
    cross = CrossMoments.from_pairs(pairs[:2]) + CrossMoments.from_pairs(pairs[2:])
    assert cross == CrossMoments.from_pairs(pairs)
    assert cross.n == 3
    assert cross.covariance == pytest.approx(float(np.cov([1, 2, 3], [2, 4, 5])[0, 1]))
    assert CrossMoments.empty().covariance is None


# ---------------------------------------------------------------- intervals and comparisons


def test_a_mean_interval_without_population_is_the_usual_t_interval() -> None:
    values = [40.0, 55.0, 60.0, 70.0, 35.0, 50.0]
    interval = mean_interval(Moments.from_values(values))
    assert interval is not None
    low, high = sps.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sps.sem(values))
    assert (interval.low, interval.high) == (pytest.approx(low), pytest.approx(high))


def test_noise_on_a_released_mean_widens_its_interval_by_its_variance() -> None:
    # Replaces the finite-population correction (dropped: see the note in pulse.domain.stats): a
    # full census keeps its sampling interval, and added noise adds its variance.
    moments = Moments.from_values([40.0, 55.0, 60.0, 70.0, 35.0, 50.0])
    plain, noisy = mean_interval(moments), mean_interval(moments, noise_variance=9.0)
    assert plain is not None and noisy is not None
    se = math.sqrt(float(np.var([40.0, 55.0, 60.0, 70.0, 35.0, 50.0], ddof=1)) / 6 + 9.0)
    assert noisy.high - noisy.mean == pytest.approx(sps.t.ppf(0.975, 5) * se)
    assert noisy.high - noisy.low > plain.high - plain.low
    assert mean_interval(Moments.empty()) is None
    assert mean_interval(Moments.from_values([50.0])) is None
    with pytest.raises(InconsistentAggregates, match="-1"):
        mean_interval(moments, noise_variance=-1.0)


def test_noise_adds_to_a_welch_comparison_and_the_degrees_of_freedom_stay_those_of_the_answers() -> None:
    a, b = Moments.from_values([40.0, 50.0, 60.0, 55.0]), Moments.from_values([45.0, 52.0, 58.0, 61.0, 49.0])
    plain, noisy = welch_comparison(a, b), welch_comparison(a, b, noise_a=4.0, noise_b=0.0)
    assert plain is not None and noisy is not None
    sa, sb = (a.variance or 0) / a.n, (b.variance or 0) / b.n
    df = (sa + sb) ** 2 / (sa**2 / (a.n - 1) + sb**2 / (b.n - 1))
    assert noisy.high - noisy.difference == pytest.approx(sps.t.ppf(0.975, df) * math.sqrt(sa + sb + 4.0))
    assert noisy.p_value > plain.p_value


def test_icc1_uses_the_anova_adjusted_group_size_n0_with_unequal_groups() -> None:
    # Three groups of 2, 3 and 7: n0 = (12 - (4 + 9 + 49) / 12) / 2 = 3.4167, the mean size would be 4.
    groups = [[1.0, 2.0], [4.0, 5.0, 6.0], [2.0, 3.0, 2.0, 4.0, 3.0, 2.0, 3.0]]
    values, labels = [v for g in groups for v in g], [i for i, g in enumerate(groups) for _ in g]
    anova = one_way_anova([Moments.from_values(g) for g in groups])
    assert anova is not None and anova.n0 == pytest.approx((12 - 62 / 12) / 2)
    expected = (anova.msb - anova.msw) / (anova.msb + (anova.n0 - 1) * anova.msw)
    assert icc1(values, labels) == pytest.approx(expected)
    assert anova.between_variance == pytest.approx((anova.msb - anova.msw) / anova.n0)


def test_benjamini_yekutieli_agrees_with_scipy() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.2, 0.0001]
    assert benjamini_yekutieli(p) == pytest.approx(tuple(sps.false_discovery_control(p, method="by")))
    assert benjamini_yekutieli([]) == ()


def test_holm_adjusts_by_hand_like_the_step_down_procedure() -> None:
    # Sorted p-values times m, m - 1, ..., 1, made non-decreasing (Holm 1979): 0.05, 0.08, 0.09, 0.08 -> 0.09, ...
    assert holm([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx((0.05, 0.08, 0.09, 0.09, 0.09))
    assert holm([0.04, 0.005, 0.03, 0.01]) == pytest.approx((0.06, 0.02, 0.06, 0.03))
    assert holm([0.6, 0.9]) == (1.0, 1.0)
    assert holm([]) == ()


def test_holm_keeps_the_familywise_error_rate_of_negatively_dependent_department_contrasts() -> None:
    # 30 departments of 15-30 people, all alike; each compared one-sided with the rest of the
    # organisation (the contrasts share people, so they are negatively correlated). The share of
    # organisations with ANY adjusted p-value at or below 10% stays at or below 10% (3 standard errors
    # of Monte Carlo error allowed), and is not trivially small either.
    rng = np.random.default_rng(11)
    families, hits = 3000, 0
    sizes = rng.integers(15, 31, size=30)
    total = sizes.sum()
    for _ in range(families):
        means = rng.normal(0.0, 1.0 / np.sqrt(sizes))
        rest = (total * np.average(means, weights=sizes) - sizes * means) / (total - sizes)
        z = (means - rest) / np.sqrt(1.0 / sizes + 1.0 / (total - sizes))
        hits += min(holm(list(sps.norm.sf(z)))) <= 0.10
    rate = hits / families
    assert 0.05 <= rate <= 0.10 + 3 * math.sqrt(0.1 * 0.9 / families), rate


def _normal_laplace_tail(x: float, s: float, b: float) -> float:
    # Closed form of P(N(0, s²) + Laplace(0, b) >= x) (the normal-Laplace distribution, Reed & Jorgensen
    # 2004), written with log-cdfs so that it does not overflow.
    a = s * s / (2 * b * b)
    up = math.exp(a - x / b + sps.norm.logcdf(x / s - s / b))
    down = math.exp(a + x / b + sps.norm.logcdf(-x / s - s / b))
    return float(sps.norm.sf(x / s)) + 0.5 * (up - down)


@pytest.mark.parametrize("s, b", [(1.0, 0.1), (1.0, 0.34), (1.0, 1.0), (2.0, 0.5), (1.0, 3.0)])
def test_the_tail_over_laplace_noise_matches_the_normal_laplace_closed_form(s: float, b: float) -> None:
    for x in (-3.0, -0.5, 0.0, 0.7, 2.0, 4.0, 8.0):
        assert upper_tail_with_laplace(x, s, b, math.inf) == pytest.approx(_normal_laplace_tail(x, s, b), rel=1e-6)


def test_the_tail_over_laplace_noise_integrates_students_t_too() -> None:
    for s, b in ((1.0, 0.4), (1.0, 2.5)):  # Gauss-Laguerre nodes, and adaptive quadrature past them
        for x in (-1.0, 0.5, 3.0, 6.0):

            def density(noise: float, x: float = x, s: float = s, b: float = b) -> float:
                return math.exp(-abs(noise) / b) / (2 * b) * float(sps.t.sf((x - noise) / s, 8))

            expected = integrate.quad(density, -math.inf, math.inf)[0]
            assert upper_tail_with_laplace(x, s, b, 8.0) == pytest.approx(expected, rel=1e-5, abs=1e-12)
    assert upper_tail_with_laplace(1.0, 0.0, 2.0, 8.0) == pytest.approx(0.5 * math.exp(-0.5))
    assert upper_tail_with_laplace(-1.0, 0.0, 2.0, 8.0) == pytest.approx(1 - 0.5 * math.exp(-0.5))
    assert upper_tail_with_laplace(2.0, 1.0, 0.0, 8.0) == pytest.approx(sps.t.sf(2.0, 8))
    with pytest.raises(InconsistentAggregates):
        upper_tail_with_laplace(1.0, -1.0, 1.0, 8.0)


def test_the_laplace_tail_is_calibrated_where_treating_the_noise_as_normal_is_not() -> None:
    # Noise as large as the sampling error. The threshold with a 0.1% tail from the exact convolution
    # is exceeded 0.1% of the time; the normal shortcut (noise variance added to the sampling
    # variance) puts the threshold where it is exceeded almost four times as often.
    rng = np.random.default_rng(5)
    draws = rng.normal(0.0, 1.0, 400_000) + rng.laplace(0.0, 1.0, 400_000)
    exact = optimize.brentq(lambda x: upper_tail_with_laplace(x, 1.0, 1.0, math.inf) - 0.001, 0.0, 20.0)
    shortcut = float(sps.norm.isf(0.001)) * math.sqrt(1.0 + 2.0)
    assert (draws >= exact).mean() == pytest.approx(0.001, abs=0.00025)
    assert (draws >= shortcut).mean() > 0.003


def test_noise_on_group_means_does_not_pass_for_differences_between_groups() -> None:
    # Groups alike (no between-group variance), each released mean with noise of variance 6 (a third
    # of its sampling variance): with the noise accounted for, the ANOVA's between-group variance
    # averages about 0 over many organisations; without, it averages about the noise variance.
    rng = np.random.default_rng(2)
    corrected, naive = [], []
    for _ in range(400):
        groups, noise = [], []
        for n in rng.integers(15, 31, size=30):
            values = rng.normal(50.0, 17.0, size=n) + rng.laplace(0.0, math.sqrt(3.0))
            groups.append(Moments.from_values(values.tolist()))
            noise.append(6.0)
        with_noise, without = one_way_anova(groups, noise), one_way_anova(groups)
        assert with_noise is not None and without is not None
        corrected.append((with_noise.msb - with_noise.msw - with_noise.noise_msb) / with_noise.n0)
        naive.append((without.msb - without.msw) / without.n0)
    assert abs(float(np.mean(corrected))) < 0.8
    assert float(np.mean(naive)) > 4.0
    icc = icc1_from_moments(groups, noise)
    assert icc is not None and icc < (icc1_from_moments(groups) or 0.0)
    with pytest.raises(InconsistentAggregates):
        one_way_anova(groups, noise[:-1])


def test_enps_interval_is_the_adjusted_wald_interval() -> None:
    # 40 promoters, 35 passives, 25 detractors: eNPS 15; adjusted: n' = 103, p = 40.75/103, d = 25.75/103.
    result = enps_interval(40, 35, 25)
    assert result is not None and result.score == pytest.approx(15.0)
    p, d = 40.75 / 103, 25.75 / 103
    half = 1.959964 * math.sqrt((p + d - (p - d) ** 2) / 103)
    assert (result.low, result.high) == (pytest.approx(100 * (p - d - half)), pytest.approx(100 * (p - d + half)))
    assert enps_interval(0, 0, 0) is None
    everyone = enps_interval(10, 0, 0)
    assert everyone is not None and everyone.high <= 100.0 and everyone.low < 100.0


def test_the_enps_interval_covers_the_true_score_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(4)
    truth = (0.3, 0.45, 0.25)  # eNPS 5
    covered = 0
    for _ in range(2000):
        p, pa, d = rng.multinomial(40, truth)
        interval = enps_interval(int(p), int(pa), int(d))
        assert interval is not None
        covered += interval.low <= 5.0 <= interval.high
    assert 0.93 <= covered / 2000 <= 0.97


def test_welch_comparison_agrees_with_scipy() -> None:
    rng = random.Random(1)
    a = [rng.gauss(60, 15) for _ in range(20)]
    b = [rng.gauss(50, 10) for _ in range(300)]
    result = welch_comparison(Moments.from_values(a), Moments.from_values(b))
    assert result is not None
    reference = sps.ttest_ind(a, b, equal_var=False)
    assert result.p_value == pytest.approx(reference.pvalue)
    ci = reference.confidence_interval(0.95)
    assert (result.low, result.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    pooled = math.sqrt(((len(a) - 1) * np.var(a, ddof=1) + (len(b) - 1) * np.var(b, ddof=1)) / (len(a) + len(b) - 2))
    assert result.effect_size == pytest.approx((np.mean(a) - np.mean(b)) / pooled)


def test_welch_comparison_edge_cases() -> None:
    same = Moments.from_values([50, 50, 50])
    assert welch_comparison(same, Moments.from_values([50])) is None
    tie = welch_comparison(same, same)
    assert tie is not None and tie.p_value == 1.0 and tie.effect_size is None
    apart = welch_comparison(same, Moments.from_values([40, 40]))
    assert apart is not None and apart.p_value == 0.0 and apart.difference == 10.0


def test_benjamini_hochberg_agrees_with_scipy() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.2, 0.0001]
    assert benjamini_hochberg(p) == pytest.approx(tuple(sps.false_discovery_control(p)))
    assert benjamini_hochberg([]) == ()


# ---------------------------------------------------------------- properties

rows_strategy = st.integers(2, 6).flatmap(
    lambda items: st.lists(st.lists(answer, min_size=items, max_size=items), min_size=2, max_size=40)
)


@given(rows_strategy)
def test_alpha_is_never_above_one(rows: list[list[int]]) -> None:
    alpha = cronbach_alpha(rows)
    assert alpha is None or alpha <= 1.0 + 1e-9


@given(rows_strategy, st.randoms())
def test_alpha_and_rwg_do_not_depend_on_row_order(rows: list[list[int]], rnd: random.Random) -> None:
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    a, b = cronbach_alpha(rows), cronbach_alpha(shuffled)
    assert (a is None) == (b is None)
    if a is not None and b is not None:
        assert a == pytest.approx(b, abs=1e-9)
    ra, rb = rwg_j(rows, 5), rwg_j(shuffled, 5)
    assert ra == pytest.approx(rb, abs=1e-9)


@given(rows_strategy)
def test_rwg_j_lies_between_zero_and_one(rows: list[list[int]]) -> None:
    value = rwg_j(rows, 5)
    assert value is not None and 0.0 <= value <= 1.0


@given(rows_strategy, st.data())
def test_aggregate_based_alpha_and_rwg_equal_row_based_on_complete_data(
    rows: list[list[int]], data: st.DataObject
) -> None:
    keys = [f"i{j}" for j in range(len(rows[0]))]
    reversed_keys = set(data.draw(st.lists(st.sampled_from(keys), unique=True)))
    item_moments = {k: Moments.from_values(r[j] for r in rows) for j, k in enumerate(keys)}
    cross = {
        (keys[i], keys[j]): CrossMoments.from_pairs((r[i], r[j]) for r in rows)
        for i in range(len(keys))
        for j in range(i + 1, len(keys))
    }
    # Row-based alpha on keyed values; aggregate-based alpha on raw values plus the reverse flags.
    keyed = [[6 - v if keys[j] in reversed_keys else v for j, v in enumerate(r)] for r in rows]
    row_alpha = cronbach_alpha(keyed)
    agg_alpha = cronbach_alpha_from_moments(keys, item_moments, cross, reversed_keys)
    assert (row_alpha is None) == (agg_alpha is None)
    if row_alpha is not None and agg_alpha is not None:
        assert agg_alpha == pytest.approx(row_alpha, rel=1e-6, abs=1e-6)
    assert rwg_j_from_moments(list(item_moments.values()), 5) == pytest.approx(rwg_j(rows, 5), abs=1e-9)


group_values = st.lists(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=15), min_size=2, max_size=8)


@given(group_values)
def test_aggregate_based_icc_equals_row_based(groups: list[list[float]]) -> None:
    values = [v for g in groups for v in g]
    labels = [i for i, g in enumerate(groups) for _ in g]
    moments = [Moments.from_values(g) for g in groups]
    assert icc1_from_moments(moments) == pytest.approx(icc1(values, labels), abs=1e-6)
    assert icc2_from_moments(moments) == pytest.approx(icc2(values, labels), abs=1e-6)


@given(group_values)
def test_icc1_is_at_most_one(groups: list[list[float]]) -> None:
    result = icc1([v for g in groups for v in g], [i for i, g in enumerate(groups) for _ in g])
    assert result is None or result <= 1.0 + 1e-9


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=50), st.floats(0, 100))
def test_the_interval_contains_the_mean_and_widens_with_noise(values: list[float], noise: float) -> None:
    moments = Moments.from_values(values)
    plain, noisy = mean_interval(moments), mean_interval(moments, noise_variance=noise)
    assert plain is not None and noisy is not None
    assert plain.low <= plain.mean <= plain.high
    assert noisy.high - noisy.low >= plain.high - plain.low - 1e-9


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_by_q_values_are_at_least_the_bh_q_values(p: list[float]) -> None:
    assert all(y >= b - 1e-12 for y, b in zip(benjamini_yekutieli(p), benjamini_hochberg(p), strict=True))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_bh_q_values_are_at_least_the_p_values_and_keep_their_order(p: list[float]) -> None:
    q = benjamini_hochberg(p)
    assert all(qi >= pi - 1e-12 and qi <= 1.0 for pi, qi in zip(p, q, strict=True))
    order = sorted(range(len(p)), key=lambda i: p[i])
    assert all(q[order[i]] <= q[order[i + 1]] + 1e-12 for i in range(len(p) - 1))


@settings(max_examples=50)
@given(st.lists(st.floats(0, 100), min_size=2, max_size=30), st.lists(st.floats(0, 100), min_size=2, max_size=30))
def test_comparing_with_the_rest_by_subtraction_equals_comparing_the_raw_groups(a: list[float], b: list[float]) -> None:
    dept, rest = Moments.from_values(a), Moments.from_values(b)
    direct, by_subtraction = welch_comparison(dept, rest), welch_comparison(dept, (dept + rest) - dept)
    assume(direct is not None and by_subtraction is not None)
    assert direct is not None and by_subtraction is not None
    assert by_subtraction.difference == pytest.approx(direct.difference, abs=1e-6)

"""Group statistics computed from sufficient statistics, so a report never needs every answer.

Everything here works from `Moments` (count, sum, sum of squares of one variable in one group) and
`CrossMoments` (the same for a pair of items). A database computes both with one GROUP BY, and
moments add up: the organisation is the sum of its departments, and "the rest of the organisation"
is the organisation minus one department. Row-based versions (`cronbach_alpha`, `rwg_j`, `icc1`,
`icc2`) exist for tests and small data, and agree with the moment-based ones on complete data.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from pulse.domain.errors import InconsistentAggregates

DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of one variable in one group: count, sum and sum of squares."""

    n: int
    total: float
    total_sq: float

    @classmethod
    def from_values(cls, values: Iterable[float | None]) -> Moments:
        """Moments of the non-missing values."""
        present = [float(v) for v in values if v is not None]
        return cls(len(present), math.fsum(present), math.fsum(v * v for v in present))

    @classmethod
    def empty(cls) -> Moments:
        """Moments of no values (the neutral element of +)."""
        return cls(0, 0.0, 0.0)

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    def __sub__(self, other: Moments) -> Moments:
        if other.n > self.n:
            raise InconsistentAggregates(f"cannot subtract a group of {other.n} from a group of {self.n}")
        return Moments(self.n - other.n, self.total - other.total, self.total_sq - other.total_sq)

    @property
    def mean(self) -> float | None:
        """Mean, or None for an empty group."""
        return self.total / self.n if self.n > 0 else None

    @property
    def sum_sq_dev(self) -> float:
        """Sum of squared deviations from the mean (never negative, despite rounding)."""
        if self.n == 0:
            return 0.0
        return max(0.0, self.total_sq - self.total * self.total / self.n)

    @property
    def variance(self) -> float | None:
        """Sample variance (ddof=1), or None with fewer than two values."""
        return self.sum_sq_dev / (self.n - 1) if self.n > 1 else None


@dataclass(frozen=True)
class CrossMoments:
    """Pairwise-complete co-moments of two items in one group (respondents who answered both)."""

    n: int
    sum_a: float
    sum_b: float
    sum_ab: float
    sum_sq_a: float
    sum_sq_b: float

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[float | None, float | None]]) -> CrossMoments:
        """Co-moments of the pairs where both values are present."""
        both = [(float(a), float(b)) for a, b in pairs if a is not None and b is not None]
        return cls(
            len(both),
            math.fsum(a for a, _ in both),
            math.fsum(b for _, b in both),
            math.fsum(a * b for a, b in both),
            math.fsum(a * a for a, _ in both),
            math.fsum(b * b for _, b in both),
        )

    @classmethod
    def empty(cls) -> CrossMoments:
        """Co-moments of no pairs."""
        return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def __add__(self, other: CrossMoments) -> CrossMoments:
        return CrossMoments(
            self.n + other.n,
            self.sum_a + other.sum_a,
            self.sum_b + other.sum_b,
            self.sum_ab + other.sum_ab,
            self.sum_sq_a + other.sum_sq_a,
            self.sum_sq_b + other.sum_sq_b,
        )

    @property
    def covariance(self) -> float | None:
        """Sample covariance (ddof=1) over complete pairs, or None with fewer than two pairs."""
        if self.n < 2:
            return None
        return (self.sum_ab - self.sum_a * self.sum_b / self.n) / (self.n - 1)


# ---------------------------------------------------------------- reliability: Cronbach's alpha


def _complete_rows(rows: Sequence[Sequence[float | None]]) -> list[list[float]]:
    # Listwise deletion: a row with any missing value is dropped entirely.
    return [[float(v) for v in row if v is not None] for row in rows if all(v is not None for v in row)]


def _alpha_from_covariance(cov: np.ndarray) -> float | None:
    k = int(cov.shape[0])
    total_variance = float(cov.sum())
    # A total variance that is rounding noise relative to the item variances means "no variance":
    # dividing by it would give alphas like -1e15.
    if k < 2 or total_variance <= 1e-10 * float(np.trace(cov)) or total_variance <= 0.0:
        return None
    return float((k / (k - 1)) * (1.0 - float(np.trace(cov)) / total_variance))


def cronbach_alpha(rows: Sequence[Sequence[float | None]]) -> float | None:
    """Cronbach's alpha of rows of item values (one row per respondent), listwise deletion.

    Returns None with fewer than two items, fewer than two complete rows, or no variance in the
    total. Alpha can be negative (items pulling against each other, e.g. a forgotten reverse key)
    but never above 1.
    """
    complete = _complete_rows(rows)
    if len(complete) < 2 or len(complete[0]) < 2:
        return None
    data = np.asarray(complete, dtype=float)
    return _alpha_from_covariance(np.atleast_2d(np.cov(data, rowvar=False, ddof=1)))


def cronbach_alpha_from_moments(
    keys: Sequence[str],
    item_moments: Mapping[str, Moments],
    item_cross: Mapping[tuple[str, str], CrossMoments],
    reversed_keys: Collection[str] = (),
) -> float | None:
    """Alpha from aggregates: item variances from `item_moments`, covariances from pairwise `item_cross`.

    `item_cross` is keyed by (key_a, key_b) with key_a < key_b and holds raw answers; items in
    `reversed_keys` are reverse-keyed, which flips the sign of their covariances (a reflection
    x -> c - x keeps variances and negates covariances), so raw aggregates suffice. Equals
    `cronbach_alpha` on the same (keyed) rows when nobody skipped an item; with missing answers it
    uses pairwise-complete covariances.
    """
    ordered = sorted(keys)
    k = len(ordered)
    if k < 2:
        return None
    cov = np.zeros((k, k))
    for i, a in enumerate(ordered):
        moments = item_moments.get(a)
        variance = moments.variance if moments is not None else None
        if variance is None:
            return None
        cov[i, i] = variance
        for j in range(i + 1, k):
            cross = item_cross.get((a, ordered[j]))
            covariance = cross.covariance if cross is not None else None
            if covariance is None:
                return None
            flipped = (a in reversed_keys) != (ordered[j] in reversed_keys)
            cov[i, j] = cov[j, i] = -covariance if flipped else covariance
    return _alpha_from_covariance(cov)


# ---------------------------------------------------------------- within-group agreement: rwg(j)


def null_variance(options: int) -> float:
    """Expected error variance of a uniform (no agreement) null on a scale with `options` choices."""
    return (options * options - 1) / 12.0


def _rwg_from_mean_variance(mean_variance: float, n_items: int, options: int) -> float:
    # Capping the observed variance at the null variance reports "no agreement" (0) instead of
    # the out-of-range values the raw formula gives when answers are more spread than random.
    ratio = min(mean_variance / null_variance(options), 1.0)
    agreement = n_items * (1.0 - ratio)
    return agreement / (agreement + ratio)


def _check_options(options: int) -> None:
    if options < 2:
        raise InconsistentAggregates(f"a scale needs at least 2 options, got {options}")


def rwg_j(rows: Sequence[Sequence[float | None]], options: int) -> float | None:
    """rwg(j) of James, Demaree & Wolf (1984) for one group's rows (one row per member, one column per item).

    rwg(j) = J(1 - s²/σ²E) / (J(1 - s²/σ²E) + s²/σ²E), with s² the mean item variance over complete
    rows (capped at σ²E) and σ²E = (options² - 1) / 12. None with fewer than two complete rows.
    """
    _check_options(options)
    complete = _complete_rows(rows)
    if len(complete) < 2 or len(complete[0]) == 0:
        return None
    data = np.asarray(complete, dtype=float)
    mean_variance = float(np.var(data, axis=0, ddof=1).mean())
    return _rwg_from_mean_variance(mean_variance, data.shape[1], options)


def rwg_j_from_moments(item_moments: Sequence[Moments], options: int) -> float | None:
    """rwg(j) from one group's per-item moments (available-case variances).

    Equals `rwg_j` on the same rows when nobody skipped an item. None when any item has fewer than
    two answers, or there are no items.
    """
    _check_options(options)
    variances = [m.variance for m in item_moments]
    if not variances or any(v is None for v in variances):
        return None
    mean_variance = math.fsum(v for v in variances if v is not None) / len(variances)
    return _rwg_from_mean_variance(mean_variance, len(variances), options)


# ---------------------------------------------------------------- between-group: ICC(1), ICC(2)


@dataclass(frozen=True)
class OneWayAnova:
    """Mean squares of a one-way ANOVA, with the two "group sizes" the ICCs need.

    `mean_group_size` is N / J. `n0` is the ANOVA's adjusted group size (N - sum(n_j²) / N) / (J - 1),
    the coefficient of the between-group variance in E[MSB] = σ²_w + n0 σ²_b: the two agree when every
    group has the same size, and with unequal groups only n0 gives an unbiased between-group variance.

    `noise_msb` is what noise added to the released group means (differential privacy) adds to
    E[MSB]: sum of n_j v_j (1 - n_j / N) / (J - 1), v_j the variance of the noise on group j's mean.
    It is neither within nor between the groups, so the between-group variance leaves it out.
    """

    msb: float
    msw: float
    mean_group_size: float
    groups: int
    n: int
    n0: float
    noise_msb: float = 0.0

    @property
    def between_variance(self) -> float:
        """ANOVA estimate of the variance of true group means, (MSB - MSW - noise) / n0, floored at 0."""
        return max(0.0, (self.msb - self.msw - self.noise_msb) / self.n0) if self.n0 > 0 else 0.0


def one_way_anova(groups: Sequence[Moments], noise_variances: Sequence[float] | None = None) -> OneWayAnova | None:
    """One-way ANOVA from group moments; empty groups are ignored. None when undefined.

    `noise_variances` (parallel to `groups`) are the variances of noise on each group's released
    mean; see `OneWayAnova.noise_msb`.
    """
    noise = list(noise_variances) if noise_variances is not None else [0.0] * len(groups)
    if len(noise) != len(groups):
        raise InconsistentAggregates(f"{len(noise)} noise variances for {len(groups)} groups")
    present = [(g, v) for g, v in zip(groups, noise, strict=True) if g.n > 0]
    n = sum(g.n for g, _ in present)
    if len(present) < 2 or n - len(present) < 1:
        return None
    for _, v in present:
        _check_noise(v)
    grand = math.fsum(g.total for g, _ in present) / n
    ssb = math.fsum(g.n * ((g.total / g.n) - grand) ** 2 for g, _ in present)
    ssw = math.fsum(g.sum_sq_dev for g, _ in present)
    n0 = (n - math.fsum(g.n * g.n for g, _ in present) / n) / (len(present) - 1)
    noise_msb = math.fsum(g.n * v * (1.0 - g.n / n) for g, v in present) / (len(present) - 1)
    return OneWayAnova(
        ssb / (len(present) - 1), ssw / (n - len(present)), n / len(present), len(present), n, n0, noise_msb
    )


def icc1_from_moments(groups: Sequence[Moments], noise_variances: Sequence[float] | None = None) -> float | None:
    """ICC(1) = (MSB - MSW) / (MSB + (n0 - 1) MSW), n0 the ANOVA adjusted group size.

    With equal groups n0 is the group size and this is Bliese's `multilevel::ICC1`; with unequal
    groups the mean group size that `ICC1` uses overstates n0 and biases ICC(1) downwards. With
    `noise_variances` (noise on released group means), the noise's share of MSB is taken out first:
    noise makes groups look more different than they are.
    """
    anova = one_way_anova(groups, noise_variances)
    if anova is None:
        return None
    msb = anova.msb - anova.noise_msb
    denominator = msb + (anova.n0 - 1.0) * anova.msw
    return (msb - anova.msw) / denominator if denominator > 0 else None


def icc2_from_moments(groups: Sequence[Moments], noise_variances: Sequence[float] | None = None) -> float | None:
    """ICC(2) = (MSB - MSW) / MSB: reliability of group means (as Bliese's `multilevel::ICC2`).

    With `noise_variances`, the reliability of the released (noisy) means: (MSB - MSW - noise) / MSB.
    """
    anova = one_way_anova(groups, noise_variances)
    if anova is None or anova.msb <= 0:
        return None
    return (anova.msb - anova.msw - anova.noise_msb) / anova.msb


def _group(values: Sequence[float], groups: Sequence[Hashable]) -> list[Moments]:
    if len(values) != len(groups):
        raise InconsistentAggregates(f"{len(values)} values but {len(groups)} group labels")
    buckets: dict[Hashable, list[float]] = {}
    for value, group in zip(values, groups, strict=True):
        buckets.setdefault(group, []).append(value)
    return [Moments.from_values(v) for v in buckets.values()]


def icc1(values: Sequence[float], groups: Sequence[Hashable]) -> float | None:
    """ICC(1) of `values`, grouped by the parallel `groups` labels. None when undefined."""
    return icc1_from_moments(_group(values, groups))


def icc2(values: Sequence[float], groups: Sequence[Hashable]) -> float | None:
    """ICC(2) of `values`, grouped by the parallel `groups` labels. None when undefined."""
    return icc2_from_moments(_group(values, groups))


# ---------------------------------------------------------------- intervals and comparisons


def _t_quantile(probability: float, df: float) -> float:
    # The ufunc behind scipy.stats.t.ppf, without the distribution-object overhead that dominates
    # reports with hundreds of departments.
    return float(special.stdtrit(df, probability))


# One treatment of uncertainty, everywhere (scores, comparisons, trends, flags): no finite-population
# correction. The FPC (1 - n/N) answers "how well do these n answers estimate the average answer of
# the N people invited, this week?", and it is only right if the people who did not answer would have
# answered like those who did (missing at random). Neither holds here. What a report is about is the
# climate of a group (the conditions that produce the answers), and a census of noisy answers still
# measures it with error: the same people, asked again next week, would not give the same mean. And
# non-response in a survey about fear is not random (the afraid are the likeliest to stay silent), so
# an FPC would claim a certainty about the non-respondents that nobody has. Hence every standard error
# is s / sqrt(n) (plus the variance of any noise added to a released figure), and a department where
# everyone answered gets an honest, non-zero interval, as wide as its comparison with the rest implies.


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval."""

    mean: float
    low: float
    high: float
    n: int


def _check_noise(noise_variance: float) -> None:
    if not noise_variance >= 0.0 or not math.isfinite(noise_variance):
        raise InconsistentAggregates(f"a noise variance must be finite and at least 0, got {noise_variance}")


def mean_interval(
    moments: Moments, confidence: float = DEFAULT_CONFIDENCE, noise_variance: float = 0.0
) -> Interval | None:
    """t-based confidence interval for a group mean (no finite-population correction, see above).

    `noise_variance` is the variance of noise added to the released mean (differential privacy); it
    adds to the sampling variance s²/n. The t quantile keeps the n - 1 degrees of freedom of the
    sampling part: counting the known noise variance as extra degrees of freedom (Satterthwaite)
    would let added noise *narrow* a small group's interval. None for an empty group or a single answer.
    """
    _check_noise(noise_variance)
    mean = moments.mean
    variance = moments.variance
    if mean is None or variance is None:
        return None
    sampling = variance / moments.n
    se = math.sqrt(sampling + noise_variance)
    if se == 0.0:
        return Interval(mean, mean, mean, moments.n)
    half = quantile(0.5 + confidence / 2, moments.n - 1) * se
    return Interval(mean, mean - half, mean + half, moments.n)


def quantile(probability: float, df: float) -> float:
    """Quantile of Student's t with `df` degrees of freedom (normal when df is infinite)."""
    return float(special.ndtri(probability)) if math.isinf(df) else _t_quantile(probability, df)


def upper_tail(statistic: float, df: float) -> float:
    """P(T > statistic) for Student's t with `df` degrees of freedom (normal when df is infinite)."""
    return float(special.ndtr(-statistic)) if math.isinf(df) else float(special.stdtr(df, -statistic))


# Gauss-Laguerre nodes for expectations over Laplace noise: within ~1e-8 (relative) of the exact tail
# while the noise scale is at most half the sampling standard error (a department's privacy noise is
# 0.95 / sqrt(n) of it with the default budget); checked in tests/domain/test_stats.py.
_LAGUERRE_NODES, _LAGUERRE_WEIGHTS = np.polynomial.laguerre.laggauss(48)


def upper_tail_with_laplace(difference: float, sampling_se: float, laplace_scale: float, df: float) -> float:
    """P(sampling_se * T + L >= difference), T Student's t with `df` degrees of freedom, L ~ Laplace(0, scale).

    The tail of an estimate whose error is sampling error plus one Laplace draw of known scale (the
    privacy noise on a released sum: its scale is public). Laplace noise has heavier tails than a
    normal of the same variance, so adding its variance to the sampling variance understates tail
    probabilities: by 5-20% at p = 0.001 when the noise is a third of the sampling error. Computed as
    E_L[P(T >= (difference - L) / sampling_se)], with L = ±scale * X, X ~ Exp(1), by Gauss-Laguerre
    quadrature (adaptive quadrature when the noise dominates, where the nodes are too coarse).
    """
    if not (math.isfinite(difference) and sampling_se >= 0 and laplace_scale >= 0):
        raise InconsistentAggregates(
            f"a tail needs a finite difference and scales >= 0, got {difference}, {sampling_se}, {laplace_scale}"
        )
    if laplace_scale == 0:
        if sampling_se == 0:
            return 1.0 if difference <= 0 else 0.0
        return upper_tail(difference / sampling_se, df)
    if sampling_se == 0:
        noise_tail = 0.5 * math.exp(-abs(difference) / laplace_scale)
        return noise_tail if difference > 0 else 1.0 - noise_tail

    def tail(x: np.ndarray) -> np.ndarray:
        z = -x / sampling_se
        return np.asarray(special.ndtr(z) if math.isinf(df) else special.stdtr(df, z))

    if laplace_scale <= 0.5 * sampling_se:
        shift = laplace_scale * _LAGUERRE_NODES
        return float(0.5 * (_LAGUERRE_WEIGHTS * (tail(difference - shift) + tail(difference + shift))).sum())
    from scipy import integrate

    def integrand(noise: float) -> float:
        return float(math.exp(-abs(noise) / laplace_scale) / (2 * laplace_scale) * tail(np.asarray(difference - noise)))

    # Split where the integrand has its kink (0) and its step (difference) so each piece is smooth.
    cuts = sorted({0.0, difference})
    total = float(integrate.quad(integrand, -math.inf, cuts[0])[0]) + float(
        integrate.quad(integrand, cuts[-1], math.inf)[0]
    )
    if len(cuts) == 2:
        total += float(integrate.quad(integrand, cuts[0], cuts[1])[0])
    return min(1.0, max(0.0, total))


@dataclass(frozen=True)
class Comparison:
    """Difference a - b of two independent group means (Welch), with CI, p-value and Cohen's d."""

    difference: float
    low: float
    high: float
    p_value: float
    effect_size: float | None
    n_a: int
    n_b: int


def welch_comparison(
    a: Moments,
    b: Moments,
    confidence: float = DEFAULT_CONFIDENCE,
    noise_a: float = 0.0,
    noise_b: float = 0.0,
) -> Comparison | None:
    """Compare two independent groups: Welch t-test for mean(a) - mean(b).

    No finite-population correction (see the note above `Interval`). `noise_a` and `noise_b` are
    the variances of noise added to each released mean; they add to the standard error, and the
    degrees of freedom stay those of the sampling parts (Welch-Satterthwaite without the noise), so
    that added noise can only widen an interval. The effect size is Cohen's d with the
    pooled standard deviation. None unless both groups have two values.
    """
    _check_noise(noise_a)
    _check_noise(noise_b)
    va, vb = a.variance, b.variance
    if va is None or vb is None or a.mean is None or b.mean is None:
        return None
    difference = a.mean - b.mean
    sa, sb = va / a.n, vb / b.n
    total = sa + sb + noise_a + noise_b
    se = math.sqrt(total)
    pooled_sd = math.sqrt((a.sum_sq_dev + b.sum_sq_dev) / (a.n + b.n - 2))
    effect = difference / pooled_sd if pooled_sd > 0 else None
    if se == 0.0:
        return Comparison(difference, difference, difference, 1.0 if difference == 0 else 0.0, effect, a.n, b.n)
    denominator = sa * sa / (a.n - 1) + sb * sb / (b.n - 1)
    # Welch-Satterthwaite; with variances so tiny that their squares underflow, fall back to pooled df.
    df = (sa + sb) ** 2 / denominator if denominator > 0 else float(a.n + b.n - 2)
    t = difference / se
    p_value = 2.0 * upper_tail(abs(t), df)
    half = quantile(0.5 + confidence / 2, df) * se
    return Comparison(difference, difference - half, difference + half, min(1.0, p_value), effect, a.n, b.n)


def benjamini_hochberg(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    A comparison holds up at false-discovery rate q when its adjusted value is <= q. Valid for
    independent or positively dependent (PRDS) tests only; see `benjamini_yekutieli`.
    """
    return _step_up(p_values, 1.0)


def benjamini_yekutieli(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini-Yekutieli adjusted p-values: BH scaled by c(m) = 1 + 1/2 + ... + 1/m.

    Controls the false-discovery rate under ANY dependence between the tests (Benjamini & Yekutieli
    2001, Theorem 1.3), e.g. negatively correlated contrasts (each department against a "rest" that
    contains every other one), which BH's PRDS condition excludes. Trend families use it; flags use
    `holm`, which holds under any dependence too and is stronger with few real effects.
    """
    m = len(p_values)
    return _step_up(p_values, math.fsum(1.0 / i for i in range(1, m + 1)) if m else 1.0)


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm's (1979) step-down adjusted p-values, in the input order.

    A test holds up at familywise error rate a when its adjusted value is <= a: the chance that even
    one true null hypothesis of the family is rejected is at most a, under ANY dependence between
    the tests (the proof needs Bonferroni's inequality only). A familywise error rate of a bounds the
    false-discovery rate by a too. With few real effects among many tests, Holm rejects more than
    Benjamini-Yekutieli: BY's price for arbitrary dependence is a factor 1 + 1/2 + ... + 1/m at
    every rank (5.4 for 120 tests), Holm's critical value at rank r is a / (m - r + 1); BY's are
    lower only past about six rejections in 120.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return tuple(adjusted)


def _step_up(p_values: Sequence[float], scale: float) -> tuple[float, ...]:
    m = len(p_values)
    if m == 0:
        return ()
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m * scale / rank)
        adjusted[index] = min(1.0, running)
    return tuple(adjusted)


# ---------------------------------------------------------------- eNPS


@dataclass(frozen=True)
class EnpsInterval:
    """eNPS (-100..100) with its adjusted-Wald confidence interval."""

    score: float
    low: float
    high: float
    n: int


#: Below this many eNPS answers the score is not shown: the interval would span most of -100..100.
MIN_ENPS_RESPONSES = 30


def enps_interval(
    promoters: int, passives: int, detractors: int, confidence: float = DEFAULT_CONFIDENCE
) -> EnpsInterval | None:
    """eNPS with the adjusted-Wald interval that Rocks (2016) found to have the best coverage.

    Add 3 to n and 3/4 to promoters and detractors, then use the variance of a difference of two
    multinomial proportions: (p + d - (p - d)²) / n'. The point estimate stays the plain eNPS.
    None without answers.
    """
    if min(promoters, passives, detractors) < 0:
        raise InconsistentAggregates(f"eNPS counts cannot be negative: {promoters}, {passives}, {detractors}")
    n = promoters + passives + detractors
    if n == 0:
        return None
    adjusted_n = n + 3.0
    p, d = (promoters + 0.75) / adjusted_n, (detractors + 0.75) / adjusted_n
    half = float(special.ndtri(0.5 + confidence / 2)) * math.sqrt(max(0.0, p + d - (p - d) ** 2) / adjusted_n)
    centre = p - d
    return EnpsInterval(
        100.0 * (promoters - detractors) / n,
        100.0 * max(-1.0, centre - half),
        100.0 * min(1.0, centre + half),
        n,
    )

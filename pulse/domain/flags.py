"""Department flags: a department is worse than the rest of the organisation, by a difference that matters.

Small groups are noisy: with 15 people, a department's mean wanders several points from its true
climate by chance alone, and among 30 departments x 4 dimensions some will cross any fixed line.
So a flag is decided on estimates that account for that noise, in a random-effects model fitted per
dimension over every department with at least k answers (`DimensionModel`):

* within-department variance σ²_w = MSW of the one-way ANOVA (pooled over departments, so a small
  department's test does not hinge on its own noisy variance), and between-department variance
  τ² = (MSB - MSW - noise) / n0: how much of the spread really lies between departments (ICC(1) =
  τ² / (τ² + σ²_w)). Privacy noise on the released means adds sum n_j v_j (1 - n_j/N) / (J - 1) to
  E[MSB] (`pulse.domain.stats.OneWayAnova.noise_msb`); left in, it would pass for real differences
  between departments and weaken the shrinkage;
* the department's difference from the rest of the organisation, D = mean - mean(rest), and a
  one-sided test that the department is worse than the rest (df = N - J). Its error is sampling
  error sqrt(σ²_w / n + σ²_w / n_rest), Gaussian-like noise (the rest's many independent draws, the
  count's), and ONE Laplace draw of known scale on the department's own sum (`noise_scale`, public:
  it is the budget's). The p-value integrates over that Laplace draw exactly
  (`pulse.domain.stats.upper_tail_with_laplace`) instead of treating its variance as sampling
  variance: Laplace tails are heavier, and the normal shortcut makes p-values near the flag
  threshold 5-20% too small;
* the empirical-Bayes (shrunk) difference: the department's mean pulled towards the organisation by
  λ = τ² / (τ² + σ²_w / n + noise), the reliability of its mean. With little real spread between
  departments (small ICC), or a small department, λ is small and so is the shrunk difference.

A flag needs all of:

* the difference is in the unhealthy direction (more fear; less initiative, consistency, collaboration);
* the one-sided test holds up after Holm's correction at familywise error rate `FAMILYWISE_ERROR_RATE`
  over every department x dimension comparison in the report: the chance that a report carries even
  one flag on a department that is not worse at all is at most 10%, whatever the dependence between
  the comparisons (each "rest" contains every other department, so they are negatively dependent,
  which Benjamini-Hochberg's guarantee does not cover). It also bounds the false-discovery rate by
  10%. Holm rather than Benjamini-Yekutieli (which also holds under any dependence): an
  organisation has few real problems among its 120 or so cells, and there Holm's thresholds are
  lower (BY divides by 1 + 1/2 + ... + 1/m = 5.4 at every rank; Holm's first threshold is a / m,
  BY's a / 5.4m). Measured under the privacy noise (default budget, OpenDP, 6 x 40 organisations of
  30 departments with one planted problem of 0.9 scale points each): 97.5% found instead of 95.4%
  with BY on the same answers. The price: departments of the healthy organisations that really are
  a little worse (their true gaps spread by ±3 points) are flagged more often, 0.79 per 30 instead
  of 0.32, still below the one per 30 allowed (tests/perf/bench_privacy.py, README);
* the shrunk difference is at least `MIN_DIFFERENCE` points: the best estimate of the department's
  true gap, not its noisy raw gap, must be a gap that matters.

`noise_variance` (per department and dimension) is the variance of noise added to a released
department mean (differential privacy); it widens the test and strengthens the shrinkage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from pulse.domain.errors import InconsistentAggregates
from pulse.domain.items import DIMENSION_BY_KEY
from pulse.domain.stats import (
    DEFAULT_CONFIDENCE,
    Comparison,
    Interval,
    Moments,
    holm,
    one_way_anova,
    quantile,
    upper_tail_with_laplace,
)
from pulse.domain.wording import N_, Wording

MIN_DIFFERENCE = 5.0
FAMILYWISE_ERROR_RATE = 0.10
#: Holm's familywise error rate bounds the false-discovery rate too (the report's methodology names both).
FALSE_DISCOVERY_RATE = FAMILYWISE_ERROR_RATE

FLAG_BY_DIMENSION: Mapping[str, str] = MappingProxyType(
    {
        "fear": "high_fear",
        "initiative": "low_initiative",
        "consistency": "inconsistent_leadership",
        "collaboration": "silo",
    }
)
DIMENSION_BY_FLAG: Mapping[str, str] = MappingProxyType({v: k for k, v in FLAG_BY_DIMENSION.items()})

FLAG_RULE_WORDING = Wording(
    N_(
        "Each department is compared with the rest of the organisation (everyone outside it). Small groups are noisy, "
        "so a flag is decided on estimates that allow for it. For each dimension, the spread of scores is split into a "
        "part within departments and a part between them (one-way ANOVA over every department with enough answers; "
        "ICC(1) is the share between). A department's difference from the rest is tested against zero with the pooled "
        "within-department spread (one-sided, in the unhealthy direction), and the difference is also 'shrunk' towards "
        "the organisation by how reliable the department's mean is (empirical Bayes: the smaller the department and "
        "the less real spread there is between departments, the more it is shrunk). A department is flagged when the "
        "test holds up after Holm's correction at a familywise error rate of %(fwer)s%% over all "
        "department-by-dimension comparisons (the chance that this report flags even one department that is not worse "
        "at all is at most that, although every comparison shares the same organisation), and its shrunk difference "
        "is at least %(points)s points on the 0-100 scale. Privacy noise is part of the test: its variance in the "
        "spread, and the exact shape of the noise on each department's own score. Flags (as the JSON and CSV exports "
        "name them): high_fear (more fear), low_initiative (less permission to act), inconsistent_leadership (less "
        "consistent leadership), silo (less cross-department collaboration)."
    ),
    {"fwer": round(FAMILYWISE_ERROR_RATE * 100), "points": MIN_DIFFERENCE},
)
FLAG_RULE = FLAG_RULE_WORDING.text


@dataclass(frozen=True)
class DimensionModel:
    """The one-way random-effects model of one dimension, over departments."""

    within_variance: float  # σ²_w, MSW
    between_variance: float  # τ², (MSB - MSW - noise) / n0, floored at 0
    df: float  # N - J, for the test's t quantiles

    def reliability(self, n: int, noise_variance: float = 0.0) -> float:
        """λ = τ² / (τ² + σ²_w / n + noise): how far a mean of n answers is trusted over the organisation's."""
        denominator = self.between_variance + self.within_variance / n + noise_variance
        return self.between_variance / denominator if denominator > 0 else 0.0


def fit_dimension_model(
    groups: Sequence[Moments], noise_variances: Sequence[float] | None = None
) -> DimensionModel | None:
    """The model from per-department moments (empty groups ignored); None with fewer than two groups.

    `noise_variances` (parallel to `groups`): the privacy noise's variance on each released mean, so
    that τ² counts only real differences between departments.
    """
    anova = one_way_anova(groups, noise_variances)
    if anova is None:
        return None
    return DimensionModel(anova.msw, anova.between_variance, float(anova.n - anova.groups))


@dataclass(frozen=True)
class DepartmentComparison:
    """One department x dimension compared with the rest of the organisation."""

    department: str
    dimension: str
    comparison: Comparison  # raw difference, model-based CI, two-sided p, d on the within SD
    shrunk_difference: float  # empirical-Bayes estimate of the difference from the rest
    reliability: float  # λ
    q_value: float  # Holm-adjusted one-sided p-value in the unhealthy direction
    flag: str | None


def _is_worse(dimension: str, difference: float) -> bool:
    return difference < 0 if DIMENSION_BY_KEY[dimension].higher_is_better else difference > 0


def _worse_by(dimension: str, difference: float) -> float:
    """The difference in points towards the unhealthy side (negative when the department is better)."""
    return -difference if DIMENSION_BY_KEY[dimension].higher_is_better else difference


def one_sided_p(dimension: str, comparison: Comparison) -> float:
    """p-value of "this department is worse than the rest" from the two-sided p-value."""
    half = comparison.p_value / 2.0
    return half if _is_worse(dimension, comparison.difference) else 1.0 - half


def decide_flag(dimension: str, shrunk_difference: float, q_value: float) -> str | None:
    """The flag for one comparison, or None when the difference does not matter or does not hold up."""
    matters = _worse_by(dimension, shrunk_difference) >= MIN_DIFFERENCE
    return FLAG_BY_DIMENSION[dimension] if matters and q_value <= FAMILYWISE_ERROR_RATE else None


def department_interval(
    moments: Moments, model: DimensionModel, noise_variance: float = 0.0, confidence: float = DEFAULT_CONFIDENCE
) -> Interval | None:
    """Interval of a department mean with the pooled within-department variance of `model`.

    The same standard error that its comparison with the rest builds on, so a department's interval
    is always narrower than the interval of its difference from the rest.
    """
    mean = moments.mean
    if mean is None or model.within_variance <= 0 or model.df < 1:
        return None
    half = quantile(0.5 + confidence / 2, model.df) * math.sqrt(model.within_variance / moments.n + noise_variance)
    return Interval(mean, mean - half, mean + half, moments.n)


def model_comparison(
    department: Moments,
    rest: Moments,
    model: DimensionModel,
    noise_variance: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    rest_noise: float = 0.0,
    noise_scale: float = 0.0,
) -> tuple[Comparison, float, float] | None:
    """(comparison, shrunk difference, λ) of a department with the rest, in the model; None when undefined.

    `noise_variance` and `rest_noise` are the noise variances on the department's and the rest's means.
    `noise_scale` is the scale of the one Laplace draw on the department's mean (part of
    `noise_variance`, which holds 2 x scale² of it): the p-value integrates over that draw exactly, the
    rest of the noise counts as normal. The interval stays the normal approximation with the total
    variance (at 95% the two differ by a few hundredths of a point).
    """
    if department.mean is None or rest.mean is None or model.within_variance <= 0 or model.df < 1:
        return None
    if not (0.0 <= 2.0 * noise_scale * noise_scale <= noise_variance * (1 + 1e-9) + 1e-12):
        raise InconsistentAggregates(
            f"a Laplace scale of {noise_scale} needs a noise variance of at least {2 * noise_scale * noise_scale}, "
            f"got {noise_variance}"
        )
    difference = department.mean - rest.mean
    sampling = model.within_variance * (1.0 / department.n + 1.0 / rest.n)
    se = math.sqrt(sampling + noise_variance + rest_noise)
    half = quantile(0.5 + confidence / 2, model.df) * se
    normal_part = math.sqrt(sampling + max(0.0, noise_variance - 2.0 * noise_scale * noise_scale) + rest_noise)
    p_value = min(1.0, 2.0 * upper_tail_with_laplace(abs(difference), normal_part, noise_scale, model.df))
    effect = difference / math.sqrt(model.within_variance)
    comparison = Comparison(difference, difference - half, difference + half, p_value, effect, department.n, rest.n)
    reliability = model.reliability(department.n, noise_variance)
    # Shrink the department's mean towards the organisation's (which includes it), then compare with the rest.
    total = department.n + rest.n
    shrunk = difference * (department.n + reliability * rest.n) / total
    return comparison, shrunk, reliability


def compare_departments(
    department_moments: Mapping[str, Mapping[str, Moments]],
    organization_moments: Mapping[str, Moments],
    models: Mapping[str, DimensionModel] | None = None,
    noise_variance: Mapping[tuple[str, str], float] | None = None,
    organization_noise: Mapping[str, float] | None = None,
    noise_scale: Mapping[tuple[str, str], float] | None = None,
) -> dict[tuple[str, str], DepartmentComparison]:
    """Compare each department's dimension scores with the rest of the organisation and decide flags.

    `department_moments` holds only the cells that may be shown (department -> dimension -> moments);
    `organization_moments` is the sum over ALL departments, hidden ones included, so "the rest"
    is everyone outside the department. `models` (dimension -> model) should be fitted on every
    department with at least k answers, hidden ones included; missing ones are fitted on the shown
    cells. With privacy noise (`pulse.domain.privacy`), `noise_variance` gives each shown cell's
    noise variance on its mean and `organization_noise` the noise variance on the organisation's
    score sum; the rest's share of it widens the comparison too; `noise_scale` gives the scale of the
    one Laplace draw on a cell's mean where there is one (a department's own figures; pooled units
    sum several draws and count as normal). Returns (department, dimension) -> comparison.
    """
    noise = noise_variance or {}
    scales = noise_scale or {}
    org_noise = organization_noise or {}
    fitted: dict[str, DimensionModel | None] = dict(models or {})
    raw: list[tuple[str, str, Comparison, float, float]] = []
    for department in sorted(department_moments):
        for dimension, moments in department_moments[department].items():
            organization = organization_moments.get(dimension)
            if organization is None or organization.n <= moments.n:
                continue
            if dimension not in fitted:
                shown = [(name, cells[dimension]) for name, cells in department_moments.items() if dimension in cells]
                fitted[dimension] = fit_dimension_model(
                    [m for _, m in shown], [noise.get((name, dimension), 0.0) for name, _ in shown]
                )
            rest = organization - moments
            model = fitted[dimension] or fit_dimension_model([moments, rest])
            own = noise.get((department, dimension), 0.0)
            # Noise on the rest's sum = the organisation's minus this department's (independent draws).
            rest_noise = max(0.0, org_noise.get(dimension, 0.0) - own * moments.n * moments.n) / (rest.n * rest.n)
            scale = scales.get((department, dimension), 0.0)
            result = (
                model_comparison(moments, rest, model, own, rest_noise=rest_noise, noise_scale=scale)
                if model is not None
                else None
            )
            if result is not None:
                raw.append((department, dimension, *result))
    q_values = holm([one_sided_p(dimension, c) for _, dimension, c, _, _ in raw])
    return {
        (department, dimension): DepartmentComparison(
            department, dimension, comparison, shrunk, reliability, q, decide_flag(dimension, shrunk, q)
        )
        for (department, dimension, comparison, shrunk, reliability), q in zip(raw, q_values, strict=True)
    }

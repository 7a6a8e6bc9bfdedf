"""Department flags: a department differs from the rest of the organisation by a difference that matters.

A flag needs all of:

* the difference is in the unhealthy direction (more fear; less initiative, consistency, collaboration);
* it is large in points (at least `MIN_DIFFERENCE` on the 0-100 scale) AND in standardized terms
  (|Cohen's d| at least `MIN_EFFECT_SIZE`), so a big organisation does not flag trivial gaps just
  because they are statistically certain;
* it survives Benjamini-Hochberg at false-discovery rate `FALSE_DISCOVERY_RATE` across every
  department x dimension comparison in the report, so 30 departments x 4 dimensions do not
  produce flags by chance. The tests are one-sided, in the unhealthy direction, because that is
  the only hypothesis a flag asserts (a department *better* than the rest is never flagged); this
  doubles the power of the family without loosening its false-discovery control.

Each department is compared with the rest of the organisation (organisation minus the department),
never with a total that includes it, using Welch's t-test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pulse.domain.items import DIMENSION_BY_KEY
from pulse.domain.stats import Comparison, Moments, benjamini_hochberg, welch_comparison

MIN_DIFFERENCE = 8.0
MIN_EFFECT_SIZE = 0.5
FALSE_DISCOVERY_RATE = 0.05

FLAG_BY_DIMENSION: Mapping[str, str] = MappingProxyType(
    {
        "fear": "high_fear",
        "initiative": "low_initiative",
        "consistency": "inconsistent_leadership",
        "collaboration": "silo",
    }
)
DIMENSION_BY_FLAG: Mapping[str, str] = MappingProxyType({v: k for k, v in FLAG_BY_DIMENSION.items()})

FLAG_RULE = (
    f"A department is flagged on a dimension when, compared with the rest of the organisation (everyone "
    f"outside that department), it is worse by at least {MIN_DIFFERENCE:g} points on the 0-100 scale and by a "
    f"standardized effect (Cohen's d) of at least {MIN_EFFECT_SIZE:g}, and the difference holds up after "
    f"Benjamini-Hochberg correction at a false-discovery rate of {FALSE_DISCOVERY_RATE:.0%} over all "
    f"department-by-dimension comparisons (Welch's t-test, one-sided in the unhealthy direction). "
    f"Flags: high_fear (more fear), low_initiative "
    f"(less permission to act), inconsistent_leadership (less consistent leadership), silo (less "
    f"cross-department collaboration)."
)


@dataclass(frozen=True)
class DepartmentComparison:
    """One department x dimension compared with the rest of the organisation."""

    department: str
    dimension: str
    comparison: Comparison
    q_value: float  # BH-adjusted one-sided p-value in the unhealthy direction
    flag: str | None


def _is_worse(dimension: str, difference: float) -> bool:
    return difference < 0 if DIMENSION_BY_KEY[dimension].higher_is_better else difference > 0


def one_sided_p(dimension: str, comparison: Comparison) -> float:
    """p-value of "this department is worse than the rest" from the two-sided Welch p-value."""
    half = comparison.p_value / 2.0
    return half if _is_worse(dimension, comparison.difference) else 1.0 - half


def decide_flag(dimension: str, comparison: Comparison, q_value: float) -> str | None:
    """The flag for one comparison, or None when the difference does not matter or does not hold up."""
    effect = comparison.effect_size
    matters = (
        _is_worse(dimension, comparison.difference)
        and abs(comparison.difference) >= MIN_DIFFERENCE
        and effect is not None
        and abs(effect) >= MIN_EFFECT_SIZE
    )
    return FLAG_BY_DIMENSION[dimension] if matters and q_value <= FALSE_DISCOVERY_RATE else None


def compare_departments(
    department_moments: Mapping[str, Mapping[str, Moments]],
    organization_moments: Mapping[str, Moments],
    noise_variance: Mapping[str, Mapping[str, float]] | None = None,
    organization_noise: Mapping[str, float] | None = None,
) -> dict[tuple[str, str], DepartmentComparison]:
    """Compare each department's dimension scores with the rest of the organisation and decide flags.

    `department_moments` holds only the cells that may be shown (department -> dimension -> moments);
    `organization_moments` is the sum over ALL departments, hidden ones included, so "the rest"
    is everyone outside the department. With privacy noise (`pulse.domain.privacy`),
    `noise_variance` gives each shown cell's noise variance on its mean and `organization_noise`
    the noise variance on the organisation's score sum; both widen the comparison.
    Returns (department, dimension) -> comparison.
    """
    noise = noise_variance or {}
    org_noise = organization_noise or {}
    raw: list[tuple[str, str, Comparison]] = []
    for department in sorted(department_moments):
        for dimension, moments in department_moments[department].items():
            organization = organization_moments.get(dimension)
            if organization is None:
                continue
            rest = organization - moments
            own = noise.get(department, {}).get(dimension, 0.0)
            # Noise on the rest's sum = the organisation's minus this department's (independent draws).
            rest_noise = max(0.0, org_noise.get(dimension, 0.0) - own * moments.n * moments.n)
            rest_noise_mean = rest_noise / (rest.n * rest.n) if rest.n > 0 else 0.0
            comparison = welch_comparison(moments, rest, noise_a=own, noise_b=rest_noise_mean)
            if comparison is not None:
                raw.append((department, dimension, comparison))
    q_values = benjamini_hochberg([one_sided_p(dimension, c) for _, dimension, c in raw])
    return {
        (department, dimension): DepartmentComparison(
            department, dimension, comparison, q, decide_flag(dimension, comparison, q)
        )
        for (department, dimension, comparison), q in zip(raw, q_values, strict=True)
    }

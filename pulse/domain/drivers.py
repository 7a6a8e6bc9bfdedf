"""What drives the outcome: how much of the behavioural outcome item each of the four dimensions explains.

The outcome item ("In the last two weeks I fixed a customer's problem myself, without waiting to be
told") is regressed on the four dimension scores, and its explained variance R² is split between
the dimensions with Johnson's (2000) relative weights: the predictors are replaced by their closest
orthogonal counterparts Z (Z = X R^-1/2), the outcome is regressed on Z, and each Z's share is given
back to the original predictors in proportion to how much of each predictor it carries. The raw
weights add up to R²; unlike regression coefficients they stay meaningful when the dimensions are
correlated, which they are. They closely approximate general dominance weights (Budescu 1993; the
Shapley decomposition of R²), which `general_dominance` computes exactly by brute force for tests.

Everything works from `DriverMoments` (count, sums and cross-products of the five variables over
respondents who answered all five), so a database computes it with one GROUP BY and departments add
up. Uncertainty comes from a seeded parametric bootstrap: the covariance matrix of n answers is
redrawn from its sampling distribution (Wishart with n - 1 degrees of freedom, as for multivariate
normal answers) and the weights recomputed, `BOOTSTRAP_REPLICATES` times. Percentile intervals;
the share of replicates in which a dimension ranks first says how sure the "main driver" is.

Shown only for groups of at least `MIN_DRIVER_RESPONDENTS` complete answers: below that, the
weights of four correlated predictors are mostly noise.

Privacy. When a round's figures carry differential-privacy noise (`pulse.domain.privacy`), the
analysis is NOT part of the noisy release: no department gets one, and the organisation's is
computed from exact cross-products, outside the epsilon guarantee. Why not noise it: one person moves
each of the 10 cross-product sums the weights need by up to one (scores scaled to -1..1), so pure
epsilon-DP adds Laplace noise of scale 10 / epsilon to each, while the sums themselves are about 0.1 n
x r; with epsilon = 1 a correlation would be off by about 0.12 at n = 1,000 and 0.012 at n = 10,000.
Useful only for the largest organisations, so for now the analysis stays exact and is limited
instead: with released figures it needs `MIN_RELEASED_DRIVER_RESPONDENTS` long-standing respondents
(newcomers, the cheapest padding, do not count and their answers are left out). What remains: an
insider who keeps that many fake long-standing people in one round's population and answers for all
of them but one can work back to that person's answers from the released correlations
(tests/domain/test_privacy.py plays it with 29). Stated in the README ("Differential privacy").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats as scipy_stats

from pulse.domain.errors import InconsistentAggregates
from pulse.domain.items import DIMENSION_KEYS, DIMENSION_TOPICS
from pulse.domain.wording import N_, Wording

MIN_DRIVER_RESPONDENTS = 30
#: With privacy-released figures, the organisation's (exact, not noised) analysis needs this many
#: long-standing respondents: an insider who wants one person's answers from it must pad the round
#: with that many fake people who have been in the directory for longer than the quarantine.
MIN_RELEASED_DRIVER_RESPONDENTS = 200
BOOTSTRAP_REPLICATES = 400
DRIVER_SEED = 20_000_601  # fixed: the same answers always give the same intervals
CLEAR_LEADER = 0.8  # share of replicates in which the top dimension ranks first, to call it "the" main driver

DRIVER_METHODOLOGY_WORDING = Wording(
    N_(
        "Driver analysis: the outcome statement is regressed on the four dimension scores of the same people, and the "
        "variance it explains is split between the four with Johnson's relative weights, which stay meaningful when "
        "the dimensions are correlated (they approximate the dominance-analysis share of each). Each share comes with "
        "a 95%% interval from %(replicates)s bootstrap replicates (parametric, seeded, so the same answers always give "
        "the same figures). Shown for the organisation and for any department with at least %(minimum)s people who "
        "answered the outcome and all four dimensions; below that the split is mostly noise. The analysis says which "
        "force goes together with acting for customers here, not that changing it will change behaviour."
    ),
    {"replicates": BOOTSTRAP_REPLICATES, "minimum": MIN_DRIVER_RESPONDENTS},
)
DRIVER_METHODOLOGY = DRIVER_METHODOLOGY_WORDING.text

VARIABLES = (*DIMENSION_KEYS, "outcome")


@dataclass(frozen=True)
class DriverMoments:
    """Count, sums and cross-product sums of (fear, initiative, consistency, collaboration, outcome).

    Only respondents who answered all five count. `sums` has 5 entries, `products` is the 5 x 5
    matrix of sums of x_i * x_j, flattened row by row (25 entries), so it stays hashable and JSON-able.
    """

    n: int
    sums: tuple[float, ...]
    products: tuple[float, ...]

    @classmethod
    def empty(cls) -> DriverMoments:
        """No respondents (the neutral element of +)."""
        return cls(0, (0.0,) * len(VARIABLES), (0.0,) * len(VARIABLES) ** 2)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[float | None]]) -> DriverMoments:
        """Moments of the complete rows (each row: the four dimension scores, then the outcome score)."""
        complete = [
            [float(v) for v in row if v is not None]
            for row in rows
            if len(row) == len(VARIABLES) and all(v is not None for v in row)
        ]
        if not complete:
            return cls.empty()
        data = np.asarray(complete)
        return cls(len(complete), tuple(data.sum(axis=0).tolist()), tuple((data.T @ data).ravel().tolist()))

    def __add__(self, other: DriverMoments) -> DriverMoments:
        return DriverMoments(
            self.n + other.n,
            tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)),
            tuple(a + b for a, b in zip(self.products, other.products, strict=True)),
        )

    def covariance(self) -> np.ndarray | None:
        """Sample covariance matrix (ddof=1) of the five variables; None with fewer than three rows."""
        if self.n < 3:
            return None
        size = len(VARIABLES)
        if len(self.sums) != size or len(self.products) != size * size:
            raise InconsistentAggregates(f"driver moments need {size} sums and {size * size} products")
        sums = np.asarray(self.sums)
        products = np.asarray(self.products).reshape(size, size)
        return np.asarray((products - np.outer(sums, sums) / self.n) / (self.n - 1))


def _correlation(covariance: np.ndarray) -> np.ndarray | None:
    sd = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    if np.any(sd <= 1e-9 * max(1.0, float(sd.max(initial=0.0)))):
        return None  # a variable without variance: nothing to explain or nothing to explain it with
    return np.asarray(covariance / np.outer(sd, sd))


def relative_weights(correlation: np.ndarray) -> np.ndarray | None:
    """Johnson's (2000) raw relative weights of the predictors; the last row/column is the outcome.

    Returns one weight per predictor; they add up to R². None when the predictors are collinear.
    """
    rxx, rxy = correlation[:-1, :-1], correlation[:-1, -1]
    eigenvalues, vectors = np.linalg.eigh(rxx)
    if eigenvalues.min() <= 1e-10:
        return None
    # Λ = R^1/2: correlations between the predictors X and their orthogonal counterparts Z.
    lam = vectors @ np.diag(np.sqrt(eigenvalues)) @ vectors.T
    beta = np.linalg.solve(lam, rxy)  # regression of the outcome on Z
    return np.asarray((lam**2) @ (beta**2))


def _batched_relative_weights(covariances: np.ndarray) -> np.ndarray:
    """`relative_weights` of a stack of covariance matrices at once; rows that are undefined are dropped."""
    sd = np.sqrt(np.clip(np.diagonal(covariances, axis1=1, axis2=2), 0.0, None))
    usable = np.all(sd > 1e-9, axis=1)
    covariances, sd = covariances[usable], sd[usable]
    correlation = covariances / (sd[:, :, None] * sd[:, None, :])
    rxx, rxy = correlation[:, :-1, :-1], correlation[:, :-1, -1]
    eigenvalues, vectors = np.linalg.eigh(rxx)
    usable = eigenvalues.min(axis=1) > 1e-10
    eigenvalues, vectors, rxy = eigenvalues[usable], vectors[usable], rxy[usable]
    lam = vectors @ (np.sqrt(eigenvalues)[:, :, None] * np.swapaxes(vectors, 1, 2))
    beta = np.linalg.solve(lam, rxy[:, :, None])[:, :, 0]
    weights = np.einsum("bjk,bk->bj", lam**2, beta**2)
    return np.asarray(weights[weights.sum(axis=1) > 0])


def r_squared(correlation: np.ndarray, predictors: Sequence[int]) -> float:
    """R² of the outcome (last variable) on a subset of the predictors, from the correlation matrix."""
    if not predictors:
        return 0.0
    index = list(predictors)
    rxx = correlation[np.ix_(index, index)]
    rxy = correlation[index, -1]
    return float(rxy @ np.linalg.solve(rxx, rxy))


def general_dominance(correlation: np.ndarray) -> np.ndarray:
    """General dominance weights (Budescu 1993) by brute force over every subset: the Shapley split of R².

    Weight of j = mean over subset sizes k of the mean increase in R² from adding j to a subset of
    k other predictors. Exact; exponential in the number of predictors (fine for four).
    """
    p = correlation.shape[0] - 1
    weights = np.zeros(p)
    for j in range(p):
        others = [i for i in range(p) if i != j]
        for size in range(p):
            gains = [
                r_squared(correlation, [*subset, j]) - r_squared(correlation, list(subset))
                for subset in combinations(others, size)
            ]
            weights[j] += sum(gains) / len(gains) / p
    return weights


@dataclass(frozen=True)
class DriverWeight:
    """One dimension's share of the outcome's explained variance."""

    dimension: str
    raw: float  # share of the outcome's variance (adds up to R² over the four)
    share: float  # share of R² (adds up to 1)
    share_low: float  # 95% bootstrap interval of `share`
    share_high: float
    correlation: float  # sign says the direction: e.g. more fear, less acting on one's own
    first: float  # share of bootstrap replicates in which this dimension ranks first


@dataclass(frozen=True)
class DriverResult:
    """Driver analysis of one group."""

    group: str
    n: int
    r_squared: float
    r_squared_low: float
    r_squared_high: float
    weights: tuple[DriverWeight, ...]  # largest share first

    @property
    def main(self) -> DriverWeight:
        """The dimension that explains most of the outcome."""
        return self.weights[0]

    @property
    def clear(self) -> bool:
        """Whether the main driver ranks first in at least `CLEAR_LEADER` of the replicates."""
        return self.main.first >= CLEAR_LEADER


def analyse(
    group: str,
    moments: DriverMoments,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = DRIVER_SEED,
    min_respondents: int = MIN_DRIVER_RESPONDENTS,
) -> DriverResult | None:
    """Relative weights of the four dimensions for the outcome, with bootstrap intervals.

    None below `min_respondents` complete answers, or when the weights are undefined (no variance,
    collinear dimensions).
    """
    if moments.n < max(min_respondents, len(VARIABLES) + 1):
        return None
    covariance = moments.covariance()
    correlation = _correlation(covariance) if covariance is not None else None
    weights = relative_weights(correlation) if correlation is not None else None
    if correlation is None or weights is None or covariance is None:
        return None
    total = float(weights.sum())
    if total <= 0:
        return None
    df = moments.n - 1
    rng = np.random.default_rng(seed)
    draws = scipy_stats.wishart(df=df, scale=covariance / df).rvs(size=replicates, random_state=rng)
    covariances = np.reshape(draws, (replicates, len(VARIABLES), len(VARIABLES))) / df
    boot = _batched_relative_weights(covariances)
    if boot.shape[0] < replicates // 2:
        return None
    boot_r2 = boot.sum(axis=1)
    boot_shares = boot / boot_r2[:, None]
    shares = boot_shares
    first = np.bincount(np.argmax(shares, axis=1), minlength=len(DIMENSION_KEYS)) / len(shares)
    low, high = np.percentile(shares, [2.5, 97.5], axis=0)
    result = [
        DriverWeight(
            dimension,
            float(weights[i]),
            float(weights[i] / total),
            float(low[i]),
            float(high[i]),
            float(correlation[i, -1]),
            float(first[i]),
        )
        for i, dimension in enumerate(DIMENSION_KEYS)
    ]
    result.sort(key=lambda w: -w.share)
    r2_low, r2_high = np.percentile(boot_r2, [2.5, 97.5])
    return DriverResult(group, moments.n, total, float(r2_low), float(r2_high), tuple(result))


# One whole sentence per force, so every language can build it its own way.
_HOLDS_BACK: dict[str, str] = {
    "fear": N_(
        "What most holds back initiative for customers here is fear of blame: it accounts for %(share)s%% of what "
        "the four forces explain (95%% interval %(low)s%% to %(high)s%%)."
    ),
    "initiative": N_(
        "What most holds back initiative for customers here is a lack of permission to act: it accounts for "
        "%(share)s%% of what the four forces explain (95%% interval %(low)s%% to %(high)s%%)."
    ),
    "consistency": N_(
        "What most holds back initiative for customers here is inconsistent leadership: it accounts for %(share)s%% "
        "of what the four forces explain (95%% interval %(low)s%% to %(high)s%%)."
    ),
    "collaboration": N_(
        "What most holds back initiative for customers here is poor help between departments: it accounts for "
        "%(share)s%% of what the four forces explain (95%% interval %(low)s%% to %(high)s%%)."
    ),
}
_UNCLEAR = N_(
    "Two forces matter most for whether people here fix customers' problems on their own: %(first)s and "
    "%(second)s. The answers cannot tell which of them matters more (%(first)s comes first in %(share)s%% of the "
    "bootstrap replicates)."
)
_EXPLAINED = N_(
    "Together the four forces explain %(share)s%% of the differences in how often people here fix a customer's "
    "problem on their own."
)


def _percent(value: float) -> int:
    return round(100 * value)


def headline_wording(result: DriverResult) -> tuple[Wording, ...]:
    """Which force most holds back acting for customers in this group, in two plain sentences."""
    main = result.main
    explained = Wording(_EXPLAINED, {"share": _percent(result.r_squared)})
    if result.clear:
        shares = {"share": _percent(main.share), "low": _percent(main.share_low), "high": _percent(main.share_high)}
        return (Wording(_HOLDS_BACK[main.dimension], shares), explained)
    runner = result.weights[1]
    topics = {
        "first": Wording(DIMENSION_TOPICS[main.dimension]),
        "second": Wording(DIMENSION_TOPICS[runner.dimension]),
    }
    return (Wording(_UNCLEAR, {**topics, "share": _percent(main.first)}), explained)


def headline(result: DriverResult) -> str:
    """The headline in English (see `headline_wording`)."""
    return " ".join(w.text for w in headline_wording(result))

"""Differential privacy: calibrated noise on every released figure about a department, drawn once.

Who this protects against (README, "Differential privacy"): an insider who pads a department with
addresses they answer themselves, or differences two outputs, and would otherwise compute one
person's exact score as `n * mean - sum(known answers)`. Thresholds cannot stop that; noise can.

What is noised, per department (neighbouring data sets differ by one person's response, added or
removed, so whether someone answered is protected too):

* the number of respondents (sensitivity 1, integer Laplace noise, `count_epsilon`);
* the four dimension sums, each centred on the scale's midpoint: sum of (score - 50), so one person
  moves each by at most 50 (L1 sensitivity 4 x 50 over the vector, `score_epsilon` per dimension).
  A released mean is 50 + noisy centred sum / released respondents; a respondent without a score on
  a dimension counts as neutral there (no separate count to spend budget on);
* the eNPS histogram `[promoters, passives, detractors]` (one person is in one bin: sensitivity 1,
  integer noise, `enps_epsilon`);
* the help question: how many answered it, and the marks they gave other departments, each person's
  marks weighted so they add up to at most `MAX_HELP_MARKS` (sensitivity `MAX_HELP_MARKS` + 1,
  `network_epsilon`).

And per organisation, once: each dimension's sum of squared distances from 50 (sensitivity 2500,
`spread_epsilon` per dimension), from which the pooled within-department spread of scores is
estimated. Department intervals and tests use that pooled spread, never a department's own sum of
squares (which, with nine known answers, would give away the tenth). Also per organisation, once:
each dimension's score sum over the anchor statements, centred on 50 (sensitivity 50 per dimension,
`anchor_epsilon`), which equates the round's noisy scores onto the anchor scale for trends.

Everything else in a report (organisation scores, the rest of the organisation, comparisons,
flags, trends, silo indices, participation totals) is computed from these noisy figures only, so it
costs no further budget (post-processing). Departments are disjoint, so the figures of different
departments compose in parallel: one person's whole round is protected at `PrivacyBudget.total`.

Not covered, and said so: comments, the organisation-wide reliability statistics (Cronbach's alpha,
median r_wg) and the organisation's driver analysis, which is computed from exact cross-products of
answers. Noising it would take Laplace noise of scale 10 / epsilon on each of its ten cross-product
sums, which only organisations of thousands of respondents could absorb (`pulse.domain.drivers`), so
instead the driver analysis of a noisy round needs `MIN_RELEASED_DRIVER_RESPONDENTS` (200)
long-standing respondents, newcomers left out: an insider must keep 199 fake long-standing people
in the round to work one person's answers back from it (tests/domain/test_privacy.py plays it
with 29).

The noise is drawn by OpenDP (`opendp.measurements.make_laplace` over integer and float vectors),
once per round: `release_round` returns the released figures and the draw (plain JSON data), and the
report service stores the draw and passes it back on every later build, so rebuilds and exports show
the same figures and repeated requests cannot average the noise away.

Switched off only in test code, through `pulse.services.reports.privacy_budget_for` (None = no noise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pulse.domain import laplace
from pulse.domain.aggregates import MAX_HELP_MARKS, DepartmentAggregates
from pulse.domain.errors import InconsistentAggregates
from pulse.domain.items import DIMENSION_KEYS
from pulse.domain.stats import Moments
from pulse.domain.wording import N_, Wording

SCORE_CENTRE = 50.0
SCORE_HALF_RANGE = 50.0  # a 0-100 score is at most this far from the centre
MIN_POOLED_VARIANCE = 1.0
MAX_POOLED_VARIANCE = SCORE_HALF_RANGE * SCORE_HALF_RANGE  # the largest variance of a 0-100 score
DRAW_VERSION = 1


@dataclass(frozen=True)
class PrivacyBudget:
    """Epsilon per round, split across the kinds of figures (see the module docstring)."""

    score_epsilon: float  # per dimension, on each department's centred score sum
    count_epsilon: float  # each department's respondent counts
    enps_epsilon: float  # each department's eNPS histogram
    network_epsilon: float  # each department's help marks
    spread_epsilon: float  # per dimension, the organisation's sum of squared distances from 50
    # per dimension, the organisation's centred sum over the anchor statements (trend equating)
    anchor_epsilon: float = 0.25

    def __post_init__(self) -> None:
        for name in (
            "score_epsilon",
            "count_epsilon",
            "enps_epsilon",
            "network_epsilon",
            "spread_epsilon",
            "anchor_epsilon",
        ):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InconsistentAggregates(f"{name} must be a positive number, got {value!r}")

    @property
    def total(self) -> float:
        """Epsilon for one person over one round (basic composition of everything they are in)."""
        dimensions = len(DIMENSION_KEYS)
        return (
            dimensions * self.score_epsilon
            + self.count_epsilon
            + self.enps_epsilon
            + self.network_epsilon
            + dimensions * self.spread_epsilon
            + dimensions * self.anchor_epsilon
        )

    @property
    def score_scale(self) -> float:
        """Laplace scale on one department's centred sum of one dimension."""
        return SCORE_HALF_RANGE / self.score_epsilon

    @property
    def count_scale(self) -> float:
        return 1.0 / self.count_epsilon

    @property
    def enps_scale(self) -> float:
        return 1.0 / self.enps_epsilon

    @property
    def network_scale(self) -> float:
        return (MAX_HELP_MARKS + 1) / self.network_epsilon

    @property
    def spread_scale(self) -> float:
        return SCORE_HALF_RANGE * SCORE_HALF_RANGE / self.spread_epsilon

    @property
    def anchor_scale(self) -> float:
        """Laplace scale on the organisation's centred anchor-only sum of one dimension."""
        return SCORE_HALF_RANGE / self.anchor_epsilon

    def to_json(self) -> dict[str, float]:
        return {
            "anchor_epsilon": self.anchor_epsilon,
            "score_epsilon": self.score_epsilon,
            "count_epsilon": self.count_epsilon,
            "enps_epsilon": self.enps_epsilon,
            "network_epsilon": self.network_epsilon,
            "spread_epsilon": self.spread_epsilon,
            "total_epsilon": self.total,
        }

    def describe(self) -> str:
        """The budget in plain words, for the report's methodology appendix (in English; see `wording`)."""
        return self.wording().text

    def wording(self) -> Wording:
        """The budget in plain words, to be worded in the reader's language."""
        spread = math.sqrt(2) * self.score_scale  # standard deviation of the noise on one score sum
        return Wording(
            N_(
                "Every figure about a department carries random noise (differential privacy), drawn once when the "
                "report was first built and kept, so every rebuild, export and download shows the same figures. The "
                "privacy budget is epsilon = %(total)s per person per round: %(score)s for each of the four scores, "
                "%(count)s for the counts of people who answered, %(enps)s for the eNPS categories, %(network)s for "
                "the help question and %(spread)s for each dimension's organisation-wide spread and %(anchor)s for "
                "each dimension's organisation-wide score over the anchor statements (which puts every round on the "
                "same scale for trends). In practice: someone who knows every other answer in a department still "
                "cannot work out one person's score: computed from the report, their estimate is off by about "
                "%(off)s points on the 0-100 scale (typically more than 20 even after clipping it to 0-100). For a "
                "department of n people the noise moves its score by about %(off)s/n points (%(n15)s for 15 people, "
                "%(n30)s for 30), and every interval and flag in this report includes that noise. Organisation-wide "
                "figures are sums of the departments' noisy figures."
            ),
            {
                "total": self.total,
                "score": self.score_epsilon,
                "count": self.count_epsilon,
                "enps": self.enps_epsilon,
                "network": self.network_epsilon,
                "spread": self.spread_epsilon,
                "anchor": self.anchor_epsilon,
                "off": round(spread),
                "n15": round(spread / 15),
                "n30": round(spread / 30),
            },
        )


#: The budget of a round unless an organisation says otherwise: chosen by simulation (README,
#: "Differential privacy"; tests/perf/bench_privacy.py).
DEFAULT_BUDGET = PrivacyBudget(
    score_epsilon=3.0, count_epsilon=2.0, enps_epsilon=1.0, network_epsilon=8.0, spread_epsilon=0.5
)


class NoiseSource(Protocol):
    """Where noise comes from: OpenDP in production; the protocol lets a test count draws."""

    def integers(self, values: Sequence[int], scale: float) -> list[int]:
        """Each value plus integer Laplace noise of `scale`."""
        ...

    def reals(self, values: Sequence[float], scale: float) -> list[float]:
        """Each value plus Laplace noise of `scale`."""
        ...


class OpenDPNoise:
    """Laplace noise from OpenDP's vector measurements (``pulse.domain.laplace``)."""

    def integers(self, values: Sequence[int], scale: float) -> list[int]:
        return laplace.integers(values, scale)

    def reals(self, values: Sequence[float], scale: float) -> list[float]:
        return laplace.reals(values, scale)

    @staticmethod
    def epsilon(kind: str, scale: float, sensitivity: float) -> float:
        """OpenDP's own privacy map: epsilon of one draw at `scale` for an L1 `sensitivity`."""
        measurement = laplace.measurement(kind, float(scale))
        return float(measurement.map(int(sensitivity) if kind == "int" else float(sensitivity)))


def discrete_laplace_variance(scale: float) -> float:
    """Variance of integer Laplace noise of `scale` (two-sided geometric)."""
    q = math.exp(-1.0 / scale)
    return 2.0 * q / (1.0 - q) ** 2


def laplace_variance(scale: float) -> float:
    return 2.0 * scale * scale


# ---------------------------------------------------------------- the draw


@dataclass(frozen=True)
class Release:
    """Released departments (noisy, in the same order) and the draw to store for the next build."""

    departments: list[DepartmentAggregates]
    draw: dict[str, Any]
    drew: int  # how many figures were drawn afresh (0 on a rebuild that reused the stored draw)


def _centred_sums(d: DepartmentAggregates) -> list[float]:
    result = []
    for dim in DIMENSION_KEYS:
        m = d.dimension_moments.get(dim, Moments.empty())
        result.append(m.total - SCORE_CENTRE * m.n)
    return result


def _centred_squares(departments: Sequence[DepartmentAggregates]) -> list[float]:
    result = []
    for dim in DIMENSION_KEYS:
        total = Moments.empty()
        for d in departments:
            total = total + d.dimension_moments.get(dim, Moments.empty())
        # sum (x - 50)^2 = sum x^2 - 100 sum x + 2500 n
        result.append(max(0.0, total.total_sq - 2 * SCORE_CENTRE * total.total + SCORE_CENTRE * SCORE_CENTRE * total.n))
    return result


def _centred_anchor_sums(departments: Sequence[DepartmentAggregates]) -> list[float]:
    result = []
    for dim in DIMENSION_KEYS:
        total = Moments.empty()
        for d in departments:
            total = total + d.anchor_moments.get(dim, Moments.empty())
        result.append(total.total - SCORE_CENTRE * total.n)
    return result


def _anchor_offsets(
    released_basic: Sequence[tuple[DepartmentAggregates, int, int, list[float]]],
    anchor_sums: Sequence[float],
    budget: PrivacyBudget,
) -> dict[str, tuple[float, float]]:
    """Per dimension: the round's organisation-wide mean over every statement minus its mean over the
    anchor statements, both from released (noisy) figures, and the variance of that offset's noise.

    Rotating statements differ in difficulty, so a score over every statement asked moves from round to
    round with no change in climate. Mean equating through the anchors (the common-item design): every
    released score of the round minus this offset is on the anchor scale, assuming a rotating
    statement is as hard in one department as in another. Only organisation-wide sums enter, so one
    person moves the anchor sum by at most 50 and the offset costs `anchor_epsilon` per dimension.
    """
    anchor_variance = laplace_variance(budget.anchor_scale)
    offsets: dict[str, tuple[float, float]] = {}
    for i, dim in enumerate(DIMENSION_KEYS):
        n = 0
        centred = 0.0
        for d, responded, _, sums in released_basic:
            if dim in d.dimension_moments and d.dimension_moments[dim].n > 0 and responded > 0:
                n += responded
                centred += sums[i]
        if n == 0:
            continue
        anchored = max(-SCORE_HALF_RANGE * n, min(SCORE_HALF_RANGE * n, anchor_sums[i]))
        offsets[dim] = ((centred - anchored) / n, anchor_variance / (n * n))
    return offsets


def _gate(noisy: int, exact: int, k: int, ceiling: int) -> int:
    """A released count on the same side of the threshold k as the exact one (the gate decides on exact
    counts; the released figure reveals nothing the shown/hidden decision does not already say)."""
    if exact >= k:
        return max(k, min(ceiling, noisy)) if ceiling >= k else ceiling
    return max(0, min(k - 1, ceiling, noisy))


def release_round(
    departments: Sequence[DepartmentAggregates],
    budget: PrivacyBudget,
    *,
    min_group_size: int,
    stored: Mapping[str, Any] | None = None,
    keys: Mapping[str, str] | None = None,
    noise: NoiseSource | None = None,
    with_network: bool = True,
) -> Release:
    """The noisy departments of one round, reusing every figure already in `stored`.

    `keys` maps a department name to the stable key its draw is stored under (the service uses the
    department's id, so renaming a department cannot buy a fresh draw); default: the name. Figures
    missing from `stored` are drawn from `noise` (OpenDP by default) and added to the returned draw.
    `with_network=False` (earlier rounds feeding trends, whose help marks are not loaded) neither
    draws nor releases help marks. Comments, item moments and invited counts pass through unchanged
    (comments cannot be noised and have their own rules; invited counts are the directory, which
    the insider controls anyway).
    """
    source: NoiseSource = noise if noise is not None else OpenDPNoise()
    key_of = dict(keys or {})
    name_of_key = {key_of.get(d.name, d.name): d.name for d in departments}
    # Help marks are released over the units each department's help question offered (a set fixed by
    # the tree, `pulse.domain.help_choices`), which need not be departments of the round.
    for d in departments:
        for unit_name in d.help_targets or ():
            name_of_key.setdefault(key_of.get(unit_name, unit_name), unit_name)
    previous = stored or {}
    draw: dict[str, Any] = {
        "version": DRAW_VERSION,
        "budget": dict(previous.get("budget") or budget.to_json()),
        "departments": {k: dict(v) for k, v in (previous.get("departments") or {}).items()},
        "organization": dict(previous.get("organization") or {}),
    }
    drew = 0

    # Organisation-wide spread: drawn once per round.
    if "spread" not in draw["organization"]:
        draw["organization"]["spread"] = source.reals(_centred_squares(departments), budget.spread_scale)
        drew += len(DIMENSION_KEYS)
    spread = [max(0.0, float(v)) for v in draw["organization"]["spread"]]
    if "anchors" not in draw["organization"]:
        draw["organization"]["anchors"] = source.reals(_centred_anchor_sums(departments), budget.anchor_scale)
        drew += len(DIMENSION_KEYS)
    anchor_sums = [float(v) for v in draw["organization"]["anchors"]]

    # Draw every missing figure of the round in one OpenDP call per kind of figure.
    wanted: dict[str, list[tuple[dict[str, Any], str, Any, Any]]] = {"int": [], "float": []}
    all_names = sorted(d.name for d in departments)
    pending_help: list[tuple[dict[str, Any], list[str]]] = []
    for d in departments:
        figures = draw["departments"].setdefault(key_of.get(d.name, d.name), {})
        if "counts" not in figures:
            wanted["int"].append((figures, "counts", [d.responded], budget.count_scale))
        if "sums" not in figures:
            wanted["float"].append((figures, "sums", _centred_sums(d), budget.score_scale))
        if "enps" not in figures:
            wanted["int"].append(
                (figures, "enps", [d.enps_promoters, d.enps_passives, d.enps_detractors], budget.enps_scale)
            )
        if with_network:
            if "network" not in figures:
                wanted["float"].append((figures, "network", float(d.network_respondents), budget.network_scale))
            if "help" not in figures:
                offered = d.help_targets if d.help_targets is not None else all_names
                others = [(key_of.get(name, name), name) for name in offered if name != d.name]
                values = [float(d.helped_by.get(name, 0.0)) for _, name in others]
                wanted["float"].append((figures, "help", values, budget.network_scale))
                pending_help.append((figures, [key for key, _ in others]))
    for kind, requests in wanted.items():
        by_scale: dict[float, list[tuple[dict[str, Any], str, Any, Any]]] = {}
        for request in requests:
            by_scale.setdefault(float(request[3]), []).append(request)
        for scale, group in by_scale.items():
            flat: list[Any] = []
            for _, _, value, _ in group:
                flat.extend(value if isinstance(value, list) else [value])
            noisy: list[Any] = source.integers(flat, scale) if kind == "int" else source.reals(flat, scale)
            drew += len(noisy)
            position = 0
            for target, field_name, value, _ in group:
                width = len(value) if isinstance(value, list) else 1
                chunk = noisy[position : position + width]
                target[field_name] = chunk if isinstance(value, list) else chunk[0]
                position += width
    # Help marks are released as whole numbers: stored that way, and only the non-zero ones (a
    # department of 200 has 199 of them, most of them 0).
    for figures, other_keys in pending_help:
        rounded = (round(float(v)) for v in figures["help"])
        figures["help"] = {key: value for key, value in zip(other_keys, rounded, strict=True) if value != 0}

    released_basic: list[tuple[DepartmentAggregates, int, int, list[float]]] = []
    for d in departments:
        figures = draw["departments"][key_of.get(d.name, d.name)]
        responded = _gate(int(figures["counts"][0]), d.responded, min_group_size, d.invited)
        network = 0
        if with_network and d.network_respondents > 0:
            # Below k answers the network leaves the department out anyway; keep the side of k.
            noisy_network = round(float(figures["network"]))
            network = _gate(noisy_network, d.network_respondents, min_group_size, responded)
        released_basic.append((d, responded, network, [float(v) for v in figures["sums"]]))

    # Pooled within-department variance per dimension, from the noisy spread and noisy means only.
    pooled: dict[str, float] = {}
    for i, dim in enumerate(DIMENSION_KEYS):
        between = 0.0
        n_total = 0
        groups = 0
        for d, responded, _, sums in released_basic:
            if dim not in d.dimension_moments or responded == 0:
                continue
            centred = max(-SCORE_HALF_RANGE * responded, min(SCORE_HALF_RANGE * responded, sums[i]))
            between += centred * centred / responded
            n_total += responded
            groups += 1
        within = spread[i] - between
        variance = within / (n_total - groups) if n_total > groups else MAX_POOLED_VARIANCE / 4
        pooled[dim] = max(MIN_POOLED_VARIANCE, min(MAX_POOLED_VARIANCE, variance))

    count_variance = discrete_laplace_variance(budget.count_scale)
    sum_variance = laplace_variance(budget.score_scale)
    offsets = _anchor_offsets(released_basic, anchor_sums, budget)
    released: list[DepartmentAggregates] = []
    for (d, responded, network, sums), exact in zip(released_basic, departments, strict=True):
        figures = draw["departments"][key_of.get(d.name, d.name)]
        moments: dict[str, Moments] = {}
        noise_variance: dict[str, float] = {}
        noise_scale: dict[str, float] = {}
        for i, dim in enumerate(DIMENSION_KEYS):
            exact_moments = d.dimension_moments.get(dim)
            if exact_moments is None or exact_moments.n == 0 or responded == 0:
                continue
            # A cell whose exact count is below k stays below k (hidden), like the department.
            n = responded if exact_moments.n >= min_group_size else min(responded, min_group_size - 1)
            centred = max(-SCORE_HALF_RANGE * n, min(SCORE_HALF_RANGE * n, sums[i]))
            total = SCORE_CENTRE * n + centred
            mean = total / n
            total_sq = (n - 1) * pooled[dim] + total * total / n
            moments[dim] = Moments(n, total, total_sq)
            # Variance of the released mean due to noise: the sum's noise, and the count's (which
            # scales the distance of the mean from the centre).
            noise_variance[dim] = (sum_variance + (mean - SCORE_CENTRE) ** 2 * count_variance) / (n * n)
            # The sum's noise is one Laplace draw: on the mean, a Laplace of scale score_scale / n.
            noise_scale[dim] = budget.score_scale / n
        enps = [max(0, int(v)) for v in figures["enps"]]
        helped_by: dict[str, float] = {}
        for other_key, value in (figures.get("help", {}) if with_network else {}).items():
            other_name = name_of_key.get(other_key)
            if other_name is not None and other_name != d.name:
                helped_by[other_name] = float(value)
        released.append(
            replace(
                exact,
                responded=responded,
                dimension_moments=moments,
                noise_variance=noise_variance,
                noise_scale=noise_scale,
                enps_promoters=enps[0],
                enps_passives=enps[1],
                enps_detractors=enps[2],
                helped_by=dict(sorted(helped_by.items())),
                network_respondents=network,
                gate_counts=(exact.responded, {k: m.n for k, m in exact.dimension_moments.items()}),
                gate_network=exact.network_respondents,
                # Exact anchor-only scores are never released: trends of released departments use
                # the noisy scores above, moved onto the anchor scale by the round's organisation-wide
                # offset (pulse.domain.report._trend_moments).
                anchor_moments={},
                anchor_offset={dim: offsets[dim] for dim in moments if dim in offsets},
            )
        )
    return Release(released, draw, drew)


def released_mean_noise_sd(budget: PrivacyBudget, n: int) -> float:
    """Standard deviation of the noise on a department mean of `n` respondents (sum noise only)."""
    return math.sqrt(laplace_variance(budget.score_scale)) / n

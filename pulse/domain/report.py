"""The report model: everything a report shows, as frozen plain data, built from aggregates only.

`build_report(ReportInput) -> Report`. Every figure passes through the round's disclosure plan
over the unit tree (`pulse.domain.tree_plan`: the departments, every inner unit with everything below
it, the organisation) first; the PDF, the JSON (`Report.to_json`) and the CSV export
(`Report.to_csv_rows`) all read this one model, so they cannot disagree about what is hidden.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulse.domain.aggregates import DepartmentAggregates, RoundAggregates
from pulse.domain.disclosure import (
    CommentGroup,
    CommentSource,
    DisclosurePlan,
    GroupCounts,
    GroupDisclosure,
    check_min_group_size,
    effective_comment_threshold,
    suppression_rules,
)
from pulse.domain.drivers import (
    BOOTSTRAP_REPLICATES,
    DRIVER_METHODOLOGY,
    DRIVER_METHODOLOGY_WORDING,
    MIN_DRIVER_RESPONDENTS,
    MIN_RELEASED_DRIVER_RESPONDENTS,
    DriverMoments,
    DriverResult,
    analyse,
    headline_wording,
)
from pulse.domain.errors import InconsistentAggregates, InvalidAnswer
from pulse.domain.findings import (
    Finding,
    FlaggedDifference,
    Guidance,
    OrganizationChange,
    guidance_for,
    select_findings,
)
from pulse.domain.flags import (
    FALSE_DISCOVERY_RATE,
    FLAG_RULE_WORDING,
    MIN_DIFFERENCE,
    DepartmentComparison,
    DimensionModel,
    compare_departments,
    department_interval,
    fit_dimension_model,
)
from pulse.domain.help_choices import marks_by_choice
from pulse.domain.items import (
    DIMENSION_KEYS,
    DIMENSIONS,
    ITEM_BY_KEY,
    OUTCOME_ITEM,
    OUTCOME_KEY,
    SCALE_LABELS,
    SCALE_OPTIONS,
)
from pulse.domain.pooled import pool_departments
from pulse.domain.privacy import PrivacyBudget
from pulse.domain.silos import SILO_METHODOLOGY_WORDING, SiloNetwork, collaboration_component
from pulse.domain.stats import (
    DEFAULT_CONFIDENCE,
    MIN_ENPS_RESPONSES,
    CrossMoments,
    Moments,
    cronbach_alpha_from_moments,
    enps_interval,
    icc1_from_moments,
    icc2_from_moments,
    mean_interval,
    rwg_j_from_moments,
)
from pulse.domain.tree_comments import disclose_tree_comments
from pulse.domain.tree_plan import KIND_OWN, KIND_POOLED, RoundTree, TreePlan, plan_tree
from pulse.domain.tree_silos import RestTies, tree_silos
from pulse.domain.trends import (
    TREND_METHODOLOGY_WORDING,
    DimensionTrend,
    RoundFigure,
    claim_changes,
    dimension_trend,
    same_population,
    with_regression_note,
)
from pulse.domain.units import format_unit_path, name_path
from pulse.domain.wording import N_, Wording

__all__ = [
    "DepartmentAggregates",
    "DepartmentReport",
    "Report",
    "ReportInput",
    "RoundAggregates",
    "build_report",
]

SCORING_METHOD = N_(
    "Each answer is placed on a 0-100 scale (strongly disagree = 0, neutral = 50, strongly agree = 100), after "
    "flipping reverse-worded statements. A person's dimension score is the mean of their answered statements on "
    "that dimension, counted only when at least half of the dimension's statements were answered. Group scores are "
    "means of personal scores with 95%% confidence intervals."
)

UNCERTAINTY_METHOD = N_(
    "One treatment of uncertainty for every figure: scores, comparisons with the rest of the organisation, trends "
    "and flags. An interval says how far the figure could move if the same group answered again under the same "
    "conditions: it is t-based on the spread of the answers divided by the square root of the number of answers, with "
    "no finite-population correction. That correction would treat the people who answered as a random draw from those "
    "invited, so that a department where everyone answered would have no uncertainty at all; but answers to a "
    "climate survey vary from week to week for the same person, and people who fear blame are the likeliest not to "
    "answer, so nothing justifies it. A group where everyone answered still gets an honest interval. A department's "
    "score and its difference from the rest use the spread within departments pooled over the organisation (the "
    "same model the flags use), so the interval of a difference is always wider than that of the score. Where noise is "
    "added to released figures to protect individuals, its variance is added to the uncertainty of every interval, "
    "comparison and flag."
)


NO_PRIVACY_NOISE = N_("The figures in this report carry no privacy noise.")

#: What trends compare (`Trends.basis`): the anchor statements' own scores, or, when figures carry
#: privacy noise, every statement's noisy scores equated onto the anchors' scale.
ANCHOR_BASIS = N_("anchor statements only")
EQUATED_BASIS = N_(
    "anchor statements: each round's scores (which carry privacy noise) moved onto the anchor statements' scale by "
    "that round's organisation-wide difference between every statement and the anchors (mean equating)"
)

TREE_RULE = N_(
    "Units sit within units. A department's row is the people sitting in that unit itself; a unit with units "
    "below it also has figures that pool every answer below it, and a leader's report shows each unit just "
    "below their scope that way, compared with the rest of the organisation. Every report of a round (the "
    "organisation's and every leader's) shows cells planned together once: no sum or difference of released "
    "figures, within one report or across reports, isolates a group smaller than the minimum group size "
    "(complementary suppression over the whole tree, a parent minus its shown units being empty or large "
    "enough at every level). The same holds for each dimension's score, for the help question and, at the "
    "comment threshold, for comments. Pooled figures are sums of the departments' figures as released, "
    "privacy noise included: no new noise is drawn for them and they spend no further privacy budget."
)

# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class ReportInput:
    """Everything `build_report` needs; all figures are per-department aggregates."""

    organization_name: str
    organization_slug: str
    round_id: str
    round_number: int
    opened_on: str
    closes_on: str
    closed: bool
    min_group_size: int
    comment_threshold: int
    items_asked: Sequence[str]
    departments: Sequence[DepartmentAggregates]
    previous_rounds: Sequence[RoundAggregates]  # oldest first, excluding this round
    directory_terms: Sequence[str]  # people's names and emails, for comment redaction
    round_label: str = ""  # how trends name this round; defaults to the opening date
    # The budget the departments' figures were released under (pulse.domain.privacy.release_round);
    # None = exact figures (only tests and the privacy switch do that).
    privacy: PrivacyBudget | None = None


# ---------------------------------------------------------------- output


@dataclass(frozen=True)
class Participation:
    """Invited and responded counts; None when the group is too small to show them."""

    invited: int | None
    responded: int | None
    rate: float | None


@dataclass(frozen=True)
class DimensionInfo:
    """A dimension as the report legend shows it."""

    key: str
    label: str
    higher_is_better: bool
    description: str


@dataclass(frozen=True)
class OrganizationScore:
    """The organisation's score on one dimension; figures are None when hidden."""

    dimension: str
    label: str
    higher_is_better: bool
    suppressed: bool
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None


@dataclass(frozen=True)
class ScoreCell:
    """A department's score on one dimension, compared with the rest of the organisation."""

    dimension: str
    label: str
    higher_is_better: bool
    mean: float
    ci_low: float
    ci_high: float
    n: int
    difference_from_rest: float | None
    difference_ci_low: float | None
    difference_ci_high: float | None
    p_value: float | None
    q_value: float | None
    effect_size: float | None
    flag: str | None
    shrunk_difference: float | None = None  # empirical-Bayes estimate of difference_from_rest


@dataclass(frozen=True)
class DepartmentReport:
    """One department; counts and scores are absent (None / empty) when it is suppressed."""

    name: str
    invited: int | None
    responded: int | None
    participation_rate: float | None
    suppressed: bool
    suppression_reason: str | None
    scores: Mapping[str, ScoreCell]
    hidden_dimensions: tuple[str, ...]
    flags: tuple[str, ...]
    silo_index: float | None
    silo_low: float | None = None  # 95% bootstrap interval of silo_index
    silo_high: float | None = None
    #: "unit": the people sitting in a unit with no unit below it; "own": the people sitting in a unit
    #: that has units below it, only them; "pooled": a unit with everything below it
    kind: str = "unit"
    #: the unit directly above (its name), None at the top level
    parent: str | None = None
    depth: int = 1
    #: towards the rest of the organisation (``pulse.domain.tree_silos``): help marks its people gave
    #: units outside it, per person who answered the help question, and the silo index that makes
    outside_ties: float | None = None
    rest_silo_index: float | None = None


@dataclass(frozen=True)
class SiloLevel:
    """The help network between the units directly under one parent (None: the top level)."""

    parent: str | None
    network: SiloNetwork


@dataclass(frozen=True)
class Trends:
    """Organisation-wide and per-department trends (departments shown in this round only).

    `organization_rounds` are the rounds the organisation trend compares (same departments as this
    round); `other_scope_rounds` the earlier rounds left out because they covered other departments;
    `scope_note` says so in a sentence (empty when nothing was left out).
    """

    organization: Mapping[str, DimensionTrend]
    departments: Mapping[str, Mapping[str, DimensionTrend]]
    organization_rounds: tuple[str, ...] = ()
    other_scope_rounds: tuple[str, ...] = ()
    scope_note: str = ""
    basis: str = ANCHOR_BASIS
    #: trends of the units with units below them, everything below pooled (shown in this round only)
    units: Mapping[str, Mapping[str, DimensionTrend]] = field(default_factory=dict)
    scope_wording: Wording | None = None  # `scope_note` as a message and its values


@dataclass(frozen=True)
class EnpsSummary:
    """Organisation-wide eNPS with its 95% interval; per-department eNPS is not reported."""

    score: float
    promoters: int
    passives: int
    detractors: int
    responses: int
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class DriverReport:
    """What drives the outcome statement: the organisation and every shown department with enough answers."""

    outcome_key: str
    outcome_text: str
    asked: bool
    min_respondents: int
    organization: DriverResult | None
    departments: tuple[DriverResult, ...]
    headline: str
    replicates: int = BOOTSTRAP_REPLICATES
    headline_wording: tuple[Wording, ...] = ()  # `headline` as messages and their values, sentence by sentence
    #: the round's figures carry privacy noise: no department analysis, the organisation's needs
    #: `MIN_RELEASED_DRIVER_RESPONDENTS` long-standing respondents (``pulse.domain.drivers``)
    noised: bool = False


@dataclass(frozen=True)
class ItemInfo:
    """An item asked in this round."""

    key: str
    dimension: str
    text: str
    reverse: bool
    anchor: bool


@dataclass(frozen=True)
class DimensionQuality:
    """How far a dimension's figures can be trusted this round."""

    dimension: str
    items_asked: tuple[str, ...]
    cronbach_alpha: float | None  # internal consistency of the items, organisation-wide
    rwg_median: float | None  # median within-department agreement over every department with >= k answers
    rwg_departments: int
    icc1: float | None  # share of score variance that lies between departments (ANOVA, n0)
    icc2: float | None  # reliability of department means
    icc_departments: int = 0  # departments (>= k answers, shown or not) the ICCs are computed over


@dataclass(frozen=True)
class Methodology:
    """How the numbers were made, in words and thresholds."""

    scale: tuple[str, ...]
    scoring: str
    items: tuple[ItemInfo, ...]
    quality: tuple[DimensionQuality, ...]
    confidence_level: float
    min_group_size: int
    comment_threshold: int
    min_difference: float
    false_discovery_rate: float
    suppression_rules: str
    flag_rule: str
    silo_formula: str
    trend_method: str
    privacy: str
    privacy_epsilon: float | None
    uncertainty: str = Wording(UNCERTAINTY_METHOD).text
    driver_method: str = DRIVER_METHODOLOGY
    min_enps_responses: int = MIN_ENPS_RESPONSES
    tree_rule: str = TREE_RULE
    #: Each text above (by field name) as a message and its values, for the reader's language.
    wording: Mapping[str, Wording] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class RoundInfo:
    """The round this report is about."""

    id: str
    number: int
    label: str
    opened_on: str
    closes_on: str
    closed: bool


@dataclass(frozen=True)
class Report:
    """The whole report, after disclosure control."""

    organization_name: str
    organization_slug: str
    round: RoundInfo
    participation: Participation
    min_group_size: int
    dimensions: tuple[DimensionInfo, ...]
    organization: Mapping[str, OrganizationScore]
    departments: tuple[DepartmentReport, ...]
    trends: Trends
    silo_network: SiloNetwork
    enps: EnpsSummary | None
    comments: tuple[CommentGroup, ...]
    findings: tuple[Finding, ...]
    guidance: tuple[Guidance, ...]
    methodology: Methodology
    drivers: DriverReport | None = None
    #: every unit that has units below it, with everything below it pooled, parents first (the rows a
    #: leader's report shows, ``pulse.domain.scoped_report``)
    units: tuple[DepartmentReport, ...] = ()
    #: the help network between siblings under every parent (``silo_network`` is the top level's)
    silo_levels: tuple[SiloLevel, ...] = ()
    #: a finding for every flag of every row, departments and pooled units (``findings`` keeps the few
    #: that matter most organisation-wide; a leader's report picks those of its own rows from these)
    flag_findings: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-able data (dicts, lists, str, int, float, bool, None)."""
        result = _jsonable(self)
        if not isinstance(result, dict):  # pragma: no cover - a dataclass always converts to a dict
            raise TypeError("report did not convert to an object")
        return result

    def to_csv_rows(self) -> list[dict[str, str | float | int | None]]:
        """One row per department and dimension, for the CSV export (hidden figures are None)."""
        rows: list[dict[str, str | float | int | None]] = []
        for department in self.departments:
            for dimension in DIMENSION_KEYS:
                cell = department.scores.get(dimension)
                rows.append(
                    {
                        "department": department.name,
                        "dimension": dimension,
                        "score": _whole(cell.mean) if cell else None,
                        "ci_low": _whole(cell.ci_low) if cell else None,
                        "ci_high": _whole(cell.ci_high) if cell else None,
                        "difference_from_rest": _whole(cell.difference_from_rest) if cell else None,
                        "n": cell.n if cell else None,
                        "suppressed": int(cell is None),
                        "flag": cell.flag if cell else None,
                    }
                )
        return rows


#: Fields that hold points on the 0-100 scale (scores, interval ends, differences) or the eNPS score:
#: released as whole numbers, exactly as the report prints them. Every other number (rates, indices,
#: coefficients, p-values) is released with two decimals. No output carries more precision than
#: the report shows (DESIGN.md, anonymity rule 6).
WHOLE_NUMBER_FIELDS = frozenset(
    {
        "mean",
        "ci_low",
        "ci_high",
        "difference",
        "difference_from_rest",
        "difference_ci_low",
        "difference_ci_high",
        "min_difference",
        "score",
        "count",
    }
)
DECIMALS = 2


def _round(value: float | None, digits: int = DECIMALS) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _whole(value: float | None) -> int | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value)


#: Field names of each dataclass the model is made of (dataclasses.fields() is slow to ask per object).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def _jsonable(value: Any, name: str = "") -> Any:
    # The plain types first, by exact type (the model holds hundreds of thousands of them); anything
    # else (subclasses included) takes the general path below, as before.
    kind = type(value)
    if kind is float:
        return _whole(value) if name in WHOLE_NUMBER_FIELDS else _round(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is tuple or kind is list:
        return [_jsonable(v, name) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field: _jsonable(getattr(value, field), field) for field in _field_names(kind)}
    if isinstance(value, Mapping):
        return {(k if isinstance(k, str) else "|".join(map(str, k))): _jsonable(v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, name) for v in value]
    if isinstance(value, float):
        return _whole(value) if name in WHOLE_NUMBER_FIELDS else _round(value)
    return value


# ---------------------------------------------------------------- building


def _validate(data: ReportInput) -> None:
    names = [d.name for d in data.departments]
    if len(set(names)) != len(names):
        raise InconsistentAggregates(f"department names must be unique, got {sorted(names)}")
    for key in data.items_asked:
        if key not in ITEM_BY_KEY:
            raise InvalidAnswer(f"unknown item key {key!r} in items_asked")


def _released(d: DepartmentAggregates) -> bool:
    """Whether a department's figures are privacy-released (noisy) ones (`pulse.domain.privacy`)."""
    return d.gate_counts is not None


def _trend_moments(d: DepartmentAggregates) -> Mapping[str, Moments]:
    # Trends compare anchor-only scores. Privacy-released departments carry noise on their scores over
    # every statement, and their exact anchor scores must not be released: their trends use the noisy
    # scores moved onto the anchor scale by the round's organisation-wide offset (mean equating through
    # the anchors, `pulse.domain.privacy._anchor_offsets`), which removes the rotating statements'
    # difficulty. sum (x - c)^2 = sum x^2 - 2c sum x + n c^2.
    if not _released(d):
        return d.anchor_moments
    shifted: dict[str, Moments] = {}
    for dim, m in d.dimension_moments.items():
        offset = d.anchor_offset.get(dim, (0.0, 0.0))[0]
        shifted[dim] = Moments(
            m.n, m.total - offset * m.n, max(0.0, m.total_sq - 2 * offset * m.total + m.n * offset**2)
        )
    return shifted


def _trend_noise(d: DepartmentAggregates, dim: str) -> float:
    """Variance of the noise on a department's trend figure: its score's and the equating offset's."""
    return d.noise_variance.get(dim, 0.0) + d.anchor_offset.get(dim, (0.0, 0.0))[1]


def _group_counts(departments: Sequence[DepartmentAggregates], anchors: bool = False) -> list[GroupCounts]:
    # Thresholds decide on the counts as counted (`gate_counts`) when the figures carry privacy
    # noise: the released counts stay on the same side of k (pulse.domain.privacy), and the
    # decisions do not depend on the noise.
    return [
        GroupCounts(d.name, d.invited, d.gate_counts[0], dict(d.gate_counts[1]), d.quarantined)
        if d.gate_counts is not None
        else GroupCounts(
            d.name,
            d.invited,
            d.responded,
            {k: m.n for k, m in (d.anchor_moments if anchors else d.dimension_moments).items()},
            d.quarantined,
        )
        for d in departments
    ]


def _sum_moments(departments: Sequence[DepartmentAggregates], dimension: str, anchors: bool = False) -> Moments:
    total = Moments.empty()
    for d in departments:
        total = total + (d.anchor_moments if anchors else d.dimension_moments).get(dimension, Moments.empty())
    return total


def _sum_noise(departments: Sequence[DepartmentAggregates], dimension: str) -> float:
    """Variance of the privacy noise on the sum of the departments' scores on one dimension."""
    total = 0.0
    for d in departments:
        variance = d.noise_variance.get(dimension)
        moments = d.dimension_moments.get(dimension)
        if variance and moments is not None:
            total += variance * moments.n * moments.n
    return total


def _offset_noise(departments: Sequence[DepartmentAggregates], dimension: str) -> float:
    """Variance of the round's equating offset (one organisation-wide figure, the same on every department)."""
    return max((d.anchor_offset.get(dimension, (0.0, 0.0))[1] for d in departments), default=0.0)


def _mean_noise(sum_noise: float, n: int) -> float:
    return sum_noise / (n * n) if n > 0 else 0.0


def _rate(invited: int | None, responded: int | None) -> float | None:
    if invited is None or responded is None or invited == 0:
        return None
    return responded / invited


def _organization_scores(
    departments: Sequence[DepartmentAggregates], plan: DisclosurePlan, confidence: float
) -> tuple[dict[str, OrganizationScore], dict[str, Moments]]:
    moments = {dim: _sum_moments(departments, dim) for dim in DIMENSION_KEYS}
    scores: dict[str, OrganizationScore] = {}
    for dim in DIMENSIONS:
        noise = _mean_noise(_sum_noise(departments, dim.key), moments[dim.key].n)
        interval = (
            mean_interval(moments[dim.key], confidence, noise) if plan.shows_organization_score(dim.key) else None
        )
        scores[dim.key] = OrganizationScore(
            dim.key,
            dim.label,
            dim.higher_is_better,
            interval is None,
            interval.mean if interval else None,
            interval.low if interval else None,
            interval.high if interval else None,
            interval.n if interval else None,
        )
    return scores, moments


def _score_cell(
    dimension: str,
    moments: Moments,
    noise: float,
    model: DimensionModel | None,
    comparison: DepartmentComparison | None,
    confidence: float,
) -> ScoreCell | None:
    interval = department_interval(moments, model, noise, confidence) if model is not None else None
    interval = interval or mean_interval(moments, confidence, noise)
    if interval is None:
        return None
    info = next(d for d in DIMENSIONS if d.key == dimension)
    c = comparison.comparison if comparison else None
    return ScoreCell(
        dimension,
        info.label,
        info.higher_is_better,
        interval.mean,
        interval.low,
        interval.high,
        interval.n,
        c.difference if c else None,
        c.low if c else None,
        c.high if c else None,
        c.p_value if c else None,
        comparison.q_value if comparison else None,
        c.effect_size if c else None,
        comparison.flag if comparison else None,
        comparison.shrunk_difference if comparison else None,
    )


def _population(departments: Sequence[DepartmentAggregates]) -> frozenset[str]:
    return frozenset(d.name for d in departments if d.invited > 0)


def dimension_models(departments: Sequence[DepartmentAggregates], k: int) -> dict[str, DimensionModel]:
    """Per-dimension random-effects models over every department with at least k answers, shown or not.

    Only organisation-level quantities come out of a model (variances, ICC), never a hidden
    department's figure, so including hidden departments avoids the bias of fitting on shown ones only.
    """
    models: dict[str, DimensionModel] = {}
    for dim in DIMENSION_KEYS:
        members = [d for d in departments if (m := d.dimension_moments.get(dim)) is not None and m.n >= k]
        model = fit_dimension_model(
            [d.dimension_moments[dim] for d in members], [d.noise_variance.get(dim, 0.0) for d in members]
        )
        if model is not None:
            models[dim] = model
    return models


def round_plan(departments: Sequence[DepartmentAggregates], k: int, anchors: bool = False) -> TreePlan:
    """The disclosure plan of one round's departments over its unit tree (``pulse.domain.tree_plan``)."""
    return plan_tree(_group_counts(departments, anchors), k, DIMENSION_KEYS)


def pooled_units(departments: Sequence[DepartmentAggregates], plan: TreePlan) -> dict[str, DepartmentAggregates]:
    """Every inner unit of the round with everything below it, from the departments' figures (as released)."""
    by_name = {d.name: d for d in departments}
    shape = plan.round_tree
    return {
        name: pool_departments(name, [by_name[member] for member in shape.members(unit)], plan.min_group_size)
        for unit in shape.inner
        for name in (format_unit_path(unit),)
    }


def _shown_cells(
    departments: Mapping[str, DepartmentAggregates], plan: DisclosurePlan
) -> dict[str, dict[str, Moments]]:
    return {
        name: {dim: m for dim, m in d.dimension_moments.items() if m.n > 0 and plan.shows_score(name, dim)}
        for name, d in departments.items()
        if plan.shows(name)
    }


def _flagged_last_time(
    rounds: Sequence[RoundAggregates], k: int
) -> tuple[dict[tuple[str, str], DepartmentComparison], dict[tuple[str, str], DepartmentComparison]]:
    """The flags of the round before this one, departments and pooled units, as that round's report
    decided them (for the RTM note)."""
    if not rounds:
        return {}, {}
    depts = sorted(rounds[-1].departments, key=lambda d: d.name)
    plan = round_plan(depts, k)
    organization = {dim: _sum_moments(depts, dim) for dim in DIMENSION_KEYS}
    models = dimension_models(depts, k)
    result: list[dict[tuple[str, str], DepartmentComparison]] = []
    for rows, verdicts in (({d.name: d for d in depts}, plan.departments), (pooled_units(depts, plan), plan.units)):
        noise = {(name, dim): v for name, d in rows.items() for dim, v in d.noise_variance.items()}
        scales = {(name, dim): v for name, d in rows.items() for dim, v in d.noise_scale.items()}
        comparisons = compare_departments(_shown_cells(rows, verdicts), organization, models, noise, None, scales)
        result.append({key: c for key, c in comparisons.items() if c.flag})
    return result[0], result[1]


Series = dict[str, dict[str, list[RoundFigure]]]


def _series(
    rounds: Sequence[tuple[str, str, Sequence[DepartmentAggregates]]], k: int, *, rows: bool = True
) -> tuple[dict[str, list[RoundFigure]], Series, Series]:
    # Anchor-only figures, each round with its own disclosure plan (on anchor counts): a department or
    # unit hidden in a round stays hidden in that round's trend point, whatever happened in other rounds.
    organization: dict[str, list[RoundFigure]] = {dim: [] for dim in DIMENSION_KEYS}
    departments: Series = {}
    units: Series = {}
    for label, opened_on, depts in rounds:
        plan = round_plan(depts, k, anchors=True)
        for dim in DIMENSION_KEYS:
            shown = plan.departments.shows_organization_score(dim)
            total = Moments.empty()
            for d in depts:
                total = total + _trend_moments(d).get(dim, Moments.empty())
            organization[dim].append(
                RoundFigure(
                    label,
                    opened_on,
                    total if shown else None,
                    _mean_noise(_sum_noise(depts, dim), total.n) + _offset_noise(depts, dim),
                )
            )
        if not rows:
            continue  # the organisation's series only
        for target, by_name, verdicts in (
            (departments, {d.name: d for d in depts}, plan.departments),
            (units, pooled_units(depts, plan), plan.units),
        ):
            for name in set(target) | set(by_name):
                series = target.setdefault(name, {dim: [] for dim in DIMENSION_KEYS})
                dept = by_name.get(name)
                for dim in DIMENSION_KEYS:
                    moments = _trend_moments(dept).get(dim) if dept and verdicts.shows_score(name, dim) else None
                    noise = _trend_noise(dept, dim) if dept else 0.0
                    series[dim].append(RoundFigure(label, opened_on, moments, noise))
    return organization, departments, units


def _claimed(
    series: Series, verdicts: DisclosurePlan, flagged: Mapping[tuple[str, str], DepartmentComparison], confidence: float
) -> dict[str, dict[str, DimensionTrend]]:
    """The trends of the rows shown in this round, changes claimed over their own family."""
    trends = claim_changes(
        {
            (name, dim): dimension_trend(dim, s[dim], confidence)
            for name, s in sorted(series.items())
            if verdicts.shows(name)
            for dim in DIMENSION_KEYS
        }
    )
    for key, previous in flagged.items():
        trend = trends.get(key)
        if trend is not None:
            # If nothing changed, the department's next difference from the rest is expected to be the
            # shrunk one: the rest of last round's gap was noise and disappears by itself.
            expected = -(previous.comparison.difference - previous.shrunk_difference)
            trends[key] = with_regression_note(trend, expected)
    by_name: dict[str, dict[str, DimensionTrend]] = {}
    for (name, dim), trend in trends.items():
        by_name.setdefault(name, {})[dim] = trend
    return by_name


def _scope_note(label: str, other: Sequence[str], compared: Sequence[str]) -> Wording | None:
    if not other:
        return None
    if len(compared) <= 1:
        message = N_(
            "No organisation-wide trend: %(round)s covered different departments from every earlier round "
            "(%(rounds)s), so comparing them would compare different people. Department trends are unaffected."
        )
        return Wording(message, {"round": label, "rounds": list(other)})
    message = N_(
        "The organisation-wide trend leaves out %(rounds)s, which covered different departments from %(round)s; "
        "it compares only %(compared)s. Department trends are unaffected."
    )
    return Wording(message, {"round": label, "rounds": list(other), "compared": list(compared)})


def _trends(data: ReportInput, label: str, plan: TreePlan, confidence: float) -> Trends:
    k = plan.min_group_size
    current = _population(data.departments)
    same = [r for r in data.previous_rounds if same_population(current, _population(r.departments))]
    other = [r.label for r in data.previous_rounds if r not in same]
    organization, _, _ = _series(
        [*((r.label, r.opened_on, r.departments) for r in same), (label, data.opened_on, data.departments)],
        k,
        rows=False,
    )
    every = [(r.label, r.opened_on, r.departments) for r in data.previous_rounds]
    _, departments, units = _series([*every, (label, data.opened_on, data.departments)], k)
    organization_trends = claim_changes(
        {dim: dimension_trend(dim, organization[dim], confidence) for dim in DIMENSION_KEYS}
    )
    flagged_departments, flagged_units = _flagged_last_time(data.previous_rounds, k)
    compared = [*(r.label for r in same), label]
    scope_wording = _scope_note(label, other, compared)
    return Trends(
        organization=organization_trends,
        departments=_claimed(departments, plan.departments, flagged_departments, confidence),
        organization_rounds=tuple(compared),
        other_scope_rounds=tuple(other),
        scope_note=scope_wording.text if scope_wording else "",
        basis=(
            EQUATED_BASIS
            if any(_released(d) for d in data.departments)
            or any(_released(d) for r in data.previous_rounds for d in r.departments)
            else ANCHOR_BASIS
        ),
        units=_claimed(units, plan.units, flagged_units, confidence),
        scope_wording=scope_wording,
    )


def _quality(data: ReportInput, plan: DisclosurePlan) -> tuple[DimensionQuality, ...]:
    # Agreement (rwg) and ICCs over every department with at least k answers on the dimension, shown
    # or hidden: hidden ones are part of the organisation, and leaving them out would bias the
    # organisation-level summaries towards the departments that happen to be large enough to show.
    # Only those summaries are released, never a department's own rwg or ICC contribution.
    k = plan.min_group_size
    result: list[DimensionQuality] = []
    for dim in DIMENSION_KEYS:
        keys = tuple(k for k in dict.fromkeys(data.items_asked) if ITEM_BY_KEY[k].dimension == dim)
        item_moments: dict[str, Moments] = {}
        item_cross: dict[tuple[str, str], CrossMoments] = {}
        rwgs: list[float] = []
        groups: list[Moments] = []
        group_noise: list[float] = []
        for d in data.departments:
            for key in keys:
                item_moments[key] = item_moments.get(key, Moments.empty()) + d.item_moments.get(key, Moments.empty())
            for pair, cross in d.item_cross.items():
                if pair[0] in keys and pair[1] in keys:
                    item_cross[pair] = item_cross.get(pair, CrossMoments.empty()) + cross
            moments = d.dimension_moments.get(dim)
            if moments is None or moments.n < k:
                continue
            groups.append(moments)
            group_noise.append(d.noise_variance.get(dim, 0.0))
            if keys:
                rwg = rwg_j_from_moments([d.item_moments.get(key, Moments.empty()) for key in keys], SCALE_OPTIONS)
                if rwg is not None:
                    rwgs.append(rwg)
        alpha = None
        shown = plan.shows_organization_score(dim)
        if shown:
            reversed_keys = {key for key in keys if ITEM_BY_KEY[key].reverse}
            alpha = cronbach_alpha_from_moments(keys, item_moments, item_cross, reversed_keys)
        result.append(
            DimensionQuality(
                dim,
                keys,
                alpha,
                statistics.median(rwgs) if rwgs and shown else None,
                len(rwgs) if shown else 0,
                icc1_from_moments(groups, group_noise) if shown else None,
                icc2_from_moments(groups, group_noise) if shown else None,
                len(groups) if shown else 0,
            )
        )
    return tuple(result)


def _enps(departments: Sequence[DepartmentAggregates], k: int) -> EnpsSummary | None:
    promoters = sum(d.enps_promoters for d in departments)
    passives = sum(d.enps_passives for d in departments)
    detractors = sum(d.enps_detractors for d in departments)
    interval = enps_interval(promoters, passives, detractors)
    responses = promoters + passives + detractors
    # Like every organisation-wide figure: k long-standing answers, whatever the newcomers add.
    long_standing = sum(d.enps_responses for d in departments if not d.quarantined)
    if interval is None or responses < max(k, MIN_ENPS_RESPONSES) or long_standing < k:
        return None
    return EnpsSummary(interval.score, promoters, passives, detractors, responses, interval.low, interval.high)


def _drivers(departments: Sequence[DepartmentAggregates], plan: DisclosurePlan, asked: bool) -> DriverReport:
    # With privacy-released figures the organisation's analysis is the one figure computed from exact
    # cross-products: long-standing respondents only, and many of them (`pulse.domain.drivers`).
    released = any(_released(d) for d in departments)
    minimum = MIN_RELEASED_DRIVER_RESPONDENTS if released else MIN_DRIVER_RESPONDENTS
    total = DriverMoments.empty()
    for d in departments:
        if not (released and d.quarantined):
            total = total + d.driver_moments
    shown = all(plan.shows_organization_score(dim) for dim in DIMENSION_KEYS)
    organization = analyse("Organisation", total, min_respondents=minimum) if asked and shown else None
    groups = tuple(
        result
        for d in departments
        # Departments whose figures are privacy-released get no driver analysis of their own: their
        # exact cross-products are not released.
        if asked and plan.shows(d.name) and not _released(d) and d.driver_moments.n >= MIN_DRIVER_RESPONDENTS
        if (result := analyse(d.name, d.driver_moments)) is not None
    )
    if not asked:
        wording: tuple[Wording, ...] = (
            Wording(N_("The outcome statement was not asked in this round, so there is no driver analysis.")),
        )
    elif organization is None and released and total.n >= MIN_DRIVER_RESPONDENTS:
        message = N_(
            "The driver analysis carries no privacy noise, so while the other figures do, it is shown only when at "
            "least %(minimum)s long-standing people answered the outcome statement and all four dimensions; fewer did."
        )
        wording = (Wording(message, {"minimum": MIN_RELEASED_DRIVER_RESPONDENTS}),)
    elif organization is None:
        message = N_(
            "Fewer than %(minimum)s people answered the outcome statement and all four dimensions, too few to say "
            "which force drives it."
        )
        wording = (Wording(message, {"minimum": MIN_DRIVER_RESPONDENTS}),)
    else:
        wording = headline_wording(organization)
    text = " ".join(w.text for w in wording)
    return DriverReport(
        OUTCOME_KEY,
        OUTCOME_ITEM.text,
        asked,
        MIN_DRIVER_RESPONDENTS,
        organization,
        groups,
        text,
        headline_wording=wording,
        noised=released,
    )


def build_report(data: ReportInput, confidence: float = DEFAULT_CONFIDENCE) -> Report:
    """Build the report model for one round from per-department aggregates (see module docstring)."""
    k = check_min_group_size(data.min_group_size)
    comment_threshold = effective_comment_threshold(data.comment_threshold, k)
    _validate(data)
    departments = sorted(data.departments, key=lambda d: d.name)
    tree_plan = round_plan(departments, k)
    plan = tree_plan.departments
    organization, organization_moments = _organization_scores(departments, plan, confidence)

    shown_cells = _shown_cells({d.name: d for d in departments}, plan)
    noise = {(d.name, dim): v for d in departments for dim, v in d.noise_variance.items()}
    models = dimension_models(departments, k)
    organization_noise = {dim: _sum_noise(departments, dim) for dim in DIMENSION_KEYS}
    scales = {(d.name, dim): v for d in departments for dim, v in d.noise_scale.items()}
    comparisons = compare_departments(shown_cells, organization_moments, models, noise, organization_noise, scales)

    shape = tree_plan.round_tree
    departments = _help_by_choice(departments, shape)
    # Every inner unit with everything below it: sums of the departments' released figures, compared
    # with the rest of the organisation like departments are (their own family of flags).
    pooled = pooled_units(departments, tree_plan)
    unit_cells = _shown_cells(pooled, tree_plan.units)
    unit_noise = {(name, dim): v for name, d in pooled.items() for dim, v in d.noise_variance.items()}
    unit_scales = {(name, dim): v for name, d in pooled.items() for dim, v in d.noise_scale.items()}
    unit_comparisons = compare_departments(
        unit_cells, organization_moments, models, unit_noise, organization_noise, unit_scales
    )

    # Silos between siblings under every parent and of every unit towards the rest (tree_silos).
    by_name = {d.name: d for d in departments}
    rows = {path: by_name[name] for name, path in shape.path_of.items() if shape.cell_of[name] == path}
    rows.update({unit: pooled[format_unit_path(unit)] for unit in shape.inner})
    collaboration_gap: dict[str, float | None] = {}
    gap_se: dict[str, float] = {}
    for found in (*comparisons.values(), *unit_comparisons.values()):
        if found.dimension == "collaboration":
            collaboration_gap[found.department] = -found.comparison.difference
            gap_se[found.department] = (found.comparison.high - found.comparison.low) / (2 * 1.959964)
    network_plan = tree_plan.suppress(
        {d.name: _counted_network(d) for d in departments if not d.quarantined},
        k,
        unattributed=sum(_counted_network(d) for d in departments if d.quarantined),
    )
    silos = tree_silos(shape.tree, rows, network_plan, collaboration_gap, gap_se, k)

    department_reports: list[DepartmentReport] = []
    for d in departments:
        if d.quarantined:
            continue  # the newcomers are in the organisation's figures only, never listed
        path = shape.path_of[d.name]
        kind = shape.kind(d.name)
        # The people sitting in an inner unit are nobody's sibling: their index is the collaboration part.
        silo = (
            silos.sibling_index(d.name)
            if kind != KIND_OWN
            else (collaboration_component(collaboration_gap.get(d.name)), None, None)
        )
        department_reports.append(
            _row(
                d,
                plan.groups[d.name],
                shown_cells.get(d.name, {}),
                models,
                comparisons,
                confidence,
                silo,
                kind,
                path,
                silos.rest.get(d.name) if kind != KIND_OWN else None,
            )
        )
    unit_reports = tuple(
        _row(
            pooled[name],
            tree_plan.units.groups[name],
            unit_cells.get(name, {}),
            models,
            unit_comparisons,
            confidence,
            silos.sibling_index(name),
            KIND_POOLED,
            unit,
            silos.rest.get(name),
        )
        for unit in shape.inner
        for name in (format_unit_path(unit),)
    )

    org_invited = sum(d.invited for d in departments)
    org_responded = sum(d.responded for d in departments)
    participation = (
        Participation(org_invited, org_responded, _rate(org_invited, org_responded))
        if plan.organization_participation_shown
        else Participation(None, None, None)
    )
    label = data.round_label or data.opened_on
    trends = _trends(data, label, tree_plan, confidence)
    top = next((level for level in silos.levels if level.parent is None), None)
    network = (top.network if top else None) or SiloNetwork((), (), (), (), 0, {})
    # Cut off: at the top level, as the help network between top-level units shows it; below, units whose
    # people name units outside them far less than their level's typical unit does (towards the rest).
    isolated = sorted(
        {*network.isolated}
        | {
            r.name
            for r in (*department_reports, *unit_reports)
            if r.depth > 1 and not r.suppressed and (ties := silos.rest.get(r.name)) is not None and ties.isolated
        }
    )

    flagged = [
        FlaggedDifference(c.department, c.dimension, c.comparison.difference, c.comparison.low, c.comparison.high)
        for c in comparisons.values()
        if c.flag
    ]
    changes = [
        OrganizationChange(dim, c.from_label, c.difference, c.ci_low, c.ci_high, c.verdict)
        for dim, c in ((dim, t.since_previous) for dim, t in trends.organization.items())
        if c is not None
    ]
    findings = select_findings(
        flagged=flagged,
        changes=changes,
        isolated=isolated,
        participation_rate=participation.rate,
        hidden_departments=sum(1 for r in department_reports if r.suppressed),
        min_group_size=k,
        organization_means={dim: s.mean for dim, s in organization.items() if s.mean is not None},
    )
    guidance = guidance_for({r.name: r.flags for r in department_reports})
    privacy = data.privacy.wording() if data.privacy is not None else Wording(NO_PRIVACY_NOISE)
    wording = {
        "scoring": Wording(SCORING_METHOD),
        "suppression_rules": suppression_rules(k, comment_threshold),
        "flag_rule": FLAG_RULE_WORDING,
        "silo_formula": SILO_METHODOLOGY_WORDING,
        "uncertainty": Wording(UNCERTAINTY_METHOD),
        "trend_method": TREND_METHODOLOGY_WORDING,
        "privacy": privacy,
        "driver_method": DRIVER_METHODOLOGY_WORDING,
    }
    methodology = Methodology(
        scale=SCALE_LABELS,
        scoring=wording["scoring"].text,
        items=tuple(
            ItemInfo(i.key, i.dimension, i.text, i.reverse, i.anchor)
            for i in (ITEM_BY_KEY[k] for k in dict.fromkeys(data.items_asked))
        ),
        quality=_quality(data, plan),
        confidence_level=confidence,
        min_group_size=k,
        comment_threshold=comment_threshold,
        min_difference=MIN_DIFFERENCE,
        false_discovery_rate=FALSE_DISCOVERY_RATE,
        suppression_rules=wording["suppression_rules"].text,
        flag_rule=wording["flag_rule"].text,
        silo_formula=wording["silo_formula"].text,
        trend_method=wording["trend_method"].text,
        privacy=privacy.text,
        privacy_epsilon=data.privacy.total if data.privacy is not None else None,
        uncertainty=wording["uncertainty"].text,
        driver_method=wording["driver_method"].text,
        wording=wording,
    )
    comments = disclose_tree_comments(
        [
            # Thresholds decide on the counts as counted, never on released (noisy) ones.
            CommentSource(d.name, _counted(d), plan.shows(d.name), d.comments, not d.quarantined)
            for d in departments
        ],
        tree_plan,
        threshold=comment_threshold,
        closed=data.closed,
        directory_terms=data.directory_terms,
    )
    return Report(
        organization_name=data.organization_name,
        organization_slug=data.organization_slug,
        round=RoundInfo(data.round_id, data.round_number, label, data.opened_on, data.closes_on, data.closed),
        participation=participation,
        min_group_size=k,
        dimensions=tuple(DimensionInfo(d.key, d.label, d.higher_is_better, d.description) for d in DIMENSIONS),
        organization=organization,
        departments=tuple(department_reports),
        trends=trends,
        silo_network=network,
        enps=_enps(departments, k),
        comments=comments,
        findings=findings,
        guidance=guidance,
        methodology=methodology,
        drivers=_drivers(departments, plan, OUTCOME_KEY in data.items_asked),
        units=unit_reports,
        silo_levels=tuple(
            SiloLevel(level.parent, level.network) for level in silos.levels if level.network is not None
        ),
        flag_findings=_flag_findings([*comparisons.values(), *unit_comparisons.values()], k),
    )


def _flag_findings(comparisons: Sequence[DepartmentComparison], k: int) -> tuple[Finding, ...]:
    """One finding per flag, most marked first (row by row, so none is cut at the usual five)."""
    by_row: dict[str, list[FlaggedDifference]] = {}
    for c in comparisons:
        if c.flag:
            by_row.setdefault(c.department, []).append(
                FlaggedDifference(
                    c.department, c.dimension, c.comparison.difference, c.comparison.low, c.comparison.high
                )
            )
    found = [
        finding
        for name in sorted(by_row)
        for finding in select_findings(
            flagged=by_row[name],
            changes=(),
            isolated=(),
            participation_rate=None,
            hidden_departments=0,
            min_group_size=k,
            organization_means={},
        )
    ]
    return tuple(sorted(found, key=lambda f: (-abs(int(f.params["points"])), f.department or "", f.dimension or "")))


def _help_by_choice(departments: Sequence[DepartmentAggregates], shape: RoundTree) -> list[DepartmentAggregates]:
    """Each department's help marks counted for the units its help question offers (a no-op on marks the
    service has counted so already, ``pulse.domain.help_choices``): the level the silo networks read."""
    name_of = {path: name for name, path in shape.path_of.items()}
    result = []
    for d in departments:
        unit = shape.path_of.get(d.name)
        marks = {name_path(name): count for name, count in d.helped_by.items()}
        counted = marks_by_choice(shape.tree, unit, marks)
        helped_by = {name_of.get(path, format_unit_path(path)): count for path, count in sorted(counted.items())}
        result.append(dataclasses.replace(d, helped_by=helped_by) if helped_by != d.helped_by else d)
    return result


def _counted_network(d: DepartmentAggregates) -> int:
    """A department's respondents to the help question as counted (its released count carries noise)."""
    return d.gate_network if d.gate_network is not None else d.network_respondents


def _counted(d: DepartmentAggregates) -> int:
    """A department's respondents as counted (its released count carries noise)."""
    return d.gate_counts[0] if d.gate_counts is not None else d.responded


def _row(
    d: DepartmentAggregates,
    verdict: GroupDisclosure,
    shown: Mapping[str, Moments],
    models: Mapping[str, DimensionModel],
    comparisons: Mapping[tuple[str, str], DepartmentComparison],
    confidence: float,
    silo: tuple[float | None, float | None, float | None],
    kind: str,
    path: tuple[str, ...],
    rest: RestTies | None = None,
) -> DepartmentReport:
    """One row of the report: a department, or a unit with everything below it."""
    parent = format_unit_path(path[:-1]) if len(path) > 1 else None
    if not verdict.shown:
        return DepartmentReport(
            d.name,
            None,
            None,
            None,
            True,
            str(verdict.reason),
            {},
            tuple(DIMENSION_KEYS),
            (),
            None,
            kind=kind,
            parent=parent,
            depth=len(path),
        )
    cells: dict[str, ScoreCell] = {}
    for dim in DIMENSION_KEYS:
        moments = shown.get(dim)
        cell = (
            _score_cell(
                dim,
                moments,
                d.noise_variance.get(dim, 0.0),
                models.get(dim),
                comparisons.get((d.name, dim)),
                confidence,
            )
            if moments
            else None
        )
        if cell is not None:
            cells[dim] = cell
    invited = d.invited if verdict.participation_shown else None
    responded = d.responded if verdict.participation_shown else None
    return DepartmentReport(
        d.name,
        invited,
        responded,
        _rate(invited, responded),
        False,
        None,
        cells,
        tuple(dim for dim in DIMENSION_KEYS if dim not in cells),
        tuple(c.flag for c in cells.values() if c.flag),
        *silo,
        kind=kind,
        parent=parent,
        depth=len(path),
        outside_ties=rest.outside if rest else None,
        rest_silo_index=rest.index if rest else None,
    )

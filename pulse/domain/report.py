"""The report model: everything a report shows, as frozen plain data, built from aggregates only.

`build_report(ReportInput) -> Report`. Every figure passes through `disclosure.plan_disclosure`
first; the PDF, the JSON (`Report.to_json`) and the CSV export (`Report.to_csv_rows`) all read this
one model, so they cannot disagree about what is hidden.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulse.domain.aggregates import DepartmentAggregates, RoundAggregates
from pulse.domain.disclosure import (
    SUPPRESSION_RULES,
    CommentGroup,
    CommentSource,
    DisclosurePlan,
    GroupCounts,
    check_min_group_size,
    disclose_comments,
    effective_comment_threshold,
    plan_disclosure,
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
    FLAG_RULE,
    MIN_DIFFERENCE,
    MIN_EFFECT_SIZE,
    DepartmentComparison,
    compare_departments,
)
from pulse.domain.items import DIMENSION_KEYS, DIMENSIONS, ITEM_BY_KEY, SCALE_LABELS, SCALE_OPTIONS
from pulse.domain.privacy import PrivacyBudget
from pulse.domain.scoring import enps_score
from pulse.domain.silos import SILO_METHODOLOGY, NetworkInput, SiloNetwork, compute_silos
from pulse.domain.stats import (
    DEFAULT_CONFIDENCE,
    CrossMoments,
    Moments,
    cronbach_alpha_from_moments,
    icc1_from_moments,
    icc2_from_moments,
    mean_interval,
    rwg_j_from_moments,
)
from pulse.domain.trends import TREND_METHODOLOGY, DimensionTrend, RoundFigure, dimension_trend

__all__ = [
    "DepartmentAggregates",
    "DepartmentReport",
    "Report",
    "ReportInput",
    "RoundAggregates",
    "build_report",
]

SCORING_METHOD = (
    "Each answer is placed on a 0-100 scale (strongly disagree = 0, neutral = 50, strongly agree = 100), after "
    "flipping reverse-worded statements. A person's dimension score is the mean of their answered statements on "
    "that dimension, counted only when at least half of the dimension's statements were answered. Group scores are "
    "means of personal scores with 95% confidence intervals (t-based, corrected for the group being a census of "
    "its invited members)."
)


NO_PRIVACY_NOISE = "The figures in this report carry no privacy noise."

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


@dataclass(frozen=True)
class Trends:
    """Organisation-wide and per-department trends (departments shown in this round only)."""

    organization: Mapping[str, DimensionTrend]
    departments: Mapping[str, Mapping[str, DimensionTrend]]


@dataclass(frozen=True)
class EnpsSummary:
    """Organisation-wide eNPS; per-department eNPS is not reported."""

    score: float
    promoters: int
    passives: int
    detractors: int
    responses: int


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
    rwg_median: float | None  # median within-department agreement, shown departments
    rwg_departments: int
    icc1: float | None  # share of score variance that lies between departments
    icc2: float | None  # reliability of department means


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
    min_effect_size: float
    false_discovery_rate: float
    suppression_rules: str
    flag_rule: str
    silo_formula: str
    trend_method: str
    privacy: str
    privacy_epsilon: float | None


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


def _jsonable(value: Any, name: str = "") -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
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


def _group_counts(departments: Sequence[DepartmentAggregates]) -> list[GroupCounts]:
    # Thresholds decide on the counts as counted (`gate_counts`) when the figures carry privacy
    # noise: the released counts stay on the same side of k (pulse.domain.privacy), and the
    # decisions do not depend on the noise.
    return [
        GroupCounts(d.name, d.invited, d.gate_counts[0], dict(d.gate_counts[1]))
        if d.gate_counts is not None
        else GroupCounts(d.name, d.invited, d.responded, {k: m.n for k, m in d.dimension_moments.items()})
        for d in departments
    ]


def _sum_moments(departments: Sequence[DepartmentAggregates], dimension: str) -> Moments:
    total = Moments.empty()
    for d in departments:
        total = total + d.dimension_moments.get(dimension, Moments.empty())
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


def _mean_noise(sum_noise: float, n: int) -> float:
    return sum_noise / (n * n) if n > 0 else 0.0


def _rate(invited: int | None, responded: int | None) -> float | None:
    if invited is None or responded is None or invited == 0:
        return None
    return responded / invited


def _organization_scores(
    departments: Sequence[DepartmentAggregates], plan: DisclosurePlan, confidence: float
) -> tuple[dict[str, OrganizationScore], dict[str, Moments]]:
    invited = sum(d.invited for d in departments)
    moments = {dim: _sum_moments(departments, dim) for dim in DIMENSION_KEYS}
    scores: dict[str, OrganizationScore] = {}
    for dim in DIMENSIONS:
        noise = _mean_noise(_sum_noise(departments, dim.key), moments[dim.key].n)
        interval = (
            mean_interval(moments[dim.key], invited, confidence, noise)
            if plan.shows_organization_score(dim.key)
            else None
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
    population: int,
    comparison: DepartmentComparison | None,
    confidence: float,
    noise_variance: float,
) -> ScoreCell | None:
    interval = mean_interval(moments, population, confidence, noise_variance)
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
    )


def _round_figures(
    rounds: Sequence[tuple[str, str, Sequence[DepartmentAggregates]]], k: int
) -> tuple[dict[str, list[RoundFigure]], dict[str, dict[str, list[RoundFigure]]]]:
    # Each round gets its own disclosure plan: a department hidden in a round stays hidden in that
    # round's trend point, whatever happened in other rounds.
    organization: dict[str, list[RoundFigure]] = {dim: [] for dim in DIMENSION_KEYS}
    departments: dict[str, dict[str, list[RoundFigure]]] = {}
    for label, opened_on, depts in rounds:
        plan = plan_disclosure(_group_counts(depts), k, DIMENSION_KEYS)
        invited = sum(d.invited for d in depts)
        by_name = {d.name: d for d in depts}
        for dim in DIMENSION_KEYS:
            shown = plan.shows_organization_score(dim)
            total = _sum_moments(depts, dim)
            organization[dim].append(
                RoundFigure(
                    label, opened_on, total if shown else None, invited, _mean_noise(_sum_noise(depts, dim), total.n)
                )
            )
        for name in set(departments) | set(by_name):
            series = departments.setdefault(name, {dim: [] for dim in DIMENSION_KEYS})
            dept = by_name.get(name)
            for dim in DIMENSION_KEYS:
                moments = dept.dimension_moments.get(dim) if dept and plan.shows_score(name, dim) else None
                noise = dept.noise_variance.get(dim, 0.0) if dept else 0.0
                series[dim].append(RoundFigure(label, opened_on, moments, dept.invited if dept else None, noise))
    return organization, departments


def _trends(data: ReportInput, label: str, plan: DisclosurePlan, confidence: float) -> Trends:
    rounds = [(r.label, r.opened_on, r.departments) for r in data.previous_rounds]
    rounds.append((label, data.opened_on, data.departments))
    organization, departments = _round_figures(rounds, plan.min_group_size)
    return Trends(
        organization={dim: dimension_trend(dim, organization[dim], confidence) for dim in DIMENSION_KEYS},
        departments={
            name: {dim: dimension_trend(dim, series[dim], confidence) for dim in DIMENSION_KEYS}
            for name, series in sorted(departments.items())
            if plan.shows(name)
        },
    )


def _quality(
    data: ReportInput, plan: DisclosurePlan, shown_cells: Mapping[str, Mapping[str, Moments]]
) -> tuple[DimensionQuality, ...]:
    result: list[DimensionQuality] = []
    for dim in DIMENSION_KEYS:
        keys = tuple(k for k in dict.fromkeys(data.items_asked) if ITEM_BY_KEY[k].dimension == dim)
        item_moments: dict[str, Moments] = {}
        item_cross: dict[tuple[str, str], CrossMoments] = {}
        rwgs: list[float] = []
        for d in data.departments:
            for key in keys:
                item_moments[key] = item_moments.get(key, Moments.empty()) + d.item_moments.get(key, Moments.empty())
            for pair, cross in d.item_cross.items():
                if pair[0] in keys and pair[1] in keys:
                    item_cross[pair] = item_cross.get(pair, CrossMoments.empty()) + cross
            if keys and plan.shows_score(d.name, dim):
                rwg = rwg_j_from_moments([d.item_moments.get(k, Moments.empty()) for k in keys], SCALE_OPTIONS)
                if rwg is not None:
                    rwgs.append(rwg)
        alpha = None
        if plan.shows_organization_score(dim):
            reversed_keys = {k for k in keys if ITEM_BY_KEY[k].reverse}
            alpha = cronbach_alpha_from_moments(keys, item_moments, item_cross, reversed_keys)
        # ICC over shown departments only: hidden groups must not contribute individual group means.
        groups = [cells[dim] for cells in shown_cells.values() if dim in cells]
        result.append(
            DimensionQuality(
                dim,
                keys,
                alpha,
                statistics.median(rwgs) if rwgs else None,
                len(rwgs),
                icc1_from_moments(groups),
                icc2_from_moments(groups),
            )
        )
    return tuple(result)


def _enps(departments: Sequence[DepartmentAggregates], k: int) -> EnpsSummary | None:
    promoters = sum(d.enps_promoters for d in departments)
    passives = sum(d.enps_passives for d in departments)
    detractors = sum(d.enps_detractors for d in departments)
    score = enps_score(promoters, passives, detractors)
    responses = promoters + passives + detractors
    if score is None or responses < k:
        return None
    return EnpsSummary(score, promoters, passives, detractors, responses)


def build_report(data: ReportInput, confidence: float = DEFAULT_CONFIDENCE) -> Report:
    """Build the report model for one round from per-department aggregates (see module docstring)."""
    k = check_min_group_size(data.min_group_size)
    comment_threshold = effective_comment_threshold(data.comment_threshold, k)
    _validate(data)
    departments = sorted(data.departments, key=lambda d: d.name)
    plan = plan_disclosure(_group_counts(departments), k, DIMENSION_KEYS)
    organization, organization_moments = _organization_scores(departments, plan, confidence)

    shown_cells = {
        d.name: {dim: m for dim, m in d.dimension_moments.items() if m.n > 0 and plan.shows_score(d.name, dim)}
        for d in departments
        if plan.shows(d.name)
    }
    comparisons = compare_departments(
        shown_cells,
        organization_moments,
        {d.name: dict(d.noise_variance) for d in departments if d.name in shown_cells},
        {dim: _sum_noise(departments, dim) for dim in DIMENSION_KEYS},
    )

    collaboration_gap: dict[str, float | None] = {}
    for name in shown_cells:
        found = comparisons.get((name, "collaboration"))
        collaboration_gap[name] = -found.comparison.difference if found else None
    network_inputs = {
        d.name: NetworkInput(d.network_respondents, d.helped_by)
        for d in departments
        if plan.shows(d.name) and d.network_respondents >= k
    }
    silos = compute_silos(list(shown_cells), collaboration_gap, network_inputs)

    department_reports: list[DepartmentReport] = []
    for d in departments:
        verdict = plan.groups[d.name]
        if not verdict.shown:
            department_reports.append(
                DepartmentReport(
                    d.name, None, None, None, True, str(verdict.reason), {}, tuple(DIMENSION_KEYS), (), None
                )
            )
            continue
        cells: dict[str, ScoreCell] = {}
        for dim in DIMENSION_KEYS:
            moments = shown_cells[d.name].get(dim)
            cell = (
                _score_cell(
                    dim, moments, d.invited, comparisons.get((d.name, dim)), confidence, d.noise_variance.get(dim, 0.0)
                )
                if moments
                else None
            )
            if cell is not None:
                cells[dim] = cell
        invited = d.invited if verdict.participation_shown else None
        responded = d.responded if verdict.participation_shown else None
        department_reports.append(
            DepartmentReport(
                d.name,
                invited,
                responded,
                _rate(invited, responded),
                False,
                None,
                cells,
                tuple(dim for dim in DIMENSION_KEYS if dim not in cells),
                tuple(c.flag for c in cells.values() if c.flag),
                silos.silo_index.get(d.name),
            )
        )

    org_invited = sum(d.invited for d in departments)
    org_responded = sum(d.responded for d in departments)
    participation = (
        Participation(org_invited, org_responded, _rate(org_invited, org_responded))
        if plan.organization_participation_shown
        else Participation(None, None, None)
    )
    label = data.round_label or data.opened_on
    trends = _trends(data, label, plan, confidence)
    network = silos.network or SiloNetwork((), (), (), (), 0, {})

    flagged = [
        FlaggedDifference(c.department, c.dimension, c.comparison.difference, c.comparison.low, c.comparison.high)
        for c in comparisons.values()
        if c.flag
    ]
    changes = [
        OrganizationChange(dim, c.from_label, c.difference, c.ci_low, c.ci_high)
        for dim, c in ((dim, t.since_previous) for dim, t in trends.organization.items())
        if c is not None
    ]
    findings = select_findings(
        flagged=flagged,
        changes=changes,
        isolated=network.isolated,
        participation_rate=participation.rate,
        hidden_departments=sum(1 for r in department_reports if r.suppressed),
        min_group_size=k,
        organization_means={dim: s.mean for dim, s in organization.items() if s.mean is not None},
    )
    guidance = guidance_for({r.name: r.flags for r in department_reports})
    methodology = Methodology(
        scale=SCALE_LABELS,
        scoring=SCORING_METHOD,
        items=tuple(
            ItemInfo(i.key, i.dimension, i.text, i.reverse, i.anchor)
            for i in (ITEM_BY_KEY[k] for k in dict.fromkeys(data.items_asked))
        ),
        quality=_quality(data, plan, shown_cells),
        confidence_level=confidence,
        min_group_size=k,
        comment_threshold=comment_threshold,
        min_difference=MIN_DIFFERENCE,
        min_effect_size=MIN_EFFECT_SIZE,
        false_discovery_rate=FALSE_DISCOVERY_RATE,
        suppression_rules=SUPPRESSION_RULES.format(k=k, comment_threshold=comment_threshold),
        flag_rule=FLAG_RULE,
        silo_formula=SILO_METHODOLOGY,
        trend_method=TREND_METHODOLOGY,
        privacy=data.privacy.describe() if data.privacy is not None else NO_PRIVACY_NOISE,
        privacy_epsilon=data.privacy.total if data.privacy is not None else None,
    )
    comments = disclose_comments(
        [CommentSource(d.name, d.responded, plan.shows(d.name), d.comments) for d in departments],
        threshold=comment_threshold,
        min_group_size=k,
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
    )

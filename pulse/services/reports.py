"""Reports: SQL aggregation of a round, the domain report model, the stored PDF, exports and leader emails.

A round's answers are never loaded into Python: one GROUP BY per kind of figure (participation,
dimension scores, items and same-dimension item pairs, eNPS, help marks) gives the sufficient
statistics the domain needs (`DepartmentAggregates`), and `pulse.domain.report.build_report` turns
them into the report model, through the disclosure gate. The model (JSON) and its PDF are stored in
`Report`, so building once serves every download, export and email.

Between the two, `released_input` puts differential-privacy noise on every figure about a department
(`pulse.domain.privacy.release_round`), for this round and for each earlier round its trends use.
Each round's noise is drawn once and stored (`NoiseDraw`), so rebuilds, exports and repeated
requests show the same figures. `privacy_budget_for(round)` is the one switch: it returns the
round's budget, and a test that replaces it with a function returning None gets exact figures (to
show that an attack succeeds without the noise); nothing outside tests does that.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.exceptions import IntegrityError

from pulse import clock, i18n, spreadsheet
from pulse.domain.aggregates import MAX_HELP_MARKS, DepartmentAggregates, RoundAggregates
from pulse.domain.drivers import DriverMoments
from pulse.domain.help_choices import help_choices, marks_by_choice
from pulse.domain.items import DIMENSION_KEYS, ITEM_BY_KEY, OUTCOME_KEY
from pulse.domain.privacy import DEFAULT_BUDGET, PrivacyBudget
from pulse.domain.report import ReportInput
from pulse.domain.report import build_report as build_report_model
from pulse.domain.scoped_report import scope_model
from pulse.domain.stats import CrossMoments, Moments
from pulse.domain.tree_plan import RoundTree
from pulse.domain.units import UnitPath, format_unit_path, minimal_scope, name_path
from pulse.errors import InvalidInput, NotFound, PulseError
from pulse.mail import Attachment, Mailer, build_message
from pulse.models import (
    Department,
    NoiseDraw,
    Organization,
    Person,
    PersonRole,
    Report,
    ReportDelivery,
    ReportStatus,
    Round,
    RoundStatus,
    User,
    UserRole,
)
from pulse.services import language_reliability, noise_draw
from pulse.services.release import require_closed
from pulse.services.units import OrgUnits, load_units
from pulse.settings import Settings

log = logging.getLogger("pulse.reports")

#: How many earlier closed rounds feed the trends.
PREVIOUS_ROUNDS = 5
FORMATS = ("pdf", "json", "csv")
CSV_COLUMNS = (
    "department",
    "dimension",
    "score",
    "ci_low",
    "ci_high",
    "difference_from_rest",
    "n",
    "suppressed",
    "flag",
)


#: Why a report cannot be served yet, by its status (one message each: they are worded differently).
NOT_READY = {
    "not built": i18n.N_("the report of round %(id)s is not built"),
    "pending": i18n.N_("the report of round %(id)s is waiting to be built"),
    "building": i18n.N_("the report of round %(id)s is being built"),
    "ready": i18n.N_("the report of round %(id)s has no content"),
    "failed": i18n.N_("the report of round %(id)s could not be built"),
}


class ReportNotReady(PulseError):
    """A report was asked for that has not been built (or failed to build)."""

    status_code = 409
    code = "report_not_ready"


# ---------------------------------------------------------------- SQL


class _Sql:
    """Raw SQL on the default connection with `?` placeholders, rewritten to `$n` for PostgreSQL."""

    def __init__(self) -> None:
        self.connection = connections.get("default")
        self.postgres = self.connection.capabilities.dialect == "postgres"

    def _placeholders(self, sql: str) -> str:
        if not self.postgres:
            return sql
        parts = sql.split("?")
        return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))

    async def rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.connection.execute_query_dict(self._placeholders(sql), list(params))
        return result

    async def tuples(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        """Rows as the driver returns them (indexable records): no dict per row, for long results."""
        _, rows = await self.connection.execute_query(self._placeholders(sql), list(params))
        records: Sequence[Sequence[Any]] = rows  # asyncpg Records and sqlite3 Rows are sequences
        return records


def _moments(n: Any, total: Any, total_sq: Any) -> Moments:
    return Moments(int(n or 0), float(total or 0.0), float(total_sq or 0.0))


#: Where the answers of a round's newcomers (department NULL: the quarantine) are grouped. Department ids
#: start at 1, and no imported department name starts with a space.
NEWCOMERS = 0
NEWCOMERS_NAME = " newcomers (organisation figures only)"


def _department(value: Any) -> int:
    return NEWCOMERS if value is None else int(value)


def _in_list(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


_SCORE_COLUMNS = ", ".join(
    f"COUNT(score_{d}) AS n_{d}, SUM(score_{d}) AS s_{d}, SUM(score_{d} * score_{d}) AS q_{d}" for d in DIMENSION_KEYS
)


async def _invited(sql: _Sql, round_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    rows = await sql.rows(
        f"SELECT round_id, department_id, COUNT(*) AS invited FROM invitation "
        f"WHERE round_id IN ({_in_list(round_ids)}) GROUP BY round_id, department_id",
        round_ids,
    )
    return {(int(r["round_id"]), _department(r["department_id"])): int(r["invited"]) for r in rows}


async def _response_figures(sql: _Sql, round_ids: Sequence[int]) -> dict[tuple[int, int], dict[str, Any]]:
    rows = await sql.rows(
        f"SELECT round_id, department_id, COUNT(*) AS responded, {_SCORE_COLUMNS}, "
        "SUM(CASE WHEN enps >= 9 THEN 1 ELSE 0 END) AS promoters, "
        "SUM(CASE WHEN enps >= 7 AND enps <= 8 THEN 1 ELSE 0 END) AS passives, "
        "SUM(CASE WHEN enps <= 6 THEN 1 ELSE 0 END) AS detractors, "
        "SUM(CASE WHEN answered_network THEN 1 ELSE 0 END) AS network "
        f"FROM response WHERE round_id IN ({_in_list(round_ids)}) GROUP BY round_id, department_id",
        round_ids,
    )
    return {(int(r["round_id"]), _department(r["department_id"])): r for r in rows}


def _same_dimension_pairs(keys: Sequence[str]) -> list[tuple[int, int]]:
    ordered = sorted(range(len(keys)), key=lambda i: keys[i])
    return [
        (a, b)
        for x, a in enumerate(ordered)
        for b in ordered[x + 1 :]
        if ITEM_BY_KEY[keys[a]].dimension == ITEM_BY_KEY[keys[b]].dimension
    ]


async def _item_figures(
    sql: _Sql, round_id: int, keys: Sequence[str]
) -> tuple[dict[int, dict[str, Moments]], dict[int, dict[tuple[str, str], CrossMoments]]]:
    """Item moments and same-dimension pair co-moments per department, in one pass over the answers.

    The inner query pivots each response's answers into one row (one column per item asked), the
    outer one sums per department: pairwise-complete pair sums come from `CASE WHEN b IS NOT NULL`.
    One scan of the round's answers instead of a self-join per pair.
    """
    if not keys:
        return {}, {}
    pivot = ", ".join(f"MAX(CASE WHEN item_key = ? THEN value END) AS i{i}" for i in range(len(keys)))
    columns = [f"COUNT(i{i}) AS n{i}, SUM(i{i}) AS s{i}, SUM(i{i} * i{i}) AS q{i}" for i in range(len(keys))]
    pairs = _same_dimension_pairs(keys)
    for a, b in pairs:
        both = f"i{a} IS NOT NULL AND i{b} IS NOT NULL"
        columns.append(
            f"COUNT(i{a} * i{b}) AS pn_{a}_{b}, "
            f"SUM(CASE WHEN {both} THEN i{a} END) AS pa_{a}_{b}, "
            f"SUM(CASE WHEN {both} THEN i{b} END) AS pb_{a}_{b}, "
            f"SUM(i{a} * i{b}) AS pab_{a}_{b}, "
            f"SUM(CASE WHEN {both} THEN i{a} * i{a} END) AS pqa_{a}_{b}, "
            f"SUM(CASE WHEN {both} THEN i{b} * i{b} END) AS pqb_{a}_{b}"
        )
    rows = await sql.rows(
        f"SELECT department_id, {', '.join(columns)} FROM ("
        f"SELECT response_id, department_id, {pivot} FROM answer WHERE round_id = ? "
        "GROUP BY response_id, department_id) AS sheet GROUP BY department_id",
        [*keys, round_id],
    )
    items: dict[int, dict[str, Moments]] = {}
    cross: dict[int, dict[tuple[str, str], CrossMoments]] = {}
    for row in rows:
        department = _department(row["department_id"])
        items[department] = {
            key: _moments(row[f"n{i}"], row[f"s{i}"], row[f"q{i}"]) for i, key in enumerate(keys) if row[f"n{i}"]
        }
        cross[department] = {
            (keys[a], keys[b]): CrossMoments(
                int(row[f"pn_{a}_{b}"] or 0),
                float(row[f"pa_{a}_{b}"] or 0),
                float(row[f"pb_{a}_{b}"] or 0),
                float(row[f"pab_{a}_{b}"] or 0),
                float(row[f"pqa_{a}_{b}"] or 0),
                float(row[f"pqb_{a}_{b}"] or 0),
            )
            for a, b in pairs
        }
    return items, cross


async def _anchor_figures(sql: _Sql, round_id: int, keys: Sequence[str]) -> dict[int, dict[str, Moments]]:
    """Per department, moments of respondents' dimension scores over the anchor items only (for trends).

    The same scoring as `pulse.domain.scoring.score_response` restricted to the anchors asked: the
    mean of the answered anchors' 0-100 scores (reverse-keyed ones flipped), when at least half of
    the dimension's anchors were answered.
    """
    anchors = [k for k in dict.fromkeys(keys) if k in ITEM_BY_KEY and ITEM_BY_KEY[k].anchor]
    by_dimension = {d: [k for k in anchors if ITEM_BY_KEY[k].dimension == d] for d in DIMENSION_KEYS}
    by_dimension = {d: ks for d, ks in by_dimension.items() if ks}
    if not by_dimension:
        return {}
    columns: list[str] = []
    params: list[Any] = []
    for d, ks in by_dimension.items():
        reversed_keys = [k for k in ks if ITEM_BY_KEY[k].reverse]
        flip = (
            f"CASE WHEN item_key IN ({_in_list(reversed_keys)}) THEN 5 - value ELSE value - 1 END"
            if reversed_keys
            else "value - 1"
        )
        columns.append(
            f"CASE WHEN 2 * COUNT(CASE WHEN item_key IN ({_in_list(ks)}) THEN 1 END) >= {len(ks)} "
            f"THEN AVG(CASE WHEN item_key IN ({_in_list(ks)}) THEN ({flip}) * 25.0 END) END AS a_{d}"
        )
        params.extend([*ks, *ks, *reversed_keys])
    outer = ", ".join(f"COUNT(a_{d}) AS n_{d}, SUM(a_{d}) AS s_{d}, SUM(a_{d} * a_{d}) AS q_{d}" for d in by_dimension)
    rows = await sql.rows(
        f"SELECT department_id, {outer} FROM (SELECT response_id, department_id, {', '.join(columns)} "
        f"FROM answer WHERE round_id = ? AND item_key IN ({_in_list(anchors)}) GROUP BY response_id, department_id) "
        "AS sheet GROUP BY department_id",
        [*params, round_id, *anchors],
    )
    return {
        _department(row["department_id"]): {
            d: _moments(row[f"n_{d}"], row[f"s_{d}"], row[f"q_{d}"]) for d in by_dimension if row[f"n_{d}"]
        }
        for row in rows
    }


async def _driver_figures(sql: _Sql, round_id: int) -> dict[int, DriverMoments]:
    """Per department, sums and cross-products of the four dimension scores and the outcome (0-100).

    Over respondents who have all five: one GROUP BY over the round's responses joined with their
    outcome answer (at most one per response).
    """
    names = [f"score_{d}" for d in DIMENSION_KEYS] + ["(answer.value - 1) * 25.0"]
    alias = [f"v{i}" for i in range(len(names))]
    select = ", ".join(f"{n} AS {a}" for n, a in zip(names, alias, strict=True))
    complete = " AND ".join(f"score_{d} IS NOT NULL" for d in DIMENSION_KEYS)
    sums = ", ".join(f"SUM({a}) AS s{i}" for i, a in enumerate(alias))
    pairs = [(i, j) for i in range(len(alias)) for j in range(i, len(alias))]
    products = ", ".join(f"SUM({alias[i]} * {alias[j]}) AS p{i}_{j}" for i, j in pairs)
    rows = await sql.rows(
        f"SELECT department_id, COUNT(*) AS n, {sums}, {products} FROM ("
        f"SELECT response.department_id AS department_id, {select} FROM response "
        "JOIN answer ON answer.response_id = response.id AND answer.item_key = ? "
        f"WHERE response.round_id = ? AND {complete}) AS sheet GROUP BY department_id",
        [OUTCOME_KEY, round_id],
    )
    size = len(alias)
    result: dict[int, DriverMoments] = {}
    for row in rows:
        matrix = [[0.0] * size for _ in range(size)]
        for i, j in pairs:
            matrix[i][j] = matrix[j][i] = float(row[f"p{i}_{j}"] or 0.0)
        result[_department(row["department_id"])] = DriverMoments(
            int(row["n"]),
            tuple(float(row[f"s{i}"] or 0.0) for i in range(size)),
            tuple(v for line in matrix for v in line),
        )
    return result


async def _help_marks(sql: _Sql, round_id: int) -> dict[int, dict[int, float]]:
    """Help marks per (department, helper); one response's marks weigh at most MAX_HELP_MARKS in all
    (`pulse.domain.aggregates.help_weight`), which bounds what one person adds to the network."""
    rows = await sql.rows(
        "SELECT department_id, helper_id, SUM(CASE WHEN marks > ? THEN ? * 1.0 / marks ELSE 1.0 END) AS marks "
        "FROM (SELECT department_id, helper_id, COUNT(*) OVER (PARTITION BY response_id) AS marks FROM help_mark "
        "WHERE round_id = ? AND helper_id <> department_id) AS weighted GROUP BY department_id, helper_id",
        [MAX_HELP_MARKS, MAX_HELP_MARKS, round_id],
    )
    result: dict[int, dict[int, float]] = {}
    for row in rows:
        result.setdefault(int(row["department_id"]), {})[int(row["helper_id"])] = float(row["marks"])
    return result


async def _comments(sql: _Sql, round_id: int) -> dict[int, list[str]]:
    rows = await sql.tuples(
        "SELECT department_id, comment FROM response WHERE round_id = ? AND comment IS NOT NULL AND comment <> ''",
        [round_id],
    )
    result: dict[int, list[str]] = {}
    for department_id, comment in rows:
        result.setdefault(_department(department_id), []).append(str(comment))
    return result


async def _directory_terms(sql: _Sql, organization_id: int) -> list[str]:
    """People's names and emails (erased people are gone from the table, so never needed here)."""
    rows = await sql.tuples("SELECT name, email FROM person WHERE organization_id = ?", [organization_id])
    return [str(term) for row in rows for term in (row[0], row[1]) if term]


# ---------------------------------------------------------------- aggregates -> ReportInput


def _local_date(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat() if moment is not None else ""


def _round_label(number: int) -> str:
    return f"Round {number}"


def _basic_aggregates(
    round_id: int,
    invited: Mapping[tuple[int, int], int],
    figures: Mapping[tuple[int, int], Mapping[str, Any]],
    names: Mapping[int, str],
    anchors: Mapping[int, Mapping[str, Moments]],
) -> dict[int, DepartmentAggregates]:
    """Participation and dimension moments (what trends need) of one round, by department id."""
    department_ids = {d for r, d in invited if r == round_id} | {d for r, d in figures if r == round_id}
    result: dict[int, DepartmentAggregates] = {}
    for department in sorted(department_ids):
        row = figures.get((round_id, department), {})
        responded = int(row.get("responded") or 0)
        result[department] = DepartmentAggregates(
            name=NEWCOMERS_NAME if department == NEWCOMERS else names.get(department, f"Department {department}"),
            # A response without an invitation cannot happen through the services; never let it
            # make a department look over-answered.
            invited=max(invited.get((round_id, department), 0), responded),
            responded=responded,
            dimension_moments={
                d: _moments(row.get(f"n_{d}"), row.get(f"s_{d}"), row.get(f"q_{d}"))
                for d in DIMENSION_KEYS
                if row.get(f"n_{d}")
            },
            anchor_moments=anchors.get(department, {}),
            enps_promoters=int(row.get("promoters") or 0),
            enps_passives=int(row.get("passives") or 0),
            enps_detractors=int(row.get("detractors") or 0),
            network_respondents=int(row.get("network") or 0),
            quarantined=department == NEWCOMERS,
        )
    return result


def _help_by_choice(
    basics: Mapping[int, DepartmentAggregates], helped: Mapping[int, Mapping[int, float]], names: Mapping[int, str]
) -> dict[int, tuple[dict[str, float], tuple[str, ...]]]:
    """Per department of the round: its help marks counted for the units its help question offered
    (``pulse.domain.help_choices``), and those units (the figures the privacy release draws)."""
    shape = RoundTree.of(b.name for d, b in basics.items() if d != NEWCOMERS)
    stored = {name_path(name): name for name in names.values()}

    def name_of(path: UnitPath) -> str:
        return stored.get(path, format_unit_path(path))

    result: dict[int, tuple[dict[str, float], tuple[str, ...]]] = {}
    for department, basic in basics.items():
        unit = None if department == NEWCOMERS else shape.path_of[basic.name]
        marks = {
            name_path(names.get(helper, f"Department {helper}")): count
            for helper, count in helped.get(department, {}).items()
        }
        counted = marks_by_choice(shape.tree, unit, marks)
        targets = help_choices(shape.tree, unit)
        result[department] = (
            {name_of(target): counted[target] for target in targets if target in counted},
            tuple(name_of(target) for target in targets),
        )
    return result


async def collect_input(round_: Round) -> ReportInput:
    """The domain's `ReportInput` for `round_`, from GROUP BY queries (see the module docstring)."""
    organization = await Organization.get(id=round_.organization_id)
    zone = ZoneInfo(organization.timezone)
    previous = (
        await Round.filter(organization_id=organization.id, status=RoundStatus.CLOSED, number__lt=round_.number)
        .order_by("-number")
        .limit(PREVIOUS_ROUNDS)
    )
    previous.reverse()
    round_ids = [round_.id, *(r.id for r in previous)]
    names: dict[int, str] = dict(await Department.filter(organization_id=organization.id).values_list("id", "name"))
    sql = _Sql()
    invited = await _invited(sql, round_ids)
    figures = await _response_figures(sql, round_ids)
    keys = [k for k in dict.fromkeys(round_.item_keys) if k in ITEM_BY_KEY]
    items, cross = await _item_figures(sql, round_.id, keys)
    anchors = {r.id: await _anchor_figures(sql, r.id, r.item_keys) for r in (round_, *previous)}
    helped = await _help_marks(sql, round_.id)
    drivers = await _driver_figures(sql, round_.id) if OUTCOME_KEY in keys else {}
    closed = round_.status == RoundStatus.CLOSED
    comments = await _comments(sql, round_.id) if closed else {}

    basics = _basic_aggregates(round_.id, invited, figures, names, anchors[round_.id])
    help_of = _help_by_choice(basics, helped, names)
    current: list[DepartmentAggregates] = []
    for department, basic in basics.items():
        current.append(
            DepartmentAggregates(
                name=basic.name,
                invited=basic.invited,
                responded=basic.responded,
                dimension_moments=basic.dimension_moments,
                anchor_moments=basic.anchor_moments,
                item_moments=items.get(department, {}),
                item_cross=cross.get(department, {}),
                enps_promoters=basic.enps_promoters,
                enps_passives=basic.enps_passives,
                enps_detractors=basic.enps_detractors,
                helped_by=help_of[department][0],
                help_targets=help_of[department][1],
                network_respondents=basic.network_respondents,
                comments=tuple(comments.get(department, ())),
                driver_moments=drivers.get(department, DriverMoments.empty()),
                quarantined=basic.quarantined,
            )
        )
    earlier = [
        RoundAggregates(
            _round_label(r.number),
            _local_date(r.opened_at, zone),
            list(_basic_aggregates(r.id, invited, figures, names, anchors[r.id]).values()),
        )
        for r in previous
    ]
    # The directory is only needed to redact comments: skip loading it (it can be 100,000 people) otherwise.
    directory_terms = await _directory_terms(sql, organization.id) if any(comments.values()) else []
    return ReportInput(
        organization_name=organization.name,
        organization_slug=organization.slug,
        round_id=str(round_.id),
        round_number=round_.number,
        opened_on=_local_date(round_.opened_at, zone),
        closes_on=_local_date(round_.closed_at or round_.closes_at, zone),
        closed=closed,
        min_group_size=organization.min_group_size,
        comment_threshold=organization.comment_threshold,
        items_asked=keys,
        departments=current,
        previous_rounds=earlier,
        directory_terms=directory_terms,
        round_label=_round_label(round_.number),
    )


# ---------------------------------------------------------------- privacy noise


def privacy_budget_for(round_: Round) -> PrivacyBudget | None:
    """The differential-privacy budget of a round's released figures (the test switch: None = no noise)."""
    return DEFAULT_BUDGET


async def _release(
    round_id: int,
    departments: Sequence[DepartmentAggregates],
    keys: Mapping[str, str],
    budget: PrivacyBudget,
    k: int,
    *,
    with_network: bool,
) -> list[DepartmentAggregates]:
    """The departments of one closed round with their stored noise (drawn and stored now if there is none)."""
    stored = await NoiseDraw.get_or_none(round_id=round_id)
    # Any figure not drawn yet is drawn in a short-lived process: this one never loads OpenDP.
    release = await noise_draw.release(
        departments,
        budget,
        min_group_size=k,
        stored=stored.draw if stored else None,
        keys=keys,
        with_network=with_network,
    )
    if stored is None:
        try:
            await NoiseDraw.create(round_id=round_id, draw=release.draw)
        except IntegrityError:  # drawn concurrently by another build: use that draw, never two
            theirs = await NoiseDraw.get(round_id=round_id)
            again = await noise_draw.release(
                departments, budget, min_group_size=k, stored=theirs.draw, keys=keys, with_network=with_network
            )
            return again.departments
    elif release.drew:
        stored.draw = release.draw
        await stored.save(update_fields=["draw"])
    return release.departments


async def released_input(round_: Round) -> ReportInput:
    """`collect_input` with privacy noise on every figure about a department, this round's and the
    earlier rounds' its trends use (see the module docstring). Callers have checked the round is
    closed (`require_closed`): an open round's figures are never drawn, stored or released."""
    data = await collect_input(round_)
    budget = privacy_budget_for(round_)
    if budget is None:
        return data
    departments = await Department.filter(organization_id=round_.organization_id).values_list("id", "name")
    keys = {str(name): str(department_id) for department_id, name in departments}
    previous = {
        _round_label(r.number): r.id
        for r in await Round.filter(organization_id=round_.organization_id, status=RoundStatus.CLOSED)
    }
    earlier = []
    for aggregates in data.previous_rounds:
        round_id = previous.get(aggregates.label)
        if round_id is None:  # pragma: no cover - collect_input labels only closed rounds
            raise ReportNotReady(f"no closed round labelled {aggregates.label!r}")
        released = await _release(
            round_id, aggregates.departments, keys, budget, data.min_group_size, with_network=False
        )
        earlier.append(dataclasses.replace(aggregates, departments=released))
    current = await _release(round_.id, data.departments, keys, budget, data.min_group_size, with_network=True)
    return dataclasses.replace(data, departments=current, previous_rounds=earlier, privacy=budget)


# ---------------------------------------------------------------- building and storing


async def report_model(round_id: int) -> dict[str, Any]:
    """Compute the report model (JSON-able) of a closed round; only the noise draw is stored, if new."""
    round_ = await _round(round_id)
    await require_closed(round_)
    return build_report_model(await released_input(round_)).to_json()


async def _round(round_id: int) -> Round:
    round_ = await Round.get_or_none(id=round_id)
    if round_ is None:
        raise NotFound(i18n.N_("no round with id %(id)s", id=round_id))
    return round_


def _is_current(report: Report, round_: Round) -> bool:
    """A ready report is current unless it was built while the round was still open and it has closed since."""
    if report.status != ReportStatus.READY or report.model is None or report.pdf is None:
        return False
    built_round = report.model.get("round")
    built_closed = isinstance(built_round, dict) and bool(built_round.get("closed"))
    return built_closed or round_.status != RoundStatus.CLOSED


async def build_report(round_id: int, settings: Settings, *, force: bool = False) -> Report:
    """Build and store the report (model JSON + PDF) of a closed round; a current ready report is returned
    as is. An open round is refused (``pulse.services.release``).

    On failure the stored report is marked failed with the error and the error is raised again, so
    the job can retry it.
    """
    from pulse.pdf import render_pdf

    round_ = await _round(round_id)
    await require_closed(round_)
    try:
        report, _ = await Report.get_or_create(round_id=round_.id)
    except IntegrityError:  # built concurrently by another worker: use theirs
        report = await Report.get(round_id=round_.id)
    if not force and _is_current(report, round_):
        return report
    report.status = ReportStatus.BUILDING
    report.attempts += 1
    await report.save(update_fields=["status", "attempts"])
    try:
        model = build_report_model(await released_input(round_)).to_json()
        methodology = model.get("methodology")
        if isinstance(methodology, dict):
            # Organisation-wide only, at least 30 complete answers per language (see language_reliability).
            methodology["reliability_by_language"] = await language_reliability.release(round_.id)
        # The stored PDF speaks the organisation's default language; readers in another language get
        # theirs rendered from the same model when they download it (``export``).
        pdf = await render_pdf(model, settings, locale=await _default_language(round_.organization_id))
    except Exception as error:
        report.status = ReportStatus.FAILED
        report.error = f"{type(error).__name__}: {error}"[:4000]
        await report.save(update_fields=["status", "error"])
        log.warning("report of round %s failed (attempt %d): %s", round_id, report.attempts, report.error)
        raise
    report.model = model
    report.pdf = pdf
    report.status = ReportStatus.READY
    report.error = None  # type: ignore[assignment]  # the field is nullable; Tortoise types it as str
    report.built_at = clock.now()
    await report.save(update_fields=["model", "pdf", "status", "error", "built_at"])
    log.info("report of round %s built (%d bytes of PDF)", round_id, len(pdf))
    return report


async def ready_report(round_id: int) -> Report:
    """The stored, ready report of a closed round (for downloads); ReportNotReady when there is none.

    A report stored while the round was open (older versions built those) is never served.
    """
    await require_closed(await _round(round_id))
    report = await Report.get_or_none(round_id=round_id)
    if report is None or report.status != ReportStatus.READY or report.model is None or report.pdf is None:
        message = NOT_READY.get("not built" if report is None else str(report.status), NOT_READY["not built"])
        raise ReportNotReady(i18n.N_(message, id=round_id))
    return report


# ---------------------------------------------------------------- exports


def csv_rows(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per department and dimension, from the stored model (same as `Report.to_csv_rows`)."""
    rows: list[dict[str, Any]] = []
    for department in model["departments"]:
        scores = department.get("scores") or {}
        for dimension in DIMENSION_KEYS:
            cell = scores.get(dimension)
            rows.append(
                {
                    "department": department["name"],
                    "dimension": dimension,
                    "score": cell["mean"] if cell else None,
                    "ci_low": cell["ci_low"] if cell else None,
                    "ci_high": cell["ci_high"] if cell else None,
                    "difference_from_rest": cell["difference_from_rest"] if cell else None,
                    "n": cell["n"] if cell else None,
                    "suppressed": int(cell is None),
                    "flag": cell["flag"] if cell else None,
                }
            )
    return rows


def to_csv(model: Mapping[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(model))
    return buffer.getvalue().encode("utf-8")


def to_json_bytes(model: Mapping[str, Any]) -> bytes:
    return (json.dumps(model, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str


async def _default_language(organization_id: int) -> str:
    found = await Organization.filter(id=organization_id).values_list("locale", flat=True)
    return str(found[0]) if found else i18n.SOURCE_LOCALE


async def export(
    round_id: int,
    fmt: str,
    settings: Settings,
    *,
    build: bool = True,
    scope: Sequence[UnitPath] | None = None,
    locale: str | None = None,
) -> Export:
    """The report of a round as PDF, JSON or CSV, all from the one stored model (built first if needed).

    With ``scope`` (a leader's units), the organisation's model narrowed to those subtrees
    (``pulse.domain.scoped_report``), its PDF rendered from that narrowed model.
    """
    if fmt not in FORMATS:
        raise InvalidInput(i18n.N_("unknown report format %(format)s (use pdf, json or csv)", format=repr(fmt)))
    report = await build_report(round_id, settings) if build else await ready_report(round_id)
    if report.model is None or report.pdf is None:
        raise ReportNotReady(i18n.N_("the report of round %(id)s has no content", id=round_id))
    if scope:
        if locale is None and fmt == "pdf":
            # Like the stored PDF of the whole organisation: in the organisation's default language.
            locale = await _default_language((await _round(round_id)).organization_id)
        return await _scoped_export(round_id, report.model, fmt, minimal_scope(scope), settings, locale)
    base = f"pulse-report-round-{round_id}"
    if fmt == "pdf":
        round_ = await _round(round_id)
        if locale is not None and i18n.negotiate(locale) != await _default_language(round_.organization_id):
            from pulse.pdf import render_pdf

            return Export(await render_pdf(report.model, settings, locale=locale), "application/pdf", f"{base}.pdf")
        return Export(bytes(report.pdf), "application/pdf", f"{base}.pdf")
    if fmt == "json":
        return Export(to_json_bytes(report.model), "application/json", f"{base}.json")
    return Export(to_csv(report.model), "text/csv; charset=utf-8", f"{base}.csv")


async def _scoped_export(
    round_id: int,
    model: Mapping[str, Any],
    fmt: str,
    scope: Sequence[UnitPath],
    settings: Settings,
    locale: str | None = None,
) -> Export:
    from pulse.pdf import render_pdf  # WeasyPrint is slow to import: only where PDFs are made

    scoped = scope_model(model, scope)
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", format_unit_path(unit).lower()).strip("-") for unit in scope)[:80]
    base = f"pulse-report-round-{round_id}-{slug or 'scope'}"
    if fmt == "pdf":
        return Export(await render_pdf(scoped, settings, locale=locale), "application/pdf", f"{base}.pdf")
    if fmt == "json":
        return Export(to_json_bytes(scoped), "application/json", f"{base}.json")
    return Export(to_csv(scoped), "text/csv; charset=utf-8", f"{base}.csv")


async def resolve_scope(organization_id: int, paths: Sequence[str], *, slug: str = "") -> list[UnitPath]:
    """The units a user named (``Retail / Stores North``), as stored; NotFound names an unknown one."""
    units = await load_units(organization_id)
    return [units.resolve(text, slug=slug) for text in paths]


# ---------------------------------------------------------------- leaders by email


async def _leader_report(
    round_: Round,
    report: Report,
    whole: dict[str, Any],
    units: OrgUnits,
    unit_ids: tuple[int, ...] | None,
    settings: Settings,
    language: str,
    default_language: str,
) -> tuple[dict[str, Any], tuple[Attachment, ...]]:
    """The model a leader's email quotes and the PDF it attaches (when attaching): their scope's, in
    their language (the stored PDF when both are the organisation's)."""
    from pulse.pdf import render_pdf

    if unit_ids is None:
        name = f"pulse-report-round-{round_.number}.pdf"
        if not settings.attach_report_pdf:
            return whole, ()
        if language == default_language:
            return whole, (Attachment(name, bytes(report.pdf or b"")),)
        return whole, (Attachment(name, await render_pdf(whole, settings, locale=language)),)

    scope = list(minimal_scope(units.paths[i] for i in unit_ids if i in units.paths))
    model = scope_model(whole, scope)
    if not settings.attach_report_pdf:
        return model, ()
    label = re.sub(r"[^a-z0-9]+", "-", "-".join(format_unit_path(u) for u in scope).lower()).strip("-")[:60]
    pdf = await render_pdf(model, settings, locale=language)
    return model, (Attachment(f"pulse-report-round-{round_.number}-{label}.pdf", pdf),)


@dataclass(frozen=True)
class Leader:
    email: str
    name: str
    locale: str
    #: The unit ids of a scoped leader account; None = the whole organisation.
    unit_ids: tuple[int, ...] | None = None


async def leaders_of(organization_id: int) -> list[Leader]:
    """Active leaders of an organisation: people with role leader and leader accounts, one per email.

    A person the directory marks ``leader`` reads their own unit and everything below it (the head of
    Retail, sitting in ``Retail``, gets Retail's report; a store manager gets their store's), never the
    whole organisation by default: the people file is edited often and by many hands, and a row's role
    should not hand every other unit's figures to whoever it names. A leader account for the same address
    is set up on purpose (``pulse user create``, the Leaders page) and decides instead, including reading
    the whole organisation (an account without units).
    """
    found: dict[str, Leader] = {}
    default = await _default_language(organization_id)
    people = await Person.filter(organization_id=organization_id, role=PersonRole.LEADER, active=True).order_by("id")
    for person in people:
        found.setdefault(
            person.email.strip().lower(),
            Leader(person.email.strip(), person.name, person.locale, (person.department_id,)),
        )
    users = await User.filter(organization_id=organization_id, role=UserRole.LEADER, active=True).order_by("id")
    for user in users:
        scope = tuple(user.unit_ids) if user.unit_ids is not None else None
        key = user.email.strip().lower()
        language = user.locale or default
        known = found.setdefault(key, Leader(user.email.strip(), user.name, language, scope))
        # The account's language and scope win over the directory's.
        found[key] = Leader(known.email, known.name, language, scope)
    return sorted(found.values(), key=lambda leader: leader.email.lower())


@dataclass(frozen=True)
class LeaderGroup:
    """Leaders who get the same report: one scope (None: the whole organisation) in one language. Its
    model and PDF are made once for all of them."""

    unit_ids: tuple[int, ...] | None
    language: str

    @property
    def key(self) -> str:
        """Stable and short, for a job id: ``all:fr``, ``12-40:de`` (a long scope is hashed)."""
        scope = "all" if self.unit_ids is None else "-".join(str(i) for i in self.unit_ids) or "none"
        if len(scope) > 64:
            scope = hashlib.sha256(scope.encode()).hexdigest()[:24]
        return f"{scope}:{self.language}"


def _group_of(leader: Leader) -> LeaderGroup:
    units = None if leader.unit_ids is None else tuple(sorted(set(leader.unit_ids)))
    return LeaderGroup(units, i18n.negotiate(leader.locale))


async def _leaders_to_email(report: Report, round_: Round, group: LeaderGroup | None = None) -> list[Leader]:
    """The round's leaders (of ``group``, if given) who have not been emailed its report: active leaders
    whose scope the round covers."""
    from pulse.services.access import Principal, round_in_scope

    stamped = await ReportDelivery.filter(report_id=report.id, sent_at__isnull=False).values_list("email", flat=True)
    delivered = {str(email) for email in stamped}
    covered: dict[tuple[int, ...], bool] = {}  # leaders sharing a scope share the answer
    pending = []
    for leader in await leaders_of(round_.organization_id):
        if leader.email.lower() in delivered or (group is not None and _group_of(leader) != group):
            continue
        if leader.unit_ids is not None:
            if leader.unit_ids not in covered:
                reader = Principal(leader.email, UserRole.LEADER, round_.organization_id, unit_ids=leader.unit_ids)
                covered[leader.unit_ids] = await round_in_scope(reader, round_)
            if not covered[leader.unit_ids]:
                continue  # a round that covers none of their units is not theirs
        pending.append(leader)
    return pending


async def leader_groups(round_id: int) -> list[LeaderGroup]:
    """The groups of leaders still to be emailed the report of a round (``email_group`` emails one)."""
    report = await ready_report(round_id)
    round_ = await Round.get(id=round_id)
    groups = {_group_of(leader): None for leader in await _leaders_to_email(report, round_)}
    return list(groups)


async def email_group(round_id: int, group: LeaderGroup, settings: Settings, mailer: Mailer) -> int:
    """Email the ready report of a round to the leaders of one group, exactly once per leader; returns how
    many were sent. The group's model (and PDF, when attached) is made once for all of them.

    A `ReportDelivery` row per (report, email) is created before sending and stamped after: a
    retried job skips the stamped ones. A send that fails leaves its row unstamped and raises, so
    the retry sends it (and only it).
    """
    report = await ready_report(round_id)
    round_ = await Round.get(id=round_id)
    organization = await Organization.get(id=round_.organization_id)
    leaders = await _leaders_to_email(report, round_, group)
    if not leaders:
        return 0
    whole: dict[str, Any] = dict(report.model or {})
    units = await load_units(organization.id)
    link = f"{settings.base_url}/reports/{round_id}"
    default = i18n.negotiate(organization.locale)
    model, attachments = await _leader_report(
        round_, report, whole, units, group.unit_ids, settings, group.language, default
    )
    participation = model.get("participation") or {}
    with i18n.use(group.language):
        findings = [i18n.finding_text(f) for f in model.get("findings") or []]
    sent = 0
    async with mailer.session() as session:
        for leader in leaders:
            delivery, _ = await ReportDelivery.get_or_create(report_id=report.id, email=leader.email.lower())
            if delivery.sent_at is not None:
                continue
            message = build_message(
                "report_ready",
                to=leader.email,
                to_name=leader.name or None,
                locale=leader.locale,
                settings=settings,
                attachments=attachments,
                context={
                    "leader_name": leader.name,
                    "organization_name": organization.name,
                    "round_number": round_.number,
                    "opened_on": (model.get("round") or {}).get("opened_on", ""),
                    "closes_on": (model.get("round") or {}).get("closes_on", ""),
                    "participation": participation,
                    "findings": findings,
                    "link": link,
                    "attached": bool(attachments),
                },
            )
            await session.send(message)
            delivery.sent_at = clock.now()
            await delivery.save(update_fields=["sent_at"])
            sent += 1
    log.info("report of round %s emailed to %d leader(s) of scope %s", round_id, sent, group.key)
    return sent


async def email_report(round_id: int, settings: Settings, mailer: Mailer) -> int:
    """Email the ready report of a round to each leader, exactly once per leader; returns how many were sent.

    One group after another (the CLI and tests); the worker runs each group as a job of its own
    (``workers.reports``), so several groups' PDFs are made at once.
    """
    sent = 0
    for group in await leader_groups(round_id):
        sent += await email_group(round_id, group, settings, mailer)
    log.info("report of round %s emailed to %d leader(s)", round_id, sent)
    return sent

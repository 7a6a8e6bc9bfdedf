"""A report's units, level by level: a heatmap of the units at one level, and a link down into each
unit that has units below it (plain links, no script), with the way back up as a breadcrumb.

Every figure is one of the stored report model's own entries (``pulse.domain.report_tree``): a unit
with units inside it as a whole (pooled), its own people, and each unit one level down. A scoped
leader starts at their scope, reads only entries of units inside it, and gets 404 for any other unit,
exactly like a unit the report does not have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulse.domain.report_tree import ReportTree, UnitRow
from pulse.domain.units import InvalidUnitPath, UnitPath, format_unit_path, parse_unit_path, within_scope
from pulse.errors import NotFound
from pulse.models import ReportStatus, Round
from pulse.pdf import FLAG_LABELS, REASON_LABELS, SHORT_LABELS, signed, whole
from pulse.services.access import report_for, scope_of
from pulse.web.admin.pages import admin_page, principal_from, render

#: Points of difference from the rest that get the full colour (as in the PDF's heatmap).
FULL_COLOUR_POINTS = 20.0
#: Colour steps either side of "as the rest": classes heat-0 (clearly healthier) … heat-8 (clearly less healthy).
HALF_STEPS = 4


def unit_url(round_id: int, path: UnitPath = ()) -> str:
    """The page of a unit: its levels as path segments (a unit name never holds a ``/``)."""
    base = f"/reports/{round_id}/units"
    return base + "".join("/" + quote(segment, safe="") for segment in path)


def heat_step(cell: Mapping[str, Any]) -> int:
    """The colour step of a released cell: its difference from the rest, turned so that positive is
    less healthy (fear: a higher score is worse), in HALF_STEPS steps each side of 0."""
    difference = cell.get("difference_from_rest")
    if difference is None:
        return HALF_STEPS
    badness = float(difference) if not cell.get("higher_is_better", True) else -float(difference)
    share = max(-1.0, min(1.0, badness / FULL_COLOUR_POINTS))
    return HALF_STEPS + round(share * HALF_STEPS)


def _dimensions(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": d["key"], "label": SHORT_LABELS.get(d["key"], d["label"]), "higher_is_better": d["higher_is_better"]}
        for d in model.get("dimensions") or ()
    ]


def _row(
    row: UnitRow, round_id: int, dimensions: Sequence[Mapping[str, Any]], *, role: str = "child", full: bool = False
) -> dict[str, Any]:
    """One row of the heatmap. ``role``: "child" (a unit one level down, linked when it has units
    inside), "whole" (the page's unit with everything in it) or "itself" (the people sitting in the
    page's unit itself); ``full``: named by its whole path (units from different branches)."""
    entry = row.entry
    view: dict[str, Any] = {
        "name": format_unit_path(row.path) if full else row.name,
        "label": format_unit_path(row.path),
        "role": role,
        "pooled": row.pooled,
        "url": unit_url(round_id, row.path) if row.units_below and role == "child" else None,
        "units_below": row.units_below,
        "entry": entry is not None,
        "suppressed": bool(entry is None or entry.get("suppressed", True)),
        "reason": REASON_LABELS.get(
            str((entry or {}).get("suppression_reason") or ""), REASON_LABELS["below_min_group_size"]
        ),
        "responded": (entry or {}).get("responded"),
        "flags": [FLAG_LABELS.get(f, f) for f in (entry or {}).get("flags") or ()],
        "cells": [],
    }
    scores = (entry or {}).get("scores") or {}
    for dimension in dimensions:
        cell = scores.get(dimension["key"])
        if view["suppressed"] or not isinstance(cell, Mapping) or cell.get("mean") is None:
            view["cells"].append({"hidden": True})
            continue
        view["cells"].append(
            {
                "hidden": False,
                "score": whole(cell["mean"]),
                "difference": signed(cell.get("difference_from_rest")),
                "step": heat_step({**cell, "higher_is_better": dimension["higher_is_better"]}),
                "flag": FLAG_LABELS.get(str(cell.get("flag") or ""), ""),
            }
        )
    return view


def _organisation_row(model: Mapping[str, Any], dimensions: Sequence[Mapping[str, Any]]) -> list[str | None]:
    organization = model.get("organization") or {}
    result: list[str | None] = []
    for dimension in dimensions:
        score = organization.get(dimension["key"]) or {}
        result.append(None if score.get("suppressed", True) or score.get("mean") is None else whole(score["mean"]))
    return result


def _requested(raw: str) -> UnitPath:
    try:
        return parse_unit_path(raw)
    except InvalidUnitPath:
        raise NotFound(f"no unit {raw.strip()[:80]!r} in this report") from None


@admin_page
async def units_page(request: Request) -> Response:
    """GET /reports/{round_id}/units[/{unit path}]: the heatmap of one level of the report's units."""
    principal = principal_from(request)
    round_id = request.path_params["round_id"]
    report = await report_for(principal, round_id)
    found = await Round.get(id=report.round_id).select_related("organization")
    scope = await scope_of(principal)
    raw = request.path_params.get("path", "")
    if report.status != ReportStatus.READY or not report.model:
        if raw:
            raise NotFound(f"round {round_id} has no report yet")
        return render(
            request,
            "admin/report_units.html",
            org=found.organization,
            section="reports",
            round=found,
            ready=False,
            crumbs=[],
            unit_name=None,
        )
    # The organisation's model holds every cell any report of the round shows (departments and every
    # unit with everything below it, planned together): a scoped leader reads those inside their scope.
    model = report.model
    tree = ReportTree(model)
    dimensions = _dimensions(model)
    current: UnitPath = ()
    if raw:
        wanted = _requested(raw)
        located = tree.find(wanted)
        # Outside the scope is answered like a unit the report does not have, the units above the
        # scope included (the scope's own path names them, but they are not the leader's to open).
        if located is None or (scope and not within_scope(located, scope)):
            raise NotFound(f"no unit {format_unit_path(wanted)!r} in this report")
        current = located
    elif scope and len(scope) == 1 and tree.find(scope[0]) is not None:
        # A leader of one unit starts at that unit.
        return RedirectResponse(unit_url(found.id, scope[0]), status_code=303)

    if current:
        rows = [_row(tree.row(current), found.id, dimensions, role="whole")]
        own = tree.own(current)
        if own is not None:
            rows.append(_row(own, found.id, dimensions, role="itself"))
        rows += [_row(r, found.id, dimensions) for r in tree.children(current)]
    elif scope:
        located_scope = [p for p in (tree.find(unit) for unit in scope) if p is not None]
        rows = [_row(r, found.id, dimensions, full=True) for r in tree.rows(located_scope)]
    else:
        rows = [_row(r, found.id, dimensions) for r in tree.children(())]
    return render(
        request,
        "admin/report_units.html",
        org=found.organization,
        section="reports",
        round=found,
        ready=True,
        unit=format_unit_path(current) if current else None,
        unit_name=current[-1] if current else None,
        crumbs=_breadcrumb(found, current, scope),
        dimensions=dimensions,
        rows=rows,
        organisation=_organisation_row(model, dimensions),
        min_group_size=model.get("min_group_size"),
        scoped=bool(scope),
    )


def _breadcrumb(found: Round, current: UnitPath, scope: Sequence[UnitPath] | None) -> list[dict[str, Any]]:
    """The way up: the start of the drill-down, then each unit above `current` that the reader may
    open. A scoped leader's first unit is labelled with its whole path (the units above it are not
    theirs to open); a leader of one unit starts at it, so has no separate start."""
    crumbs: list[dict[str, Any]] = []
    if not scope:
        crumbs.append({"label": found.organization.name, "url": unit_url(found.id), "start": True})
    elif len(scope) > 1:
        crumbs.append({"label": None, "url": unit_url(found.id), "start": True})
    first = True
    for depth in range(1, len(current) + 1):
        path = current[:depth]
        if scope and not within_scope(path, scope):
            continue
        label = format_unit_path(path) if first and scope else path[-1]
        crumbs.append({"label": label, "url": unit_url(found.id, path), "start": False})
        first = False
    if crumbs:
        crumbs[-1]["url"] = None  # the page itself
    return crumbs

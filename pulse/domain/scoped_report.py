"""A leader's report: the organisation's report model narrowed to the leader's units.

A scoped leader reads the figures of their subtrees and, for context, the organisation's; nothing
about other subtrees beyond what the organisation-level figures already say. The scoped model is cut
from the organisation's model of the same round, which holds every cell any report of the round may
show (departments, and every inner unit with everything below it, planned together by
``pulse.domain.tree_plan``), so a leader's report releases a subset of those cells under the same
verdicts: no subtraction across reports of a round can isolate anything the plan protects. It keeps:

* the organisation-wide figures (participation, scores, eNPS, methodology), for context;
* ``scope.rows``: each unit of the scope with everything below it, against the rest of the organisation
  (units with units below them; a leaf unit is its own row);
* as its rows (``departments``): each unit just below a unit of the scope, pooled (everything below it),
  and the people sitting in the scope's unit itself; a scope unit with no unit below it is its own row;
* their trends, flags, findings and guidance; the pooled units inside the scope (``units``, to drill down);
* silos inside the scope: the help network between the units just below each scope unit
  (``silo_network``), and the sibling networks further down (``silo_levels``); every row, and the
  scope itself, also carries its silo index towards the rest of the organisation;
* comments of the scope, grouped by those rows (never the pool of the rest of the organisation);
* of any other section, every entry not keyed by and not naming a unit outside the scope.

A scope of several units gets no total of its own: the leader reads each unit (a total over units
of different subtrees would straddle the plan's cells). A model stored before units had levels
(no ``units`` section) is narrowed to the departments inside the scope, as it always was.

Pure: works on the JSON-able model (``Report.to_json()``), so the PDF, JSON and CSV of a scope come
from one scoped model exactly as the organisation's do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from pulse.domain.findings import MAX_FINDINGS, guidance_for, select_findings
from pulse.domain.tree_plan import KIND_POOLED
from pulse.domain.units import UnitPath, format_unit_path, is_within, minimal_scope, name_path

#: The kind of a comment group that holds every released comment of a unit with everything below it.
KIND_SUBTREE = "subtree"


def _rows(model: Mapping[str, Any], scope: Sequence[UnitPath]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the scope's own rows: each scope unit pooled; the report's rows: each unit just below the scope)."""
    departments = {d["name"]: d for d in model.get("departments", ())}
    units = {u["name"]: u for u in model.get("units", ())}
    paths = {name: name_path(name) for name in [*departments, *units]}
    totals: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for top in scope:
        name = format_unit_path(top)
        below = sorted(
            {path[: len(top) + 1] for path in paths.values() if len(path) > len(top) and is_within(path, top)}
        )
        if not below:
            if name in departments:
                rows.append(departments[name])
            continue
        if name in units:
            totals.append(units[name])
        own = departments.get(name)
        if own is not None:
            rows.append(own)
        for child in below:
            child_name = format_unit_path(child)
            row = units.get(child_name) or departments.get(child_name)
            if row is not None:
                rows.append(row)
    return totals, rows


def scope_model(model: Mapping[str, Any], scope: Sequence[UnitPath]) -> dict[str, Any]:
    """The organisation's report model narrowed to the units of `scope` and everything below them."""
    # No deep copy of the organisation's model (400 leaders would copy it 400 times): the sections
    # changed in place below are copied one level, and `_scrub` at the end builds every dict and list
    # of the result afresh, so the result shares nothing mutable with `model`, which stays as it was.
    result = dict(model)
    for section in ("trends", "silo_network", "drivers"):
        if isinstance(result.get(section), dict):
            result[section] = dict(result[section])
    scope = list(minimal_scope(scope))

    known: dict[str, bool] = {}

    def inside(name: str) -> bool:
        # Asked for every name of every section: each name's answer is worked out once.
        found = known.get(name)
        if found is None:
            path = name_path(name)
            found = known[name] = any(path[: len(unit)] == unit for unit in scope)
        return found

    tree = "units" in model
    outside_names = [
        r["name"] for r in (*model.get("departments", ()), *model.get("units", ())) if not inside(r["name"])
    ]
    totals, rows = (
        _rows(result, scope) if tree else ([], [d for d in result.get("departments", ()) if inside(d["name"])])
    )
    shown = {r["name"]: r for r in rows}
    pooled = {r["name"] for r in rows if r.get("kind") == KIND_POOLED}
    # A scope unit's silo index among its own siblings is a figure about units outside the scope (how
    # much they help each other): its index towards the rest, an organisation-level comparison, stays.
    totals = [{**row, "silo_index": None, "silo_low": None, "silo_high": None} for row in totals]
    result["scope"] = {"units": [format_unit_path(unit) for unit in scope], "rows": totals}
    result["departments"] = rows
    result["units"] = [u for u in result.get("units", ()) if inside(u["name"])]

    trends = result.get("trends")
    if isinstance(trends, dict) and isinstance(trends.get("departments"), dict):
        by_unit = trends.get("units") or {}
        by_department = trends["departments"]
        trends["departments"] = {
            name: (by_unit if name in pooled else by_department)[name]
            for name in shown
            if name in (by_unit if name in pooled else by_department)
        }
        result["scope"]["trends"] = {r["name"]: by_unit[r["name"]] for r in totals if r["name"] in by_unit}
        trends["units"] = {name: t for name, t in by_unit.items() if inside(name)}

    network = result.get("silo_network")
    levels = [level for level in result.get("silo_levels", ()) if level["parent"] and inside(level["parent"])]
    result["silo_levels"] = levels
    if tree and isinstance(network, dict):
        # Silos inside the scope: the help network between the units just below each unit of the scope.
        by_parent = {level["parent"]: level["network"] for level in levels}
        result["silo_network"] = _merged([by_parent[n] for n in map(format_unit_path, scope) if n in by_parent])
    elif isinstance(network, dict):
        keep = set(shown)
        network["departments"] = [name for name in network.get("departments", ()) if name in keep]
        network["edges"] = [e for e in network.get("edges", ()) if e["helper"] in keep and e["helped"] in keep]
        network["isolated"] = [name for name in network.get("isolated", ()) if name in keep]
        pairs = [p for p in network.get("never_helping_pairs", ()) if p[0] in keep and p[1] in keep]
        network["never_helping_pairs"] = pairs
        network["never_helping_pair_count"] = len(pairs)
        network["external_ties"] = {n: v for n, v in (network.get("external_ties") or {}).items() if n in keep}

    drivers = result.get("drivers")
    if isinstance(drivers, dict):
        # A department's own driver analysis is one of its figures: only the rows of the scope.
        drivers["departments"] = [g for g in drivers.get("departments") or () if g["group"] in shown]

    inner = {u["name"] for u in model.get("units", ())}
    result["comments"] = _comments(result.get("comments", ()), scope, inside, inner if tree else None)
    # The scope's own path names its ancestors already: only other units count as naming the outside.
    above = {format_unit_path(unit[:depth]) for unit in scope for depth in range(1, len(unit))}
    result["findings"] = _findings(result, shown, totals, [n for n in outside_names if n not in above])
    result["flag_findings"] = [
        f for f in result.get("flag_findings", ()) if f.get("department") is not None and inside(f["department"])
    ]
    result["guidance"] = (
        [
            dataclasses.asdict(g) | {"departments": list(g.departments), "advice": list(g.advice)}
            for g in guidance_for({r["name"]: r.get("flags") or () for r in (*totals, *rows)})
        ]
        if tree
        else _old_guidance(result.get("guidance", ()), inside)
    )
    # Sections added to the report later (per-unit drivers, intervals, …) are narrowed the same way
    # without being listed here: every entry keyed by, or naming, a unit outside the scope goes.
    outside = set(outside_names)
    return {key: _scrub(value, outside) for key, value in result.items()}


def _merged(networks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several sibling networks shown as one (their units never meet: no edge between them)."""
    return {
        "departments": [name for n in networks for name in n["departments"]],
        "edges": [edge for n in networks for edge in n["edges"]],
        "isolated": [name for n in networks for name in n["isolated"]],
        "never_helping_pairs": [pair for n in networks for pair in n["never_helping_pairs"]],
        "never_helping_pair_count": sum(int(n["never_helping_pair_count"]) for n in networks),
        "external_ties": {name: ties for n in networks for name, ties in n["external_ties"].items()},
    }


def _old_guidance(entries: Sequence[Mapping[str, Any]], inside: Any) -> list[dict[str, Any]]:
    guidance = []
    for entry in entries:
        departments = [name for name in entry.get("departments", ()) if inside(name)]
        if departments or not entry.get("departments"):
            guidance.append({**entry, "departments": departments})
    return guidance


def _comments(
    groups: Sequence[Mapping[str, Any]], scope: Sequence[UnitPath], inside: Any, inner: set[str] | None
) -> list[dict[str, Any]]:
    """The scope's released comment groups, regrouped by the scope's rows: a unit just below a scope
    unit gets every released comment inside it (a union of released groups, so nothing new)."""
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for group in groups:
        kind = group.get("kind", "unit")
        if kind == "organization" or not inside(group["group"]):
            continue  # the rest of the organisation's pool mixes in other subtrees
        path = name_path(group["group"])
        top = next(unit for unit in scope if is_within(path, unit))
        if inner is None or path == top:
            key = (group["group"], kind)
            entry = kept.setdefault(key, {**group, "comments": []})
        else:
            child = format_unit_path(path[: len(top) + 1])
            # A leaf's group is its department's; an inner unit's gathers every group inside it.
            key = (child, "row")
            entry = kept.setdefault(
                key, {"group": child, "comments": [], "kind": KIND_SUBTREE if child in inner else "unit"}
            )
        entry["comments"] = sorted([*entry["comments"], *group["comments"]], key=_comment_order)
    return sorted(kept.values(), key=lambda g: (g["group"], g.get("kind", "unit")))


def _comment_order(comment: Any) -> tuple[str, int]:
    if isinstance(comment, str):
        return (comment, 0)
    return (str(comment.get("text", "")), int(comment.get("redactions", 0)))


def _findings(
    model: Mapping[str, Any],
    shown: Mapping[str, Mapping[str, Any]],
    totals: Sequence[Mapping[str, Any]],
    outside_names: Sequence[str],
) -> list[dict[str, Any]]:
    """The scope's findings: its rows' flags first, then the organisation's findings that name no
    unit outside it, at most as many as an organisation's report has, at least one level."""
    names = set(shown) | {r["name"] for r in totals}
    flag_findings = model.get("flag_findings")
    if flag_findings is None:  # a model stored before every flag had its finding
        flags = [f for f in model.get("findings", ()) if f.get("kind") == "flag" and f.get("department") in names]
    else:
        flags = [f for f in flag_findings if f.get("department") in names]

    def names_outside(text: str) -> bool:
        return any(name in text for name in outside_names)

    others = [
        f
        for f in model.get("findings", ())
        if f.get("department") is None
        and f.get("kind") not in ("disclosure", "flag")
        and not names_outside(f.get("text", ""))
    ]
    hidden = sum(1 for r in shown.values() if r.get("suppressed"))
    if hidden:
        disclosure = select_findings(
            flagged=(),
            changes=(),
            isolated=(),
            participation_rate=None,
            hidden_departments=hidden,
            min_group_size=int(model.get("min_group_size") or 0),
            organization_means={},
        )
        others = [*others[:1], *(dataclasses.asdict(f) for f in disclosure), *others[1:]]
    chosen = [*flags, *others][:MAX_FINDINGS]
    levels = [f for f in others if f.get("kind") == "level"]
    if levels and not any(f.get("kind") == "level" for f in chosen):
        chosen[-1] = levels[0]
    return [dict(f) for f in chosen]


_NAMING_FIELDS = ("name", "department", "group", "helper", "helped", "unit")


def _scrub(value: Any, outside: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, outside) for k, v in value.items() if k not in outside}
    if isinstance(value, list):
        kept = []
        for item in value:
            if isinstance(item, str) and item in outside:
                continue
            if isinstance(item, dict) and any(
                isinstance(item.get(f), str) and item[f] in outside for f in _NAMING_FIELDS
            ):
                continue
            if isinstance(item, list) and any(isinstance(x, str) and x in outside for x in item):
                continue
            kept.append(_scrub(item, outside))
        return kept
    return value

"""A leader's report: the organisation's report model narrowed to the leader's units.

A scoped leader reads the figures of their subtrees and, for context, the organisation's; nothing
about other subtrees beyond what the organisation-level figures already say. The scoped model is cut
from the organisation's model of the same round, so it releases a subset of the cells the
organisation's report released, under the same disclosure verdicts: no subtraction across the two
(or across any two leaders' reports) can isolate anything the organisation's report did not already
protect. What it keeps:

* the organisation-wide figures (participation, scores, eNPS, methodology), for context;
* the units inside the scope, their trends, flags and guidance;
* the help network between units of the scope, and each of them's ties to the rest (a share);
* comments of units inside the scope (never the pool of small units, which mixes in other subtrees);
* findings about units of the scope, and organisation-level findings that name no unit outside it;
* of any other section, every entry not keyed by and not naming a unit outside the scope.

Pure: works on the JSON-able model (``Report.to_json()``), so the PDF, JSON and CSV of a scope come
from one scoped model exactly as the organisation's do.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from pulse.domain.units import InvalidUnitPath, UnitPath, format_unit_path, parse_unit_path, within_scope


def unit_of(name: str) -> UnitPath:
    """The unit path of a department name in a report (a name that is not a valid path is a top-level unit)."""
    try:
        return parse_unit_path(name)
    except InvalidUnitPath:
        return (name,)


def scope_model(model: Mapping[str, Any], scope: Sequence[UnitPath]) -> dict[str, Any]:
    """The organisation's report model narrowed to the units of `scope` and everything below them."""
    result = copy.deepcopy(dict(model))

    def inside(name: str) -> bool:
        return within_scope(unit_of(name), scope)

    outside_names = [d["name"] for d in model.get("departments", ()) if not inside(d["name"])]
    result["scope"] = {"units": [format_unit_path(unit) for unit in scope]}
    result["departments"] = [d for d in result.get("departments", ()) if inside(d["name"])]

    trends = result.get("trends")
    if isinstance(trends, dict) and isinstance(trends.get("departments"), dict):
        trends["departments"] = {name: t for name, t in trends["departments"].items() if inside(name)}

    network = result.get("silo_network")
    if isinstance(network, dict):
        network["departments"] = [name for name in network.get("departments", ()) if inside(name)]
        network["edges"] = [e for e in network.get("edges", ()) if inside(e["helper"]) and inside(e["helped"])]
        network["isolated"] = [name for name in network.get("isolated", ()) if inside(name)]
        pairs = [p for p in network.get("never_helping_pairs", ()) if inside(p[0]) and inside(p[1])]
        network["never_helping_pairs"] = pairs
        network["never_helping_pair_count"] = len(pairs)
        network["external_ties"] = {n: v for n, v in (network.get("external_ties") or {}).items() if inside(n)}

    drivers = result.get("drivers")
    if isinstance(drivers, dict):
        # A department's own driver analysis is one of its figures: only departments in scope.
        drivers["departments"] = [g for g in drivers.get("departments") or () if inside(g["group"])]

    result["comments"] = [group for group in result.get("comments", ()) if inside(group["group"])]

    def names_outside(text: str) -> bool:
        return any(name in text for name in outside_names)

    result["findings"] = [
        f
        for f in result.get("findings", ())
        if (f.get("department") is not None and inside(f["department"]))
        or (f.get("department") is None and not names_outside(f.get("text", "")))
    ]
    guidance = []
    for entry in result.get("guidance", ()):
        departments = [name for name in entry.get("departments", ()) if inside(name)]
        if departments or not entry.get("departments"):
            guidance.append({**entry, "departments": departments})
    result["guidance"] = guidance
    # Sections added to the report later (per-unit drivers, intervals, …) are narrowed the same way
    # without being listed here: every entry keyed by, or naming, a unit outside the scope goes.
    outside = set(outside_names)
    return {key: _scrub(value, outside) for key, value in result.items()}


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

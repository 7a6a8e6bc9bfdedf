"""Play the reader of every report of a round over a tree of small units (DESIGN.md, rule 6).

The attacker holds the organisation's report and every leader's report of the round (every unit of the
tree as a scope, and scopes of several units), as JSON from the report service on a real database.
They add, subtract and scale every released count: respondents, and each dimension's scored
respondents (score sums subtract like counts). The exact checker
(``pulse.domain.tree_disclosure.disclosed_small_groups``) enumerates every group they can isolate; it
must find none smaller than ``k``. A control builds the same round with complementary suppression
switched off and shows the checker finding the hole, so this test can fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any

import pytest
from tortoise import connections

from pulse.domain import tree_disclosure
from pulse.domain.items import DIMENSION_KEYS
from pulse.domain.simulation import DepartmentSpec
from pulse.domain.tree_disclosure import Cell, disclosed_small_groups
from pulse.domain.units import UnitPath, is_within, name_path
from pulse.models import Department, Organization
from pulse.services import reports
from pulse.services.units import load_units
from pulse.settings import Settings
from tests.services.test_reports import seed_round

K = 5
#: Small units at every level: a store of three, a regional office of two, an inner unit of one.
SPECS = [
    DepartmentSpec("Retail / North / Store 1", 12, 1.0, {"fear": 15.0}),
    DepartmentSpec("Retail / North / Store 2", 3, 1.0),
    DepartmentSpec("Retail / North", 2, 1.0),
    DepartmentSpec("Retail / South / Store 3", 9, 1.0),
    DepartmentSpec("Retail / South / Store 4", 7, 1.0, {"initiative": 15.0}),
    DepartmentSpec("Operations / Warehouse", 14, 1.0),
    DepartmentSpec("Operations / Logistics", 6, 1.0),
    DepartmentSpec("Operations", 1, 1.0),
    DepartmentSpec("Finance", 10, 1.0),
    DepartmentSpec("Legal", 3, 1.0),
]


async def _round() -> tuple[Organization, int]:
    organization = await Organization.create(slug="acme", name="Acme Retail", min_group_size=K)
    departments = {s.name: await Department.create(organization=organization, name=s.name) for s in SPECS}
    round_, _ = await seed_round(organization, departments, 1, seed=5, specs=SPECS)
    return organization, round_.id


async def _counted(round_id: int) -> dict[str, dict[UnitPath, int]]:
    """What the attacker is after: the exact counts of each department (respondents, scored per dimension)."""
    columns = ", ".join(f"COUNT(r.score_{d}) AS {d}" for d in DIMENSION_KEYS)
    rows = await connections.get("default").execute_query_dict(
        f"SELECT d.name AS name, COUNT(*) AS responded, {columns} FROM response r "
        f"JOIN department d ON d.id = r.department_id WHERE r.round_id = {int(round_id)} GROUP BY d.name"
    )
    return {
        count: {name_path(str(row["name"])): int(row[count]) for row in rows}
        for count in ("responded", *DIMENSION_KEYS)
    }


async def _every_report(organization: Organization, round_id: int, db: Settings) -> list[dict[str, Any]]:
    """The organisation's report and the report of every scope a leader could be given."""
    units = await load_units(organization.id)
    paths = list(units.tree)
    scopes: list[list[UnitPath]] = [[path] for path in paths]
    # Scopes of several units, across subtrees and within one.
    scopes += [list(pair) for pair in combinations(units.tree.leaves(), 2)]
    scopes += [[("Retail", "North"), ("Operations",)], [("Retail",), ("Finance",), ("Legal",)]]
    models = [json.loads((await reports.export(round_id, "json", db)).content)]
    for scope in scopes:
        models.append(json.loads((await reports.export(round_id, "json", db, scope=scope)).content))
    return models


def _cell(row: Mapping[str, Any], departments: Iterable[UnitPath]) -> Cell:
    """The people a report row is about, as the departments they sit in."""
    path = name_path(row["name"])
    if row.get("kind") == "pooled":
        return frozenset(d for d in departments if is_within(d, path))
    return frozenset([path])


def _released(models: list[dict[str, Any]], departments: set[UnitPath]) -> dict[str, list[Cell]]:
    """Every released count of every report, as cells: the organisation, and each row with a figure."""
    cells: dict[str, set[Cell]] = {count: set() for count in ("responded", *DIMENSION_KEYS)}
    everyone = frozenset(departments)
    for model in models:
        if model["participation"]["responded"] is not None:
            cells["responded"].add(everyone)
        for dimension in DIMENSION_KEYS:
            if model["organization"][dimension]["n"] is not None:
                cells[dimension].add(everyone)
        rows = [*model["departments"], *model.get("units", ()), *(model.get("scope") or {}).get("rows", ())]
        for row in rows:
            if row["suppressed"]:
                continue
            cell = _cell(row, departments)
            cells["responded"].add(cell)
            for dimension, score in (row.get("scores") or {}).items():
                if score is not None:
                    cells[dimension].add(cell)
    return {count: sorted(found, key=sorted) for count, found in cells.items()}


async def _attack(organization: Organization, round_id: int, db: Settings) -> dict[str, list[Any]]:
    counted = await _counted(round_id)
    released = _released(await _every_report(organization, round_id, db), set(counted["responded"]))
    # The attack is only worth something if the reports release pooled cells and small units exist.
    assert any(len(cell) > 1 for cell in released["responded"])
    return {count: disclosed_small_groups(counted[count], released[count], K) for count in released}


async def test_no_subtraction_across_every_report_of_a_round_isolates_a_small_group(db: Settings) -> None:
    organization, round_id = await _round()
    found = await _attack(organization, round_id, db)
    assert found == {count: [] for count in found}


async def test_control_without_complementary_suppression_the_checker_finds_the_hole(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the primary rule (no cell under k): North with both stores minus Store 1 gives Store 2 and
    # the regional office, five people... and Operations minus its two units gives the one person in it.
    monkeypatch.setattr(tree_disclosure, "_complementary", lambda *args, **kwargs: None)
    organization, round_id = await _round()
    found = await _attack(organization, round_id, db)
    small = {(frozenset(group.units), group.size) for group in found["responded"]}
    assert (frozenset([("Operations",)]), 1) in small

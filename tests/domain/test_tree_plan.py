from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.domain.aggregates import DepartmentAggregates, Response, aggregate_department
from pulse.domain.disclosure import GroupCounts, SuppressionReason, plan_disclosure
from pulse.domain.items import compose_pulse
from pulse.domain.pooled import pool_departments
from pulse.domain.report import ReportInput, build_report
from pulse.domain.scoped_report import scope_model
from pulse.domain.stats import Moments
from pulse.domain.tree_disclosure import Cell, disclosed_small_groups
from pulse.domain.tree_plan import OWN, RoundTree, plan_tree
from pulse.domain.units import UnitPath, format_unit_path, is_within, name_path

ASKED = compose_pulse(3)


# ---------------------------------------------------------------- the plan


@settings(max_examples=200)
@given(
    st.dictionaries(st.sampled_from("abcdefgh"), st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1),
    st.integers(0, 6),
    st.integers(3, 7),
)
def test_on_a_flat_organisation_the_plan_is_the_flat_plan(
    counts: dict[str, tuple[int, int]], newcomers: int, k: int
) -> None:
    groups = [
        GroupCounts(name, max(a, b) + 2, max(a, b), {"fear": min(a, b), "initiative": max(a, b)})
        for name, (a, b) in counts.items()
    ]
    groups.append(GroupCounts(" newcomers", newcomers, newcomers, {"fear": newcomers}, quarantined=True))
    plan = plan_tree(groups, k, ["fear", "initiative"])
    assert plan.departments == plan_disclosure(groups, k, ["fear", "initiative"])
    assert plan.units.groups == {}


@st.composite
def tree_groups(draw: st.DrawFn) -> tuple[list[GroupCounts], int]:
    """Departments in a random tree up to 4 levels deep, people in inner units too, and newcomers."""
    paths: list[UnitPath] = []
    for index in range(draw(st.integers(1, 9))):
        parent = draw(st.sampled_from([(), *(p for p in paths if len(p) < 4)]))
        paths.append((*parent, f"U{index}"))
    groups = []
    for path in paths:
        responded = draw(st.integers(0, 14))
        groups.append(
            GroupCounts(format_unit_path(path), responded + 1, responded, {"fear": draw(st.integers(0, responded))})
        )
    newcomers = draw(st.integers(0, 3))
    groups.append(GroupCounts(" newcomers", newcomers, newcomers, {"fear": newcomers}, quarantined=True))
    return groups, draw(st.integers(3, 6))


def _released(plan: Any, groups: Sequence[GroupCounts], dimension: str | None) -> list[Cell]:
    """Every cell any report of the round shows, as sets of department paths (newcomers: a unit of their own)."""
    shape = plan.round_tree
    everyone = frozenset([*shape.path_of.values(), ("newcomers",)])
    shown_org = (
        plan.departments.organization_participation_shown
        if dimension is None
        else plan.departments.shows_organization_score(dimension)
    )
    cells: list[Cell] = [everyone] if shown_org else []
    for g in groups:
        if g.quarantined:
            continue
        visible = (
            plan.departments.shows(g.name) if dimension is None else plan.departments.shows_score(g.name, dimension)
        )
        if visible:
            cells.append(frozenset([shape.path_of[g.name]]))
    for unit in shape.inner:
        name = format_unit_path(unit)
        visible = plan.units.shows(name) if dimension is None else plan.units.shows_score(name, dimension)
        if visible:
            cells.append(frozenset(p for p in shape.path_of.values() if is_within(p, unit)))
    return cells


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(tree_groups())
def test_no_combination_of_the_rounds_cells_isolates_fewer_than_k(case: tuple[list[GroupCounts], int]) -> None:
    groups, k = case
    plan = plan_tree(groups, k, ["fear"])
    shape = plan.round_tree
    for dimension in (None, "fear"):
        own: dict[UnitPath, int] = {
            ("newcomers",): sum(
                g.responded if dimension is None else g.dimension_counts["fear"] for g in groups if g.quarantined
            )
        }
        for g in groups:
            if not g.quarantined:
                own[shape.path_of[g.name]] = g.responded if dimension is None else g.dimension_counts["fear"]
        assert disclosed_small_groups(own, _released(plan, groups, dimension), k) == []


def test_people_of_an_inner_unit_are_a_department_cell_of_their_own() -> None:
    shape = RoundTree.of(["Retail", "Retail / North", "Finance"])
    assert shape.cell_of == {"Retail": ("Retail", OWN), "Retail / North": ("Retail", "North"), "Finance": ("Finance",)}
    assert (shape.kind("Retail"), shape.kind("Finance")) == ("own", "unit")
    assert shape.inner == (("Retail",),)
    assert shape.members(("Retail",)) == ["Retail", "Retail / North"]


def test_a_region_minus_its_shown_store_would_give_the_small_store_so_the_store_is_hidden() -> None:
    groups = [GroupCounts("Retail / North / Store 1", 14, 12, {}), GroupCounts("Retail / North / Store 2", 3, 3, {})]
    groups += [GroupCounts("Finance", 20, 20, {})]
    plan = plan_tree(groups, 5, [])
    assert plan.units.shows("Retail / North") and plan.units.shows("Retail")
    assert plan.departments.groups["Retail / North / Store 2"].reason == SuppressionReason.BELOW_MIN_GROUP_SIZE
    assert plan.departments.groups["Retail / North / Store 1"].reason == SuppressionReason.COMPLEMENTARY


# ---------------------------------------------------------------- pooled figures


def _department(name: str, values: Sequence[int], *, comments: bool = False) -> DepartmentAggregates:
    responses = [
        Response(
            name,
            {key: value for key in ASKED},
            enps=9,
            helped_by=(),
            comment=f"{name} says {i}" if comments else None,
        )
        for i, value in enumerate(values)
    ]
    return aggregate_department(name, len(values) + 1, responses, ASKED)


def test_a_pooled_unit_adds_up_its_departments_figures() -> None:
    north = _department("Retail / North", [2, 3, 4, 5, 2, 3])
    south = _department("Retail / South", [4, 4, 5, 5, 3])
    pooled = pool_departments("Retail", [north, south], 5)
    assert (pooled.invited, pooled.responded, pooled.enps_promoters) == (13, 11, 11)
    for dim in ("fear", "initiative"):
        assert pooled.dimension_moments[dim] == north.dimension_moments[dim] + south.dimension_moments[dim]
    assert pooled.gate_counts is None and pooled.noise_variance == {}


def test_a_pooled_released_figure_is_the_sum_of_released_ones_with_their_noise_and_keeps_its_side_of_k() -> None:
    def released(name: str, counted: int, shown: int, variance: float) -> DepartmentAggregates:
        return DepartmentAggregates(
            name,
            10,
            shown,
            {"fear": Moments(shown, 50.0 * shown, 2600.0 * shown)},
            noise_variance={"fear": variance},
            gate_counts=(counted, {"fear": counted}),
        )

    # Counted 3 + 3 = 6 (at least k = 5), released 2 + 2 = 4 by noise: the pooled count stays at k.
    pooled = pool_departments("Retail", [released("A", 3, 2, 9.0), released("B", 3, 2, 4.0)], 5)
    assert pooled.responded == 5 and pooled.gate_counts == (6, {"fear": 6})
    # Variance of the noise on the pooled mean: sum of v_i n_i^2 over N^2, no new draw.
    assert pooled.noise_variance["fear"] == pytest.approx((9.0 * 4 + 4.0 * 4) / 16)
    hidden = pool_departments("Retail", [released("A", 2, 3, 1.0), released("B", 1, 2, 1.0)], 5)
    assert hidden.responded == 4 and hidden.gate_counts is not None and hidden.gate_counts[0] == 3


# ---------------------------------------------------------------- the report and a leader's cut of it


def _input(departments: Sequence[DepartmentAggregates]) -> ReportInput:
    return ReportInput(
        organization_name="Acme",
        organization_slug="acme",
        round_id="r-1",
        round_number=1,
        opened_on="2025-03-03",
        closes_on="2025-03-10",
        closed=True,
        min_group_size=5,
        comment_threshold=10,
        items_asked=ASKED,
        departments=departments,
        previous_rounds=(),
        directory_terms=(),
    )


SIZES = {
    "Retail": 2,
    "Retail / North / Store 1": 12,
    "Retail / North / Store 2": 6,
    "Retail / South / Store 3": 11,
    "Retail / South / Store 4": 9,
    "Operations / Warehouse": 14,
    "Finance": 10,
}


def _report() -> dict[str, Any]:
    departments = [
        _department(name, [1 + (i + len(name)) % 5 for i in range(size)], comments=True) for name, size in SIZES.items()
    ]
    return build_report(_input(departments)).to_json()


def test_the_organisation_model_holds_every_inner_unit_pooled_against_the_rest() -> None:
    model = _report()
    units = {u["name"]: u for u in model["units"]}
    assert list(units) == ["Operations", "Retail", "Retail / North", "Retail / South"]
    retail = units["Retail"]
    assert (retail["kind"], retail["parent"], retail["depth"], retail["responded"]) == ("pooled", None, 1, 40)
    assert units["Retail / North"]["parent"] == "Retail"
    departments = {d["name"]: d for d in model["departments"]}
    assert departments["Retail"]["kind"] == "own" and departments["Finance"]["kind"] == "unit"
    # Retail's own two people would show as Retail minus its regions: a region goes, and then Store 2
    # (Retail minus South and Store 1 must not leave the two alone either).
    assert units["Retail / North"]["suppression_reason"] == "complementary_suppression"
    assert departments["Retail / North / Store 2"]["suppression_reason"] == "complementary_suppression"
    assert units["Retail"]["scores"]["fear"]["n"] == 40


def test_a_leaders_report_shows_the_units_just_below_the_scope_pooled() -> None:
    model = _report()
    scoped = scope_model(model, [("Retail",)])
    assert [(r["name"], r["kind"]) for r in scoped["scope"]["rows"]] == [("Retail", "pooled")]
    assert [(d["name"], d["kind"]) for d in scoped["departments"]] == [
        ("Retail", "own"),
        ("Retail / North", "pooled"),
        ("Retail / South", "pooled"),
    ]
    units = {u["name"]: u for u in model["units"]}
    assert scoped["departments"][1] == units["Retail / North"]
    # Trends of the rows shown (Retail's own two and the hidden region have none).
    assert set(scoped["trends"]["departments"]) == {"Retail / South"}
    assert set(scoped["scope"]["trends"]) == {"Retail"}
    assert "Operations" not in str(scoped) and "Finance" not in str(scoped)
    region = scope_model(model, [("Retail", "North")])
    assert [d["name"] for d in region["departments"]] == ["Retail / North / Store 1", "Retail / North / Store 2"]


def test_every_reports_comment_groups_together_isolate_no_group_under_the_threshold() -> None:
    model = _report()
    paths = [name_path(name) for name in SIZES]
    scopes = [[unit] for unit in {p[:depth] for p in paths for depth in range(1, len(p) + 1)}]
    scopes += [
        list(pair) for pair in combinations(paths, 2) if not any(is_within(a, b) for a in pair for b in pair if a != b)
    ]
    models = [model, *(scope_model(model, scope) for scope in scopes)]
    # Every respondent wrote a comment naming their department: a released group is the set of
    # departments whose comments it holds, and comment lists subtract as sets.
    cells: set[Cell] = set()
    for m in models:
        for group in m["comments"]:
            cells.add(frozenset(name_path(c["text"].split(" says ")[0]) for c in group["comments"]))
    assert len(cells) > 3
    own = {name_path(name): size for name, size in SIZES.items()}
    assert disclosed_small_groups(own, sorted(cells, key=sorted), 10) == []
    # Retail's own two people would be Retail minus its regions: North's 18 join them in one group of
    # Retail's, and North's leader gets no comments of their own.
    retail = scope_model(model, [("Retail",)])
    assert [(g["group"], g["kind"], len(g["comments"])) for g in retail["comments"]] == [
        ("Retail", "remainder", 20),
        ("Retail / South", "subtree", 20),
    ]
    assert scope_model(model, [("Retail", "North")])["comments"] == []

from __future__ import annotations

from typing import Any

from pulse.domain.report import ReportInput, build_report
from pulse.domain.scoped_report import scope_model
from pulse.domain.simulation import DepartmentSpec, simulate_round

SPECS = [
    DepartmentSpec("Operations / Warehouse", 30, 1.0),
    DepartmentSpec("Operations / Logistics", 24, 1.0, {"collaboration": 20.0}, isolated=True),
    DepartmentSpec("Retail / North", 30, 1.0),
    DepartmentSpec("Retail / South", 30, 1.0),
    DepartmentSpec("Retail / East", 4, 1.0),
    DepartmentSpec("Retail", 6, 1.0),  # the head office of Retail: Retail minus its regions is not East alone
    DepartmentSpec("Finance", 20, 1.0),
    DepartmentSpec("Legal", 20, 1.0),
]


def _model(help_rate: float = 0.3) -> dict[str, Any]:
    simulated = simulate_round(SPECS, seed=3, help_rate=help_rate)
    data = ReportInput(
        organization_name="Acme",
        organization_slug="acme",
        round_id="r-1",
        round_number=1,
        opened_on="2025-03-03",
        closes_on="2025-03-10",
        closed=True,
        min_group_size=5,
        comment_threshold=10,
        items_asked=simulated.asked,
        departments=simulated.aggregates(),
        previous_rounds=(),
        directory_terms=(),
    )
    return build_report(data).to_json()


def test_there_is_a_help_network_between_siblings_under_every_parent() -> None:
    model = _model()
    levels = {level["parent"]: level["network"] for level in model["silo_levels"]}
    assert set(levels) == {None, "Operations", "Retail"}
    # The organisation's report keeps its silo section at the top level: top-level units, pooled.
    assert model["silo_network"] == levels[None]
    assert levels[None]["departments"] == ["Finance", "Legal", "Operations", "Retail"]
    # A unit whose help answers are too few for k takes no part (Retail / East: four people).
    assert levels["Retail"]["departments"] == ["Retail / North", "Retail / South"]
    # Between Retail's regions, edges are what people of one region said of the other.
    assert all({e["helper"], e["helped"]} == {"Retail / North", "Retail / South"} for e in levels["Retail"]["edges"])
    units = {u["name"]: u for u in model["units"]}
    assert units["Retail"]["silo_index"] is not None and units["Operations"]["silo_index"] is not None


def test_a_unit_cut_off_from_the_rest_is_found_at_its_own_level() -> None:
    model = _model()
    rows = {d["name"]: d for d in model["departments"]}
    logistics, warehouse = rows["Operations / Logistics"], rows["Operations / Warehouse"]
    # Nobody outside Logistics is named by its people: towards the rest it is as cut off as can be.
    assert logistics["outside_ties"] == 0 and logistics["rest_silo_index"] > 0.7
    assert warehouse["outside_ties"] > 0.5 and warehouse["rest_silo_index"] < 0.3
    assert logistics["silo_index"] > warehouse["silo_index"]
    assert any(
        f["kind"] == "silo" and "Logistics" in f["text"] and "Warehouse" not in f["text"] for f in model["findings"]
    )


def test_a_leaders_report_shows_the_silos_inside_their_scope_and_towards_the_rest() -> None:
    scoped = scope_model(_model(), [("Operations",)])
    assert scoped["silo_network"]["departments"] == ["Operations / Logistics", "Operations / Warehouse"]
    assert [level["parent"] for level in scoped["silo_levels"]] == ["Operations"]
    [operations] = scoped["scope"]["rows"]
    assert operations["name"] == "Operations" and operations["rest_silo_index"] is not None
    assert "Finance" not in str(scoped["silo_network"]) and "Retail" not in str(scoped)

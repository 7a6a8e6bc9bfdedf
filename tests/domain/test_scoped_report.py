from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

from pulse.domain.scoped_report import scope_model

NORTH = ("Retail", "North")


def _model() -> dict[str, Any]:
    names = ["Retail / North / Store 1", "Retail / South / Store 3", "Warehouse"]
    return {
        "organization": {"fear": {"mean": 40}},
        "departments": [{"name": n, "scores": {}} for n in names],
        "trends": {"organization": {}, "departments": {n: {} for n in names}},
        "silo_network": {
            "departments": names,
            "edges": [{"helper": names[0], "helped": names[2], "count": 3, "share": 0.1}],
            "isolated": ["Warehouse"],
            "never_helping_pairs": [[names[0], names[1]]],
            "never_helping_pair_count": 1,
            "external_ties": {n: 0.5 for n in names},
        },
        "comments": [{"group": names[0], "comments": []}, {"group": "Other departments", "comments": []}],
        "findings": [
            {"kind": "flag", "text": "Warehouse is afraid", "department": "Warehouse"},
            {"kind": "level", "text": "Fear scores 40 across the organisation", "department": None},
            {"kind": "silo", "text": "No help was reported between Warehouse and anyone", "department": None},
        ],
        "guidance": [{"flag": "high_fear", "departments": ["Warehouse", names[0]]}],
        # A section this module does not know: it is narrowed all the same.
        "future_section": {"by_unit": {n: 1 for n in names}, "rows": [{"unit": n} for n in names]},
    }


def test_a_scoped_model_keeps_the_scope_and_the_organisation_and_names_no_other_unit() -> None:
    scoped = scope_model(_model(), [NORTH])
    # A model stored before units had levels has no pooled units: no scope rows, the departments inside.
    assert scoped["scope"] == {"units": ["Retail / North"], "rows": [], "trends": {}}
    assert [d["name"] for d in scoped["departments"]] == ["Retail / North / Store 1"]
    assert scoped["organization"] == {"fear": {"mean": 40}}
    assert [f["kind"] for f in scoped["findings"]] == ["level"]
    assert scoped["guidance"] == [{"flag": "high_fear", "departments": ["Retail / North / Store 1"]}]
    assert [c["group"] for c in scoped["comments"]] == ["Retail / North / Store 1"]
    assert scoped["future_section"] == {
        "by_unit": {"Retail / North / Store 1": 1},
        "rows": [{"unit": "Retail / North / Store 1"}],
    }
    text = json.dumps(scoped)
    assert not any(name in text for name in ("South", "Store 3", "Warehouse", "Other departments"))


def test_the_organisation_model_is_not_changed() -> None:
    model = _model()
    before = json.dumps(model, sort_keys=True)
    scope_model(model, [NORTH])
    assert json.dumps(model, sort_keys=True) == before


def _tree_model() -> dict[str, Any]:
    from pulse.domain.report import ReportInput, build_report
    from pulse.domain.simulation import DepartmentSpec, simulate_round

    names = [
        *(f"Retail / {region} / Store {i}" for region in ("North", "South") for i in range(1, 4)),
        "Retail",
        "Operations / Warehouse",
        "Operations / Logistics / Trucks",
        "Finance",
    ]
    specs = [DepartmentSpec(name, 6 + (3 * i) % 14, 0.9, isolated=i == 4) for i, name in enumerate(names)]
    simulated = simulate_round(specs, seed=11, help_rate=0.3, comment_rate=0.5)
    data = ReportInput("Acme", "acme", "r", 1, "2025-03-03", "2025-03-10", True, 5, 5, simulated.asked, [], [], [])
    return build_report(replace(data, departments=simulated.aggregates())).to_json()


def _containers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *(c for v in value.values() for c in _containers(v))]
    if isinstance(value, list):
        return [value, *(c for v in value for c in _containers(v))]
    return []


def test_a_leaders_cut_copies_nothing_it_shares_and_equals_the_cut_of_a_private_copy() -> None:
    # scope_model does not deep-copy the organisation's model (one copy per leader was most of the
    # time of 400 leaders' reports): every cut must still be what the cut of a private copy is, leave
    # the model as it was, and hold no dict or list of the model (a later change to one would leak).
    model = _tree_model()
    before = json.dumps(model, sort_keys=True)
    assert model["silo_network"]["edges"] and model["units"] and model["comments"]
    shared = {id(c) for c in _containers(model)}
    scopes = [[("Retail",)], [NORTH], [("Retail", "South", "Store 2")], [("Operations",), ("Finance",)]]
    scopes += [[NORTH, ("Retail", "South")], [("Retail",), NORTH]]
    for scope in scopes:
        scoped = scope_model(model, scope)
        assert scoped == scope_model(copy.deepcopy(model), scope)
        assert not shared & {id(c) for c in _containers(scoped)}, scope
        assert json.dumps(model, sort_keys=True) == before

"""The report model seen as a tree of units: one level at a time, every entry the model's own."""

from __future__ import annotations

from typing import Any

from pulse.domain.report_tree import ReportTree


def _model(*names: str) -> dict[str, Any]:
    return {"departments": [{"name": name, "suppressed": False, "scores": {}} for name in names]}


def test_levels_come_from_the_units_the_model_names_and_the_units_above_them() -> None:
    tree = ReportTree(_model("Retail / North / Store 1", "Retail / North", "Retail / South / Store 3", "Legal"))
    assert [r.path for r in tree.children(())] == [("Legal",), ("Retail",)]
    assert [(r.name, r.units_below) for r in tree.children(("Retail",))] == [("North", 1), ("South", 1)]
    # Retail has no entry of its own (nobody sat in it); North has one beside its store.
    assert tree.entry(("Retail",)) is None and tree.children(())[1].entry is None
    north = tree.row(("Retail", "North"))
    assert north.entry is not None and north.entry["name"] == "Retail / North" and north.units_below == 1
    assert tree.children(("Retail", "North", "Store 1")) == []


def test_two_spellings_of_one_unit_are_one_unit_and_lookups_ignore_case_and_spaces() -> None:
    tree = ReportTree(_model("Retail / North", "retail/north / Store 1"))
    assert [r.path for r in tree.children(())] == [("Retail",)]
    assert tree.find(("RETAIL", "north ", "store  1")) == ("Retail", "North", "Store 1")
    assert tree.find(("Retail", "West")) is None


def test_an_entry_is_handed_out_as_the_model_has_it_never_made_up() -> None:
    hidden = {"name": "Legal", "suppressed": True, "suppression_reason": "below_min_group_size", "scores": {}}
    tree = ReportTree({"departments": [hidden, {"name": "Retail / North", "suppressed": False, "scores": {}}]})
    assert tree.entry(("Legal",)) is hidden
    assert tree.entry(("Retail",)) is None  # no figure for a parent from its children
    assert ReportTree({}).children(()) == []

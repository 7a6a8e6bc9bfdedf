"""The report model seen as a tree of units: one level at a time, every entry the model's own."""

from __future__ import annotations

from typing import Any

from pulse.domain.report_tree import ReportTree


def _entry(name: str, kind: str = "unit", **fields: Any) -> dict[str, Any]:
    return {"name": name, "kind": kind, "suppressed": False, "scores": {}, **fields}


def _model(*departments: str, units: tuple[str, ...] | None = ()) -> dict[str, Any]:
    model: dict[str, Any] = {"departments": [_entry(n) for n in departments]}
    if units is not None:
        model["units"] = [_entry(n, "pooled") for n in units]
    return model


def test_an_inner_unit_is_its_pooled_entry_and_its_own_people_a_row_of_their_own() -> None:
    tree = ReportTree(
        _model(
            "Retail / North / Store 1",
            "Retail / North",
            "Retail / South / Store 3",
            "Legal",
            units=("Retail", "Retail / North", "Retail / South"),
        )
    )
    assert [r.path for r in tree.children(())] == [("Legal",), ("Retail",)]
    legal, retail = tree.children(())
    assert (legal.pooled, legal.units_below, legal.entry and legal.entry["kind"]) == (True, 0, "unit")
    assert (retail.pooled, retail.units_below, retail.entry and retail.entry["kind"]) == (True, 4, "pooled")
    north = tree.row(("Retail", "North"))
    assert north.entry is not None and north.entry["kind"] == "pooled" and north.units_below == 1
    own = tree.own(("Retail", "North"))
    assert own is not None and own.entry is not None and own.entry["kind"] == "unit" and not own.pooled
    # Nobody sits in Retail itself, and a leaf has no separate row for its people.
    assert tree.own(("Retail",)) is None and tree.own(("Legal",)) is None
    assert tree.children(("Retail", "North", "Store 1")) == []


def test_a_model_without_pooled_figures_shows_an_inner_units_own_people_and_says_so() -> None:
    tree = ReportTree(_model("Retail / North / Store 1", "Retail / North", units=None))
    north = tree.row(("Retail", "North"))
    assert north.entry is not None and north.entry["name"] == "Retail / North" and not north.pooled
    retail = tree.row(("Retail",))
    assert retail.entry is None and not retail.pooled  # never a figure made up from the units below
    assert tree.own(("Retail", "North")) is None


def test_two_spellings_of_one_unit_are_one_unit_and_lookups_ignore_case_and_spaces() -> None:
    tree = ReportTree(_model("Retail / North", "retail/north / Store 1"))
    assert [r.path for r in tree.children(())] == [("Retail",)]
    assert tree.find(("RETAIL", "north ", "store  1")) == ("Retail", "North", "Store 1")
    assert tree.find(("Retail", "West")) is None


def test_an_entry_is_handed_out_as_the_model_has_it_never_made_up() -> None:
    hidden = _entry("Legal", suppressed=True, suppression_reason="below_min_group_size")
    tree = ReportTree({"departments": [hidden, _entry("Retail / North")], "units": []})
    assert tree.row(("Legal",)).entry is hidden
    assert tree.row(("Retail",)).entry is None  # no pooled entry released: nothing computed in its place
    assert ReportTree({}).children(()) == []

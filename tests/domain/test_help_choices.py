from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pulse.domain.help_choices import counted_for, help_choices, marks_by_choice
from pulse.domain.units import UnitPath, UnitTree, is_within

STORE_12 = ("Retail", "Stores North", "Store 12")
TREE = UnitTree(
    [
        ("Retail", "Stores North", "Store 11"),
        STORE_12,
        ("Retail", "Stores South", "Store 21"),
        ("Operations", "Warehouse"),
        ("Operations", "Logistics"),
        ("Finance",),
    ]
)


def test_a_store_is_offered_its_sibling_stores_the_other_regions_and_the_other_top_level_units() -> None:
    assert help_choices(TREE, STORE_12) == (
        ("Finance",),
        ("Operations",),
        ("Retail", "Stores North", "Store 11"),
        ("Retail", "Stores South"),
    )


def test_someone_in_an_inner_unit_is_also_offered_the_units_below_it_and_a_newcomer_the_top_level() -> None:
    assert help_choices(TREE, ("Retail",)) == (
        ("Finance",),
        ("Operations",),
        ("Retail", "Stores North"),
        ("Retail", "Stores South"),
    )
    assert help_choices(TREE, None) == (("Finance",), ("Operations",), ("Retail",))


@st.composite
def trees(draw: st.DrawFn) -> UnitTree:
    paths: list[UnitPath] = []
    for index in range(draw(st.integers(1, 25))):
        parent = draw(st.sampled_from([(), *(p for p in paths if len(p) < 5)]))
        paths.append((*parent, f"U{index}"))
    return UnitTree(paths)


@given(trees(), st.data())
def test_the_offered_units_cover_everyone_else_exactly_once(tree: UnitTree, data: st.DataObject) -> None:
    unit = data.draw(st.sampled_from(list(tree)))
    offered = help_choices(tree, unit)
    # Every unit that is neither the respondent's own unit nor above it sits in exactly one offered unit.
    for other in tree:
        holders = [choice for choice in offered if is_within(other, choice)]
        if other == unit or is_within(unit, other):
            assert holders == []
        else:
            assert len(holders) == 1
    # Far fewer than every unit in a deep tree: the siblings at each level and the units just below.
    assert len(offered) <= sum(len(tree.children(unit[:depth])) for depth in range(len(unit) + 1))


@given(trees(), st.data())
def test_marks_are_counted_as_a_scan_of_every_offered_unit_would_count_them(
    tree: UnitTree, data: st.DataObject
) -> None:
    # marks_by_choice looks the offered unit up among a named unit's ancestors; counted_for scans them all.
    units = [*tree, ("Elsewhere",), ("Elsewhere", "Below")]  # units the tree does not know count for nothing
    unit = data.draw(st.one_of(st.none(), st.sampled_from(list(tree))))
    marks = data.draw(st.dictionaries(st.sampled_from(units), st.floats(0.1, 3.0), max_size=12))
    offered = help_choices(tree, unit)
    expected: dict[UnitPath, float] = {}
    for named, count in marks.items():
        target = counted_for(offered, named)
        if target is not None:
            expected[target] = expected.get(target, 0.0) + count
    assert marks_by_choice(tree, unit, marks) == expected


def test_a_mark_naming_a_unit_not_offered_counts_for_the_offered_unit_that_holds_it() -> None:
    offered = help_choices(TREE, ("Finance",))
    assert counted_for(offered, ("Retail", "Stores South", "Store 21")) == ("Retail",)
    assert counted_for(offered, ("Finance",)) is None
    marks = {("Retail", "Stores North", "Store 11"): 1.0, ("Retail",): 0.5, ("Operations", "Logistics"): 2.0}
    assert marks_by_choice(TREE, ("Finance",), marks) == {("Retail",): 1.5, ("Operations",): 2.0}
    # From inside Retail, a mark naming Retail itself says nothing about crossing a boundary.
    assert marks_by_choice(TREE, STORE_12, {("Retail",): 1.0, ("Operations", "Warehouse"): 1.0}) == {
        ("Operations",): 1.0
    }


def test_help_marks_are_released_over_the_offered_units_only_which_need_not_be_departments() -> None:
    from dataclasses import replace

    from pulse.domain.aggregates import DepartmentAggregates
    from pulse.domain.privacy import DEFAULT_BUDGET, release_round

    class Drawn:
        """Noise that adds nothing and records how many help figures were asked for."""

        def __init__(self) -> None:
            self.sizes: list[int] = []

        def integers(self, values: list[int], scale: float) -> list[int]:
            return list(values)

        def reals(self, values: list[float], scale: float) -> list[float]:
            self.sizes.append(len(values))
            return list(values)

    store = DepartmentAggregates("Retail / North / Store 1", 20, 15, {}, network_respondents=15)
    store = replace(
        store,
        helped_by={"Operations": 4.0, "Retail / North / Store 2": 2.0},
        help_targets=("Finance", "Operations", "Retail / North / Store 2", "Retail / South"),
    )
    finance = replace(
        DepartmentAggregates("Finance", 20, 15, {}, network_respondents=15), help_targets=("Operations", "Retail")
    )
    noise = Drawn()
    release = release_round([store, finance], DEFAULT_BUDGET, min_group_size=5, noise=noise)
    released = {d.name: d.helped_by for d in release.departments}
    # "Operations" and "Retail" have nobody of their own: their marks are released all the same.
    assert released["Retail / North / Store 1"] == {"Operations": 4.0, "Retail / North / Store 2": 2.0}
    help_keys = {name: set(figures.get("help", {})) for name, figures in release.draw["departments"].items()}
    assert help_keys["Retail / North / Store 1"] == {"Operations", "Retail / North / Store 2"}
    # One value per offered unit (4 + 2), never one per other department of the round: beside them the
    # organisation's spread and anchor sums (4 + 4), each department's four score sums and its count
    # of help answers.
    assert sum(noise.sizes) == 4 + 4 + 2 * 4 + 2 + (4 + 2)

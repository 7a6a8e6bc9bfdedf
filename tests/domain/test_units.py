from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulse.domain.errors import DomainError
from pulse.domain.units import (
    MAX_UNIT_DEPTH,
    MAX_UNIT_PATH_LENGTH,
    InvalidUnitPath,
    UnitTree,
    format_unit_path,
    is_within,
    minimal_scope,
    parse_unit_path,
    path_key,
    unit_name_key,
    within_scope,
)

STORE_12 = ("Retail", "Stores North", "Store 12")


def test_a_path_splits_on_slashes_and_ignores_spaces_around_them() -> None:
    assert parse_unit_path("Retail / Stores North / Store 12") == STORE_12
    assert parse_unit_path("  Retail/Stores North /Store 12 ") == STORE_12
    assert parse_unit_path("Retail /  Stores   North / Store 12") == STORE_12


def test_a_plain_name_is_a_top_level_unit() -> None:
    assert parse_unit_path("Finance") == ("Finance",)
    assert parse_unit_path("  Customer Service ") == ("Customer Service",)


def test_a_path_is_written_back_with_one_space_around_each_separator() -> None:
    assert format_unit_path(parse_unit_path("Retail/Stores North/Store 12")) == "Retail / Stores North / Store 12"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "unit path is empty"),
        ("   ", "unit path is empty"),
        ("Retail / / Store 12", r"'Retail / / Store 12' has an empty level \(level 2\)"),
        ("/Retail", r"empty level \(level 1\)"),
        ("Retail /", r"empty level \(level 2\)"),
    ],
)
def test_a_path_with_an_empty_level_is_refused_naming_it(text: str, message: str) -> None:
    with pytest.raises(InvalidUnitPath, match=message):
        parse_unit_path(text)


def test_a_path_longer_than_the_limit_written_out_is_refused() -> None:
    assert parse_unit_path("x" * MAX_UNIT_PATH_LENGTH) == ("x" * MAX_UNIT_PATH_LENGTH,)
    longest = "Retail / " + "x" * (MAX_UNIT_PATH_LENGTH - 9)
    assert format_unit_path(parse_unit_path(longest)) == longest
    # "Retail/xx…" is one character short of the limit as typed, but one over it written out.
    with pytest.raises(InvalidUnitPath, match=f"longer than {MAX_UNIT_PATH_LENGTH} characters"):
        parse_unit_path("Retail/" + "x" * (MAX_UNIT_PATH_LENGTH - 8))


def test_a_path_deeper_than_the_limit_is_refused() -> None:
    deepest = " / ".join(f"L{i}" for i in range(MAX_UNIT_DEPTH))
    assert len(parse_unit_path(deepest)) == MAX_UNIT_DEPTH
    with pytest.raises(InvalidUnitPath, match=f"{MAX_UNIT_DEPTH + 1} levels; at most {MAX_UNIT_DEPTH}"):
        parse_unit_path(deepest + " / too deep")


def test_path_errors_are_domain_errors_answered_with_422() -> None:
    error = InvalidUnitPath("x")
    assert isinstance(error, DomainError) and error.status_code == 422


def test_spellings_that_differ_in_case_or_spaces_are_one_unit() -> None:
    assert path_key(parse_unit_path("retail / STORES  north")) == path_key(("Retail", "Stores North"))


def tree() -> UnitTree:
    return UnitTree(
        [
            STORE_12,
            ("Retail", "Stores North", "Store 3"),
            ("Retail", "Stores South", "Store 40"),
            ("Operations", "Warehouse"),
            ("Operations", "Logistics"),
            ("Finance",),
        ]
    )


def test_adding_a_unit_adds_its_ancestors() -> None:
    units = tree()
    assert ("Retail",) in units and ("Retail", "Stores North") in units
    assert len(units) == 10
    assert () not in units and ("Nowhere",) not in units


def test_parents_children_and_ancestors() -> None:
    units = tree()
    assert units.roots() == (("Finance",), ("Operations",), ("Retail",))
    assert units.children(("Retail",)) == (("Retail", "Stores North"), ("Retail", "Stores South"))
    assert units.children(("Retail", "Stores North")) == (
        ("Retail", "Stores North", "Store 12"),
        ("Retail", "Stores North", "Store 3"),
    )
    assert units.parent(STORE_12) == ("Retail", "Stores North")
    assert units.parent(("Retail",)) is None
    assert units.ancestors(STORE_12) == (("Retail", "Stores North"), ("Retail",))
    assert units.depth() == 3
    assert units.level(1) == units.roots()
    assert set(units.leaves()) == {
        STORE_12,
        ("Retail", "Stores North", "Store 3"),
        ("Retail", "Stores South", "Store 40"),
        ("Operations", "Warehouse"),
        ("Operations", "Logistics"),
        ("Finance",),
    }


def test_walking_the_tree_visits_parents_before_children_in_name_order() -> None:
    order = list(tree())
    assert order[:3] == [("Finance",), ("Operations",), ("Operations", "Logistics")]
    for position, path in enumerate(order):
        for ancestor in UnitTree.ancestors(path):
            assert order.index(ancestor) < position


def test_subtree_membership() -> None:
    units = tree()
    north = ("Retail", "Stores North")
    assert set(units.subtree(north)) == {north, STORE_12, ("Retail", "Stores North", "Store 3")}
    assert is_within(STORE_12, ("Retail",)) and is_within(STORE_12, STORE_12)
    assert not is_within(("Retail",), STORE_12)
    assert not is_within(("Retail2",), ("Retail",))
    assert within_scope(STORE_12, [("Finance",), north]) and not within_scope(("Finance",), [north])


def test_an_unknown_unit_is_refused_by_name() -> None:
    with pytest.raises(InvalidUnitPath, match="no unit 'Retail / Nowhere'"):
        tree().children(("Retail", "Nowhere"))


def test_pooled_counts_include_people_sitting_in_inner_units() -> None:
    units = tree()
    pooled = units.pooled({("Retail",): 2, ("Retail", "Stores North"): 1, STORE_12: 10, ("Finance",): 4})
    assert pooled[STORE_12] == 10
    assert pooled[("Retail", "Stores North")] == 11
    assert pooled[("Retail",)] == 13
    assert pooled[("Operations",)] == 0
    assert pooled[()] == 17


def test_a_scope_drops_units_inside_another_of_its_units() -> None:
    assert minimal_scope([STORE_12, ("Retail",), ("Finance",), ("Finance",)]) == (("Finance",), ("Retail",))


@given(
    st.lists(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=4).map(tuple), min_size=1, max_size=12),
    st.data(),
)
def test_a_pooled_count_is_the_sum_of_the_own_counts_in_its_subtree(
    paths: list[tuple[str, ...]], data: st.DataObject
) -> None:
    units = UnitTree(paths)
    own = {path: data.draw(st.integers(0, 30)) for path in units}
    pooled = units.pooled(own)
    for path in units:
        assert pooled[path] == sum(own[p] for p in units.subtree(path))
        assert pooled[path] == own[path] + sum(pooled[c] for c in units.children(path))
    assert pooled[()] == sum(own.values())


def test_siblings_are_kept_in_name_order_however_they_are_added() -> None:
    import random

    names = [f"Store {i}" for i in range(40)] + ["store 7b", "Ärzte", "zeta", "Alpha", "alpha team"]
    expected = UnitTree([("Retail", name) for name in names]).children(("Retail",))
    shuffled = names[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        tree = UnitTree([("Retail", name) for name in shuffled])
        assert tree.children(("Retail",)) == expected
        assert list(expected) == sorted(expected, key=lambda p: (unit_name_key(p[-1]), p[-1]))

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.domain.disclosure import SuppressionReason, suppress_counts
from pulse.domain.tree_disclosure import disclosed_small_groups, suppress_tree
from pulse.domain.units import UnitPath, UnitTree

BELOW = SuppressionReason.BELOW_MIN_GROUP_SIZE
COMPLEMENTARY = SuppressionReason.COMPLEMENTARY

RETAIL = ("Retail",)
NORTH = ("Retail", "North")
SOUTH = ("Retail", "South")
STORE_1 = ("Retail", "North", "Store 1")
STORE_2 = ("Retail", "North", "Store 2")
STORE_3 = ("Retail", "South", "Store 3")
OPS = ("Operations",)


def cells(tree: UnitTree, *units: UnitPath) -> list[frozenset[UnitPath]]:
    return [frozenset(tree), *(frozenset(tree.subtree(u)) for u in units)]


# ---------------------------------------------------------------- the exact checker catches planted leaks


def test_the_checker_finds_a_parent_minus_its_shown_children() -> None:
    tree = UnitTree([NORTH, SOUTH])
    own = {RETAIL: 2, NORTH: 10, SOUTH: 10}
    leaks = disclosed_small_groups(own, cells(tree, RETAIL, NORTH, SOUTH), 5)
    assert [(set(g.units), g.size) for g in leaks] == [({RETAIL}, 2)]


def test_the_checker_finds_the_organisation_minus_a_subtree() -> None:
    tree = UnitTree([RETAIL, OPS])
    own = {RETAIL: 30, OPS: 3}
    leaks = disclosed_small_groups(own, cells(tree, RETAIL), 5)
    assert [(set(g.units), g.size) for g in leaks] == [({OPS}, 3)]
    assert disclosed_small_groups(own, cells(tree), 5) == []


def test_the_checker_finds_one_leaders_report_minus_another() -> None:
    tree = UnitTree([STORE_1, STORE_2, STORE_3])
    own = {STORE_1: 10, STORE_2: 10, STORE_3: 4}
    # One leader reads Store 1 and Store 3 together, another reads Store 1 alone.
    two_stores = frozenset([STORE_1, STORE_3])
    leaks = disclosed_small_groups(own, [*cells(tree, STORE_1), two_stores], 5)
    assert {(frozenset(g.units), g.size) for g in leaks} == {(frozenset([STORE_3]), 4)}


def test_the_checker_finds_a_group_isolated_only_by_dividing() -> None:
    # A+B, B+C and A+C each hold at least 5, but (A+B + A+C - B+C) / 2 = A, which holds 3.
    a, b, c = ("A",), ("B",), ("C",)
    tree = UnitTree([a, b, c])
    own = {a: 3, b: 10, c: 10}
    released = [frozenset([a, b]), frozenset([b, c]), frozenset([a, c])]
    assert {(frozenset(g.units), g.size) for g in disclosed_small_groups(own, released, 5)} == {(frozenset([a]), 3)}
    # With the organisation released too, the attacker gets A from the total minus B+C directly.
    assert len(disclosed_small_groups(own, [frozenset(tree), *released], 5)) == 1


def test_the_checker_accepts_groups_that_are_empty_or_large_enough() -> None:
    tree = UnitTree([NORTH, SOUTH])
    own = {RETAIL: 0, NORTH: 10, SOUTH: 5}
    assert disclosed_small_groups(own, cells(tree, RETAIL, NORTH, SOUTH), 5) == []


# ---------------------------------------------------------------- the suppression


def test_a_parent_whose_own_people_would_show_by_subtraction_loses_its_smallest_child() -> None:
    tree = UnitTree([NORTH, SOUTH])
    # The head of retail and an assistant sit in Retail itself.
    own = {RETAIL: 2, NORTH: 10, SOUTH: 8}
    result = suppress_tree(tree, own, 5)
    assert result.units == {RETAIL: None, NORTH: None, SOUTH: COMPLEMENTARY}
    assert disclosed_small_groups(own, result.released_cells(tree), 5) == []


def test_a_hidden_leaf_is_protected_at_every_level_above_it() -> None:
    tree = UnitTree([STORE_1, STORE_2, STORE_3, OPS])
    own = {STORE_1: 20, STORE_2: 3, STORE_3: 12, OPS: 40}
    result = suppress_tree(tree, own, 5)
    assert result.units[STORE_2] == BELOW
    # North minus Store 1 would give Store 2: Store 1 goes (North = 23 stays, its remainder 23).
    assert result.units[STORE_1] == COMPLEMENTARY
    assert result.shows(NORTH) and result.shows(RETAIL) and result.shows(SOUTH) and result.shows(OPS)
    assert disclosed_small_groups(own, result.released_cells(tree), 5) == []


def test_a_scope_spanning_two_regions_is_shown_only_when_no_region_straddles_it() -> None:
    tree = UnitTree([STORE_1, STORE_2, STORE_3])
    own = {STORE_1: 10, STORE_2: 10, STORE_3: 10}
    scope = (STORE_1, STORE_3)
    result = suppress_tree(tree, own, 5, [scope])
    # North (Store 1 + Store 2) and South straddle the scope: the leader reads the two stores one by one.
    assert result.scopes[scope] == COMPLEMENTARY
    assert all(result.shows(unit) for unit in tree)
    assert disclosed_small_groups(own, result.released_cells(tree), 5) == []
    siblings = suppress_tree(tree, own, 5, [(STORE_1, STORE_2)])
    assert siblings.shows_scope([STORE_2, STORE_1])
    assert disclosed_small_groups(own, siblings.released_cells(tree), 5) == []


def test_a_one_unit_scope_is_that_units_cell() -> None:
    tree = UnitTree([STORE_1, STORE_2])
    result = suppress_tree(tree, {STORE_1: 10, STORE_2: 3}, 5, [[STORE_2], [NORTH, STORE_1]])
    assert result.scopes == {(STORE_2,): BELOW, (NORTH,): None}


def test_an_organisation_below_k_shows_no_unit() -> None:
    tree = UnitTree([RETAIL, OPS])
    result = suppress_tree(tree, {RETAIL: 2, OPS: 2}, 5)
    assert not result.organization and not any(result.shows(u) for u in tree)
    assert result.released_cells(tree) == []


def test_forced_units_stay_hidden_and_are_protected() -> None:
    tree = UnitTree([RETAIL, OPS, ("Finance",)])
    own = {RETAIL: 10, OPS: 10, ("Finance",): 10}
    # Operations is hidden for the count of respondents; on one dimension Retail has 9 scored and
    # Operations 2: the organisation minus Retail and Finance would give the 2.
    dimension = {RETAIL: 9, OPS: 2, ("Finance",): 10}
    counts = suppress_tree(tree, own, 5, forced={OPS: BELOW})
    assert counts.units[OPS] == BELOW
    result = suppress_tree(tree, dimension, 5, forced={OPS: BELOW})
    assert result.units == {("Finance",): None, OPS: BELOW, RETAIL: COMPLEMENTARY}
    assert disclosed_small_groups(dimension, result.released_cells(tree), 5) == []


# ---------------------------------------------------------------- property tests over random trees


@st.composite
def trees(draw: st.DrawFn) -> tuple[UnitTree, dict[UnitPath, int]]:
    """A random tree 1 to 4 levels deep of up to 12 units, with 0 to 30 people in each unit."""
    depth = draw(st.integers(1, 4))
    paths: list[UnitPath] = []
    for index in range(draw(st.integers(1, 12))):
        parents = [p for p in paths if len(p) < depth]
        parent = draw(st.sampled_from([(), *parents]))
        paths.append((*parent, f"U{index}"))
    tree = UnitTree(paths)
    return tree, {path: draw(st.integers(0, 30)) for path in tree}


@st.composite
def rounds(draw: st.DrawFn) -> tuple[UnitTree, dict[UnitPath, int], int, list[tuple[UnitPath, ...]]]:
    tree, own = draw(trees())
    units = list(tree)
    scopes = draw(st.lists(st.lists(st.sampled_from(units), min_size=1, max_size=3).map(tuple), max_size=4))
    return tree, own, draw(st.integers(3, 7)), scopes


@settings(max_examples=300)
@given(rounds())
def test_no_combination_of_released_cells_isolates_fewer_than_k(
    case: tuple[UnitTree, dict[UnitPath, int], int, list[tuple[UnitPath, ...]]],
) -> None:
    tree, own, k, scopes = case
    result = suppress_tree(tree, own, k, scopes)
    released = result.released_cells(tree)
    assert disclosed_small_groups(own, released, k) == []
    pooled = tree.pooled(own)
    assert all(pooled[u] >= k for u in tree if result.shows(u))
    assert result.organization == (pooled[()] >= k)


@settings(max_examples=150)
@given(rounds(), st.data())
def test_a_dimensions_cells_are_safe_on_their_own_count_too(
    case: tuple[UnitTree, dict[UnitPath, int], int, list[tuple[UnitPath, ...]]], data: st.DataObject
) -> None:
    tree, own, k, scopes = case
    counts = suppress_tree(tree, own, k, scopes)
    scored = {u: data.draw(st.integers(0, n)) for u, n in own.items()}
    forced_units = {u: r for u, r in counts.units.items() if r is not None}
    forced_scopes = {s: r for s, r in counts.scopes.items() if r is not None}
    result = suppress_tree(tree, scored, k, scopes, forced=forced_units, forced_scopes=forced_scopes)
    assert disclosed_small_groups(scored, result.released_cells(tree), k) == []
    assert all(not result.shows(u) for u in forced_units)
    assert all(not result.shows_scope(s) for s in forced_scopes)


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 30), min_size=1), st.integers(3, 7))
def test_on_a_flat_organisation_it_is_todays_complementary_suppression(counts: dict[str, int], k: int) -> None:
    tree = UnitTree([(name,) for name in counts])
    result = suppress_tree(tree, {(name,): n for name, n in counts.items()}, k)
    if sum(counts.values()) >= k:
        assert {name: result.units[(name,)] for name in counts} == suppress_counts(counts, k)
    else:
        assert not any(result.shows((name,)) for name in counts)

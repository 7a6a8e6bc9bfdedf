from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulse.domain.silos import (
    SILO_METHODOLOGY,
    NetworkInput,
    build_network,
    collaboration_component,
    compute_silos,
    network_component,
)


def test_the_collaboration_component_grows_with_the_gap_to_the_rest() -> None:
    assert collaboration_component(-5.0) == 0.0
    assert collaboration_component(12.5) == 0.5
    assert collaboration_component(40.0) == 1.0
    assert collaboration_component(None) is None


def _triangle_with_an_outsider() -> dict[str, NetworkInput]:
    return {
        "A": NetworkInput(10, {"B": 5, "C": 5}),
        "B": NetworkInput(10, {"A": 5, "C": 5}),
        "C": NetworkInput(10, {"A": 5, "B": 5, "Hidden": 9}),
        "D": NetworkInput(10, {}),
    }


def test_the_network_finds_isolated_departments_and_pairs_that_never_help_each_other() -> None:
    network = build_network(_triangle_with_an_outsider())
    assert network is not None
    assert network.isolated == ("D",)
    assert network.never_helping_pairs == (("A", "D"), ("B", "D"), ("C", "D"))
    # Departments outside the network (e.g. hidden ones) never appear in edges.
    assert {(e.helper, e.helped) for e in network.edges} == {(a, b) for a in "ABC" for b in "ABC" if a != b}
    assert all(e.share == 0.5 and e.count == 5 for e in network.edges)


def test_the_silo_index_combines_collaboration_gap_and_network() -> None:
    result = compute_silos(["A", "D", "E"], {"A": -3.0, "D": 25.0, "E": None}, _triangle_with_an_outsider())
    # D: 25 points below the rest (C = 1) and nobody helps it (N = 1).
    assert result.silo_index["D"] == 1.0
    # A: above the rest and better connected than the typical department.
    assert result.silo_index["A"] == 0.0
    # E: no collaboration score and not in the network.
    assert result.silo_index["E"] is None


def test_an_organisation_where_nobody_helps_anybody_is_all_silos() -> None:
    network = build_network({"A": NetworkInput(5, {}), "B": NetworkInput(5, {})})
    assert network is not None and network_component(network, "A") == 1.0
    assert network_component(network, "Z") is None


def test_no_network_with_fewer_than_two_departments_answering() -> None:
    assert build_network({"A": NetworkInput(5, {"B": 2}), "B": NetworkInput(0, {})}) is None
    assert compute_silos(["A"], {"A": 10.0}, {}).silo_index == {"A": 0.4}


def test_the_methodology_string_explains_the_formula() -> None:
    assert "0 (no sign of a silo) to 1" in SILO_METHODOLOGY and "E-I" in SILO_METHODOLOGY


names = st.sampled_from(["A", "B", "C", "D", "E"])


@given(
    st.dictionaries(
        names,
        st.tuples(st.integers(0, 30), st.dictionaries(names, st.integers(0, 30))),
        min_size=1,
    ),
    st.dictionaries(names, st.one_of(st.none(), st.floats(-100, 100))),
)
def test_the_silo_index_always_lies_between_zero_and_one(
    raw: dict[str, tuple[int, dict[str, int]]], gaps: dict[str, float | None]
) -> None:
    inputs = {name: NetworkInput(n, helped) for name, (n, helped) in raw.items()}
    result = compute_silos(sorted(set(raw) | set(gaps)), gaps, inputs)
    for value in result.silo_index.values():
        assert value is None or 0.0 <= value <= 1.0
    if result.network is not None:
        assert all(0.0 <= e.share <= 1.0 for e in result.network.edges)


@pytest.mark.parametrize("gap", [0.0, 10.0])
def test_a_typical_department_gets_no_network_penalty(gap: float) -> None:
    inputs = {n: NetworkInput(10, {o: 3 for o in "ABC" if o != n}) for n in "ABC"}
    result = compute_silos(["A"], {"A": gap}, inputs)
    assert result.silo_index["A"] == pytest.approx(gap / 25 / 2)


def test_silo_intervals_contain_the_index_and_narrow_with_more_answers() -> None:
    from pulse.domain.silos import silo_intervals

    def band(respondents: int) -> tuple[float, float, float]:
        inputs = {
            "A": NetworkInput(respondents, {"B": respondents // 10}),
            "B": NetworkInput(respondents, {"A": respondents // 2, "C": respondents // 2}),
            "C": NetworkInput(respondents, {"B": respondents // 2}),
        }
        gaps: dict[str, float | None] = {"A": 10.0, "B": -5.0, "C": 0.0}
        se = {"A": 40.0 / respondents**0.5, "B": 4.0, "C": 4.0}
        index = compute_silos(["A", "B", "C"], gaps, inputs).silo_index["A"]
        low, high = silo_intervals(["A", "B", "C"], gaps, se, inputs)["A"]
        assert index is not None
        return low, index, high

    small, large = band(10), band(200)
    for low, index, high in (small, large):
        assert 0.0 <= low <= index <= high <= 1.0
    assert large[2] - large[0] < small[2] - small[0]


# ---------------------------------------------------------------- the sparse algorithms equal the pair loops

_unit_names = st.sampled_from([f"U{i:02d}" for i in range(14)])
# Released help counts: whole numbers with privacy noise (some negative), or raw weighted marks.
_counts = st.one_of(st.integers(-3, 30), st.floats(-2.0, 30.0, allow_nan=False, allow_infinity=False))
_networks = st.dictionaries(_unit_names, st.tuples(st.integers(0, 40), st.dictionaries(_unit_names, _counts)))


@given(_networks)
def test_the_sparse_network_is_the_pair_loops_network_exactly(raw: dict[str, tuple[int, dict[str, float]]]) -> None:
    from tests.domain.reference_silos import build_network as reference

    inputs = {name: NetworkInput(n, helped) for name, (n, helped) in raw.items()}
    # Dataclass equality compares every edge, pair, count and float exactly (no tolerance).
    assert build_network(inputs) == reference(inputs)


@given(
    _networks,
    st.dictionaries(_unit_names, st.one_of(st.none(), st.floats(-60, 60))),
    st.dictionaries(_unit_names, st.floats(0, 20)),
    st.integers(1, 3000),
    st.integers(0, 2**16),
)
def test_the_blocked_silo_intervals_are_the_one_block_intervals_exactly(
    raw: dict[str, tuple[int, dict[str, float]]],
    gaps: dict[str, float | None],
    standard_errors: dict[str, float],
    chunk: int,
    seed: int,
) -> None:
    from pulse.domain import silos
    from tests.domain.reference_silos import silo_intervals as reference

    inputs = {name: NetworkInput(n, helped) for name, (n, helped) in raw.items()}
    departments = sorted(set(raw) | set(gaps))
    expected = reference(departments, gaps, standard_errors, inputs, replicates=60, seed=seed)
    original = silos.SILO_CHUNK_DRAWS
    silos.SILO_CHUNK_DRAWS = chunk  # blocks of a few replicates as well as one block
    try:
        found = silos.silo_intervals(departments, gaps, standard_errors, inputs, replicates=60, seed=seed)
    finally:
        silos.SILO_CHUNK_DRAWS = original
    assert list(found) == list(expected)
    assert found == expected


def test_a_dense_network_of_sixty_units_gives_the_pair_loops_results() -> None:
    # Long rows (numpy sums more than eight values pairwise) and several blocks of replicates.
    import random

    from pulse.domain import silos
    from tests.domain import reference_silos

    rng = random.Random(3)
    names = [f"Unit {i:02d}" for i in range(60)]
    inputs = {
        name: NetworkInput(rng.randrange(5, 50), {o: rng.randrange(0, 12) for o in rng.sample(names, 25)})
        for name in names
    }
    gaps = {name: rng.uniform(-20, 30) for name in names}
    se = {name: rng.uniform(0, 8) for name in names}
    assert silos.build_network(inputs) == reference_silos.build_network(inputs)
    original = silos.SILO_CHUNK_DRAWS
    silos.SILO_CHUNK_DRAWS = 5_000
    try:
        assert silos.silo_intervals(names, gaps, se, inputs) == reference_silos.silo_intervals(names, gaps, se, inputs)
    finally:
        silos.SILO_CHUNK_DRAWS = original

"""Flags: planted problems are found, healthy departments are left alone.

Measured with the seeded simulation below (30 healthy departments of 25 invited at ~80% response,
small real department effects, SD 3 points, as real organisations have; 40 organisations each,
the planted dimension rotating over the four):

* planted problem of 25 points in a department of 20: detected in 40/40 organisations (100%);
* planted problem of 20 points in a department of 20: detected in 33/40 (82.5%);
* 30 healthy departments only: 0.29% of department x dimension cells flagged (14 of 4,800,
  0.35 flags per organisation);
* with no real department effects at all: 0.02% of cells (1 of 4,800).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pulse.domain.flags import (
    FLAG_BY_DIMENSION,
    FLAG_RULE,
    MIN_DIFFERENCE,
    compare_departments,
    decide_flag,
    one_sided_p,
)
from pulse.domain.items import DIMENSION_KEYS
from pulse.domain.report import ReportInput, build_report
from pulse.domain.simulation import DepartmentSpec, simulate_round
from pulse.domain.stats import Comparison, Moments

ORGANISATIONS = 40
HEALTHY = [DepartmentSpec(f"Team {i:02d}", 25, 0.8) for i in range(30)]


def _flags(specs: Sequence[DepartmentSpec], seed: int) -> dict[str, tuple[str, ...]]:
    simulated = simulate_round(specs, seed=seed, ask_network=False, ask_enps=False, comment_rate=0.0)
    report = build_report(
        ReportInput(
            "Sim",
            "sim",
            "r",
            1,
            "2025-01-01",
            "2025-01-08",
            True,
            5,
            10,
            simulated.asked,
            simulated.aggregates(),
            [],
            [],
        )
    )
    return {d.name: d.flags for d in report.departments}


def _planted_run(points: float) -> tuple[float, int, int]:
    detected = false_flags = cells = 0
    for seed in range(ORGANISATIONS):
        dimension = DIMENSION_KEYS[seed % 4]
        planted = DepartmentSpec("Planted", 20, 1.0, {dimension: points})
        flags = _flags([*HEALTHY, planted], 1000 + seed)
        detected += FLAG_BY_DIMENSION[dimension] in flags["Planted"]
        false_flags += sum(len(f) for name, f in flags.items() if name != "Planted")
        false_flags += sum(f != FLAG_BY_DIMENSION[dimension] for f in flags["Planted"])
        cells += 4 * len(HEALTHY) + 3
    return detected / ORGANISATIONS, false_flags, cells


def test_a_large_problem_in_a_department_of_twenty_is_flagged() -> None:
    rate, false_flags, cells = _planted_run(25.0)
    assert rate >= 0.9  # measured: 1.0
    assert false_flags / cells < 0.01  # measured: 0.55%


def test_a_twenty_point_problem_is_usually_flagged() -> None:
    rate, _, _ = _planted_run(20.0)
    assert rate >= 0.7  # measured: 0.825


def test_thirty_healthy_departments_raise_almost_no_flags() -> None:
    flagged = cells = 0
    for seed in range(ORGANISATIONS):
        flags = _flags(HEALTHY, 1000 + seed)
        flagged += sum(len(f) for f in flags.values())
        cells += 4 * len(HEALTHY)
    assert flagged / cells < 0.01  # measured: 0.29%
    assert flagged / ORGANISATIONS < 1.0  # measured: 0.35 per organisation


def test_significance_alone_does_not_flag_a_small_difference() -> None:
    # 2,000 vs 20,000 people: a 5-point gap is certain but does not matter.
    big = Moments(2000, 2000 * 55.0, 2000 * (55.0**2 + 15.0**2))
    org = big + Moments(20000, 20000 * 50.0, 20000 * (50.0**2 + 15.0**2))
    result = compare_departments({"Big": {"fear": big}}, {"fear": org})[("Big", "fear")]
    assert result.comparison.p_value < 1e-6 and result.flag is None


def test_only_the_unhealthy_direction_is_flagged() -> None:
    better = Comparison(-20.0, -25.0, -15.0, 1e-9, -1.2, 20, 500)
    assert decide_flag("fear", better, 1e-6) is None
    assert decide_flag("initiative", better, 1e-6) == "low_initiative"
    assert one_sided_p("fear", better) == pytest.approx(1 - 5e-10)
    assert decide_flag("initiative", Comparison(-20.0, -25.0, -15.0, 1e-9, None, 20, 500), 1e-6) is None
    assert decide_flag("initiative", better, 0.2) is None


def test_dimensions_without_an_organisation_figure_are_not_compared() -> None:
    moments = Moments.from_values([1.0, 2.0, 3.0])
    assert compare_departments({"A": {"fear": moments}}, {}) == {}
    assert compare_departments({"A": {"fear": moments}}, {"fear": moments}) == {}  # empty rest


def test_the_flag_rule_states_its_thresholds() -> None:
    assert f"{MIN_DIFFERENCE:g} points" in FLAG_RULE and "Benjamini-Hochberg" in FLAG_RULE

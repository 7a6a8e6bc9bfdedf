from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pytest

import pulse.domain.privacy as privacy_module
from pulse.domain.aggregates import RoundAggregates
from pulse.domain.items import ITEMS, compose_pulse
from pulse.domain.privacy import DEFAULT_BUDGET, release_round
from pulse.domain.report import ReportInput, build_report
from pulse.domain.simulation import DepartmentSpec, simulate_round
from pulse.domain.stats import Moments, welch_comparison
from pulse.domain.trends import (
    NOTABLE_CHANGE,
    TREND_WINDOW,
    RoundFigure,
    TrendChange,
    claim_changes,
    dimension_trend,
    same_population,
    verdict_of,
)


def _round(label: str, values: list[float] | None) -> RoundFigure:
    return RoundFigure(label, f"2025-{label}", Moments.from_values(values) if values is not None else None)


def test_change_since_the_previous_round_is_a_welch_difference_of_independent_rounds() -> None:
    earlier, later = [40.0, 45.0, 50.0, 55.0, 42.0], [55.0, 60.0, 62.0, 58.0, 65.0]
    trend = dimension_trend("fear", [_round("01", earlier), _round("02", later)])
    expected = welch_comparison(Moments.from_values(later), Moments.from_values(earlier))
    assert trend.since_previous is not None and expected is not None
    assert trend.since_previous.difference == pytest.approx(expected.difference)
    assert (trend.since_previous.ci_low, trend.since_previous.ci_high) == (expected.low, expected.high)
    assert [p.label for p in trend.points] == ["01", "02"]


def test_the_window_compares_with_the_earliest_shown_round_of_the_last_few() -> None:
    rounds = [_round(f"{i:02d}", [40.0 + i, 45.0 + i, 50.0 + i]) for i in range(1, 7)]
    rounds[-TREND_WINDOW] = _round("hidden", None)
    trend = dimension_trend("fear", rounds)
    assert trend.over_window is not None and trend.over_window.from_label == f"{6 - TREND_WINDOW + 2:02d}"
    assert trend.over_window.difference == pytest.approx(2.0)
    assert len(trend.points) == 5


def test_a_hidden_previous_round_gives_no_change() -> None:
    trend = dimension_trend("fear", [_round("01", [1.0, 2.0]), _round("02", None), _round("03", [3.0, 4.0])])
    assert trend.since_previous is None
    assert trend.over_window is not None and trend.over_window.from_label == "01"


def test_a_single_round_has_points_but_no_change() -> None:
    trend = dimension_trend("fear", [_round("01", [1.0, 2.0])])
    assert trend.since_previous is None and trend.over_window is None and len(trend.points) == 1
    thin = dimension_trend("fear", [_round("01", [1.0]), _round("02", [2.0])])
    assert thin.points == () and thin.since_previous is None


def test_a_change_is_claimed_only_when_it_is_notable_and_holds_up_in_its_family() -> None:
    big = TrendChange("a", "b", -8.0, -12.0, -4.0, 1e-6)
    assert verdict_of("fear", big, 0.001) == "improvement"
    assert verdict_of("initiative", big, 0.001) == "deterioration"
    assert verdict_of("fear", big, 0.2) is None
    small = TrendChange("a", "b", NOTABLE_CHANGE - 0.1, 1.0, 8.0, 1e-9)
    assert verdict_of("fear", small, 1e-9) is None


def test_claims_are_corrected_over_the_whole_family() -> None:
    # A change of 8 points with p ~ 0.015 holds up alone; among 40 null changes it does not (BY over the family).
    low = [30.0, 40.0, 50.0, 60.0, 70.0] * 8
    high = [v + 8.0 for v in low]
    alone = claim_changes({"x": dimension_trend("initiative", [_round("01", low), _round("02", high)])})
    assert alone["x"].since_previous is not None and alone["x"].since_previous.verdict == "improvement"
    same = [50.0 + (i % 7) for i in range(40)]
    crowd = {f"d{i}": dimension_trend("initiative", [_round("01", same), _round("02", same)]) for i in range(40)}
    crowd["x"] = dimension_trend("initiative", [_round("01", low), _round("02", high)])
    claimed = claim_changes(crowd)
    change = claimed["x"].since_previous
    assert change is not None and change.p_value < 0.05 and change.q_value is not None and change.q_value > 0.05
    assert change.verdict is None


def test_rounds_with_other_departments_are_not_the_same_population() -> None:
    assert same_population({"A", "B"}, ["B", "A"])
    assert not same_population({"A"}, {"A", "B"})


# ---------------------------------------------------------------- simulations


DEPARTMENTS = [DepartmentSpec(f"Team {i:02d}", 22, 0.9) for i in range(12)]


def _difficulty(seed: int) -> dict[str, float]:
    # Rotating items differ in difficulty by 0.3-0.6 scale points, either way; anchors too (they are
    # real items), but the same anchors are asked every round.
    rng = random.Random(seed)
    return {i.key: rng.choice((-1, 1)) * rng.uniform(0.3, 0.6) for i in ITEMS}


class SeededLaplace:
    """Laplace noise like OpenDP's (integer: rounded), from a seeded generator so the test repeats exactly."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def integers(self, values: Sequence[int], scale: float) -> list[int]:
        return [int(v + round(self.rng.laplace(0.0, scale))) for v in values]

    def reals(self, values: Sequence[float], scale: float) -> list[float]:
        return [float(v + self.rng.laplace(0.0, scale)) for v in values]


def _report(
    rounds: list[tuple[str, list[DepartmentSpec], int]], organisation: int, privacy: bool = False
) -> list[object]:
    difficulty = _difficulty(organisation)
    history: list[RoundAggregates] = []
    reports = []
    for number, (label, specs, seed) in enumerate(rounds, 1):
        simulated = simulate_round(
            specs,
            seed=seed,
            round_number=number,
            climate_seed=organisation,
            item_difficulty=difficulty,
            ask_network=False,
            comment_rate=0.0,
        )
        aggregates = simulated.aggregates()
        if privacy:
            noise = SeededLaplace(seed)
            aggregates = release_round(aggregates, DEFAULT_BUDGET, min_group_size=5, noise=noise).departments
        report = build_report(
            ReportInput(
                "Sim",
                "sim",
                label,
                number,
                f"2025-{number:02d}-01",
                f"2025-{number:02d}-08",
                True,
                5,
                10,
                simulated.asked,
                aggregates,
                list(history),
                [],
                round_label=label,
            )
        )
        reports.append(report)
        history.append(RoundAggregates(label, f"2025-{number:02d}-01", aggregates))
    return reports


def test_a_constant_climate_with_rotating_items_of_different_difficulty_claims_no_trends() -> None:
    organisations, claims, families = 8, 0, 0
    for organisation in range(organisations):
        reports = _report([(f"Round {n}", DEPARTMENTS, 100 * organisation + n) for n in range(1, 7)], organisation)
        for report in reports[1:]:
            org = report.trends.organization.values()  # type: ignore[attr-defined]
            departments = [t for series in report.trends.departments.values() for t in series.values()]  # type: ignore[attr-defined]
            for family in (org, departments):
                families += 1
                claims += any(
                    c is not None and c.verdict is not None for t in family for c in (t.since_previous, t.over_window)
                )
            assert not any(f.kind == "trend" for f in report.findings)  # type: ignore[attr-defined]
    # Under a constant climate every claim is false: BY keeps P(any claim in a family) <= 5%.
    assert claims / families <= 0.05  # measured: 0 of 80 families


def _trend_claims(privacy: bool) -> tuple[int, int]:
    claims, families = 0, 0
    for organisation in range(6):
        rounds = [(f"Round {n}", DEPARTMENTS, 100 * organisation + n) for n in range(1, 7)]
        for report in _report(rounds, organisation, privacy=privacy)[1:]:
            org = report.trends.organization.values()  # type: ignore[attr-defined]
            departments = [t for series in report.trends.departments.values() for t in series.values()]  # type: ignore[attr-defined]
            for family in (org, departments):
                families += 1
                claims += any(
                    c is not None and c.verdict is not None for t in family for c in (t.since_previous, t.over_window)
                )
    return claims, families


def test_trends_under_privacy_noise_compare_like_with_like_through_the_anchors(monkeypatch: pytest.MonkeyPatch) -> None:
    # Released (noisy) scores are over every statement; the round's organisation-wide anchor offset
    # moves them onto the anchor scale, so a constant climate still claims no trend.
    claims, families = _trend_claims(privacy=True)
    assert claims / families <= 0.05, (claims, families)
    # Control: without the equating offset, the rotating statements' difficulty alone makes trends.
    monkeypatch.setattr(privacy_module, "_anchor_offsets", lambda *args: {})
    unequated, _ = _trend_claims(privacy=True)
    assert unequated > claims and unequated / families > 0.2, (unequated, claims, families)


def test_the_rotation_alone_would_move_scores_over_every_item() -> None:
    # The reason trends are anchor-only: the all-item score of the same climate moves with the rotation.
    difficulty = _difficulty(3)
    means = []
    for number in (1, 2):
        simulated = simulate_round(
            DEPARTMENTS, seed=7, round_number=number, climate_seed=3, item_difficulty=difficulty, person_sd=0.1
        )
        totals = [a.dimension_moments["fear"] for a in simulated.aggregates()]
        means.append(sum(m.total for m in totals) / sum(m.n for m in totals))
    assert set(compose_pulse(1)) != set(compose_pulse(2)) and abs(means[0] - means[1]) > 2.0


def test_a_scoped_round_never_gets_an_organisation_trend_against_an_unscoped_one() -> None:
    warehouse = [DepartmentSpec("Warehouse", 30, 0.9, {"fear": 20.0})]
    rounds = [
        ("Round 1", DEPARTMENTS + warehouse, 1),
        ("Round 2", DEPARTMENTS + warehouse, 2),
        ("Round 3", warehouse, 3),  # scoped to one department
        ("Round 4", DEPARTMENTS + warehouse, 4),
    ]
    reports = _report(rounds, 5)
    scoped = reports[2]
    assert all(not t.points[:-1] and t.since_previous is None for t in scoped.trends.organization.values())  # type: ignore[attr-defined]
    assert "No organisation-wide trend" in scoped.trends.scope_note  # type: ignore[attr-defined]
    assert not any(f.kind == "trend" for f in scoped.findings)  # type: ignore[attr-defined]
    # The department's own trend still compares it with itself.
    assert scoped.trends.departments["Warehouse"]["fear"].since_previous is not None  # type: ignore[attr-defined]
    after = reports[3]
    fear = after.trends.organization["fear"]  # type: ignore[attr-defined]
    assert [p.label for p in fear.points] == ["Round 1", "Round 2", "Round 4"]
    assert fear.since_previous is not None and fear.since_previous.from_label == "Round 2"
    assert "leaves out Round 3" in after.trends.scope_note  # type: ignore[attr-defined]

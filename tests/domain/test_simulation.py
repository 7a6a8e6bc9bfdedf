from __future__ import annotations

import pytest

from pulse.domain.errors import DomainError
from pulse.domain.items import compose_pulse
from pulse.domain.simulation import DepartmentSpec, simulate_round

SPECS = [DepartmentSpec("Ops", 30, 0.9, {"fear": 20}), DepartmentSpec("Sales", 30, 0.9)]


def test_the_same_seed_gives_the_same_answers() -> None:
    assert simulate_round(SPECS, seed=5) == simulate_round(SPECS, seed=5)
    assert simulate_round(SPECS, seed=5) != simulate_round(SPECS, seed=6)


def test_simulated_answers_are_valid_and_planted_problems_show() -> None:
    simulated = simulate_round(SPECS, seed=5, round_number=2, directory_names=["Anna Berg"], comment_rate=1.0)
    assert simulated.asked == compose_pulse(2)
    assert all(1 <= v <= 5 for r in simulated.responses for v in r.answers.values())
    assert all(r.enps is not None and 0 <= r.enps <= 10 for r in simulated.responses)
    assert any("Anna Berg" in (r.comment or "") for r in simulated.responses)
    ops, sales = simulated.aggregates()
    assert ops.dimension_moments["fear"].mean is not None and sales.dimension_moments["fear"].mean is not None
    assert ops.dimension_moments["fear"].mean > sales.dimension_moments["fear"].mean + 10


def test_optional_questions_can_be_left_out() -> None:
    simulated = simulate_round(
        SPECS, seed=1, ask_enps=False, ask_network=False, comment_rate=0.0, asked=["fear_blame_mistake"]
    )
    assert all(r.enps is None and r.helped_by is None and r.comment is None for r in simulated.responses)
    assert all(set(r.answers) <= {"fear_blame_mistake"} for r in simulated.responses)


def test_duplicate_department_names_are_refused() -> None:
    with pytest.raises(DomainError, match="unique"):
        simulate_round([DepartmentSpec("A", 5), DepartmentSpec("A", 5)], seed=1)

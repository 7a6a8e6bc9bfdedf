from __future__ import annotations

import pytest

from pulse.domain.aggregates import Response, aggregate_department, aggregate_responses
from pulse.domain.errors import InconsistentAggregates
from pulse.domain.items import ITEM_BY_KEY, compose_pulse
from pulse.domain.scoring import score_response
from pulse.domain.simulation import DepartmentSpec, simulate_round
from pulse.domain.stats import Moments, cronbach_alpha, cronbach_alpha_from_moments, rwg_j, rwg_j_from_moments


def test_aggregates_summarise_responses_exactly() -> None:
    asked = compose_pulse(1)
    responses = [
        Response("Ops", {k: 4 for k in asked}, 9, ("Sales", "Ops"), "fine"),
        Response("Ops", {k: 2 for k in asked[:6]} | {"not_asked": 3}, 3, None, None),
        Response("Ops", {k: 3 for k in asked}, 7, (), ""),
    ]
    agg = aggregate_department("Ops", 10, responses, asked)
    assert agg.responded == 3 and agg.invited == 10
    assert agg.enps_promoters == agg.enps_passives == agg.enps_detractors == 1
    assert agg.enps_responses == 3
    # A department naming itself is ignored; the one who skipped the question is not counted.
    assert agg.helped_by == {"Sales": 1} and agg.network_respondents == 2
    assert agg.comments == ("fine",)
    expected = Moments.from_values(score_response(r.answers, asked)["fear"] for r in responses)
    assert agg.dimension_moments["fear"] == expected
    assert set(agg.item_moments) == set(asked)
    assert all(ITEM_BY_KEY[a].dimension == ITEM_BY_KEY[b].dimension and a < b for a, b in agg.item_cross)


def test_aggregate_statistics_equal_row_statistics_on_simulated_answers() -> None:
    simulated = simulate_round([DepartmentSpec("Ops", 60, 1.0)], seed=3, missing_rate=0.0)
    agg = simulated.aggregates()[0]
    keys = [k for k in simulated.asked if ITEM_BY_KEY[k].dimension == "fear"]
    raw = [[r.answers[k] for k in keys] for r in simulated.responses]
    keyed = [[6 - v if ITEM_BY_KEY[k].reverse else v for k, v in zip(keys, row, strict=True)] for row in raw]
    reversed_keys = {k for k in keys if ITEM_BY_KEY[k].reverse}
    alpha = cronbach_alpha_from_moments(keys, agg.item_moments, agg.item_cross, reversed_keys)
    assert alpha == pytest.approx(cronbach_alpha(keyed))
    assert rwg_j_from_moments([agg.item_moments[k] for k in keys], 5) == pytest.approx(rwg_j(raw, 5))


def test_responses_from_departments_nobody_was_invited_in_are_refused() -> None:
    with pytest.raises(InconsistentAggregates, match="Ghost"):
        aggregate_responses([Response("Ghost", {})], {"Ops": 5}, compose_pulse(1))
    empty = aggregate_responses([], {"Ops": 5}, compose_pulse(1))
    assert empty[0].responded == 0 and empty[0].dimension_moments == {}

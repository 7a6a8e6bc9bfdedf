from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulse.domain.errors import InvalidAnswer
from pulse.domain.items import ITEM_BY_KEY, compose_pulse
from pulse.domain.scoring import (
    enps_category,
    enps_score,
    item_score,
    item_scores,
    keyed_value,
    labelled_scores,
    score_response,
)

FEAR_ASKED = ("fear_blame_mistake", "fear_raise_problem_safe", "fear_outside_procedure", "fear_keep_head_down")


def test_answers_map_onto_zero_to_one_hundred() -> None:
    assert [item_score("fear_blame_mistake", v) for v in range(1, 6)] == [0.0, 25.0, 50.0, 75.0, 100.0]


def test_reverse_keyed_answers_are_flipped() -> None:
    assert ITEM_BY_KEY["fear_raise_problem_safe"].reverse
    # Strongly agreeing that raising a problem is safe means little fear.
    assert keyed_value("fear_raise_problem_safe", 5) == 1
    assert item_score("fear_raise_problem_safe", 5) == 0.0
    assert item_score("fear_raise_problem_safe", 2) == 75.0


def test_a_dimension_score_is_the_mean_of_its_answered_items() -> None:
    answers = {"fear_blame_mistake": 4, "fear_raise_problem_safe": 2, "fear_outside_procedure": 5}
    scores = score_response(answers, FEAR_ASKED)
    assert scores["fear"] == pytest.approx((75 + 75 + 100) / 3)
    # Dimensions that were not asked cannot be scored.
    assert scores["initiative"] is None
    assert list(scores) == ["fear", "initiative", "consistency", "collaboration"]


def test_a_dimension_needs_at_least_half_of_its_asked_items() -> None:
    two_of_four = {"fear_blame_mistake": 4, "fear_outside_procedure": 2}
    one_of_four = {"fear_blame_mistake": 4}
    assert score_response(two_of_four, FEAR_ASKED)["fear"] == pytest.approx(50.0)
    assert score_response(one_of_four, FEAR_ASKED)["fear"] is None


def test_answers_to_items_not_asked_are_ignored() -> None:
    answers = {"fear_blame_mistake": 5, "fear_metrics_punish": 1}
    assert item_scores(answers, ("fear_blame_mistake",)) == {"fear_blame_mistake": 100.0}


@pytest.mark.parametrize("value", [0, 6, -1, True, 2.5, "3"])
def test_answers_off_the_scale_are_refused(value: object) -> None:
    with pytest.raises(InvalidAnswer, match="fear_blame_mistake"):
        score_response({"fear_blame_mistake": value}, ("fear_blame_mistake",))  # type: ignore[dict-item]


def test_unknown_item_keys_are_refused() -> None:
    with pytest.raises(InvalidAnswer, match="no_such_item"):
        score_response({}, ("no_such_item",))
    with pytest.raises(InvalidAnswer, match="no_such_item"):
        item_score("no_such_item", 3)


def test_labels_and_direction_travel_with_the_score() -> None:
    labelled = labelled_scores({"fear": 40.0, "initiative": None})
    assert labelled[0].label == "Fear of blame" and labelled[0].higher_is_better is False
    assert labelled[1].value is None and labelled[1].higher_is_better is True


@given(st.dictionaries(st.sampled_from(compose_pulse(1)), st.integers(1, 5)))
def test_scores_always_lie_between_zero_and_one_hundred(answers: dict[str, int]) -> None:
    for value in score_response(answers, compose_pulse(1)).values():
        assert value is None or 0.0 <= value <= 100.0


@pytest.mark.parametrize(
    ("value", "category"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter")],
)
def test_enps_categories(value: int, category: str) -> None:
    assert enps_category(value) == category


def test_enps_is_promoters_minus_detractors_in_percent() -> None:
    assert enps_score(5, 3, 2) == pytest.approx(30.0)
    assert enps_score(0, 0, 0) is None
    with pytest.raises(InvalidAnswer):
        enps_score(-1, 0, 0)
    with pytest.raises(InvalidAnswer, match="11"):
        enps_category(11)

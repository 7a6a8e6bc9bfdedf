from __future__ import annotations

import pytest

from pulse.domain.errors import InvalidPulseSize
from pulse.domain.items import (
    ANCHOR_KEYS,
    DEFAULT_PULSE_SIZE,
    DIMENSION_KEYS,
    DIMENSIONS,
    ITEM_BY_KEY,
    ITEMS,
    MAX_PULSE_SIZE,
    MIN_PULSE_SIZE,
    OUTCOME_ITEM,
    OUTCOME_KEY,
    SCALE_LABELS,
    compose_pulse,
    items_of,
)


def test_the_four_dimensions_come_in_the_documented_order_with_their_direction() -> None:
    assert DIMENSION_KEYS == ("fear", "initiative", "consistency", "collaboration")
    assert [d.higher_is_better for d in DIMENSIONS] == [False, True, True, True]
    assert len(SCALE_LABELS) == 5


@pytest.mark.parametrize("dimension", ["fear", "initiative", "consistency", "collaboration"])
def test_each_dimension_has_five_to_seven_items_with_a_reverse_keyed_and_an_anchor_item(dimension: str) -> None:
    items = items_of(dimension)
    assert 5 <= len(items) <= 7
    assert any(i.reverse for i in items)
    assert any(i.anchor for i in items)
    # A reverse-keyed anchor in every round keeps acquiescence from inflating trends.
    assert any(i.anchor and i.reverse for i in items)
    assert all(i.key.startswith(dimension + "_") for i in items)


def test_item_keys_and_texts_are_unique() -> None:
    assert len(ITEM_BY_KEY) == len(ITEMS) + 1  # the climate items and the outcome
    assert len({i.text for i in ITEM_BY_KEY.values()}) == len(ITEM_BY_KEY)
    assert all(i.text.endswith(".") for i in ITEM_BY_KEY.values())


def test_the_outcome_is_a_behaviour_asked_every_round_outside_the_four_dimensions() -> None:
    assert OUTCOME_ITEM.dimension not in DIMENSION_KEYS and not OUTCOME_ITEM.reverse
    assert "without waiting to be told" in OUTCOME_ITEM.text
    assert all(compose_pulse(n)[-1] == OUTCOME_KEY for n in range(1, 20))


def test_a_default_pulse_has_ten_climate_items_all_anchors_and_every_dimension_twice_and_the_outcome() -> None:
    for round_number in range(1, 30):
        pulse = compose_pulse(round_number)
        assert len(pulse) == DEFAULT_PULSE_SIZE + 1 == len(set(pulse))
        assert set(ANCHOR_KEYS) <= set(pulse)
        for dimension in DIMENSION_KEYS:
            assert sum(ITEM_BY_KEY[k].dimension == dimension for k in pulse) >= 2


def test_a_pulse_is_reproducible_from_the_round_number() -> None:
    assert compose_pulse(7) == compose_pulse(7)
    assert compose_pulse(1) != compose_pulse(2)


def test_every_item_is_asked_within_eight_consecutive_rounds() -> None:
    for start in range(1, 12):
        asked = {k for r in range(start, start + 8) for k in compose_pulse(r)}
        assert asked == set(ITEM_BY_KEY)


def test_pulse_keys_come_back_in_bank_order() -> None:
    order = [i.key for i in (*ITEMS, OUTCOME_ITEM)]
    pulse = compose_pulse(3)
    assert list(pulse) == sorted(pulse, key=order.index)


def test_sizes_at_the_edges() -> None:
    assert set(compose_pulse(5, MIN_PULSE_SIZE)) == {*ANCHOR_KEYS, OUTCOME_KEY}
    assert set(compose_pulse(5, MAX_PULSE_SIZE)) == set(ITEM_BY_KEY)


@pytest.mark.parametrize(
    ("round_number", "size"), [(0, 10), (-1, 10), (1, MIN_PULSE_SIZE - 1), (1, MAX_PULSE_SIZE + 1)]
)
def test_impossible_pulses_are_refused_with_the_bad_value_named(round_number: int, size: int) -> None:
    with pytest.raises(InvalidPulseSize, match=str(size if round_number > 0 else round_number)):
        compose_pulse(round_number, size)

"""Bounds on what one import asks of Pulse: file size, number of people, length of the error listing."""

from __future__ import annotations

import io

import pytest

from pulse.errors import MAX_LISTED_PROBLEMS, ImportRejected
from pulse.services import people


def test_an_error_listing_keeps_the_first_hundred_problems_and_counts_the_rest() -> None:
    rejected = ImportRejected("people import rejected", [f"row {n}: bad" for n in range(2, 41_332)])
    assert len(rejected.problems) == MAX_LISTED_PROBLEMS == 100
    assert rejected.more == 41_230
    assert rejected.listing[-1] == "and 41,230 more" and len(rejected.listing) == 101
    assert str(rejected).splitlines()[-1] == "and 41,230 more"
    assert ImportRejected("x", ["one"]).listing == ["one"]


def test_a_file_with_more_people_than_the_bound_is_refused_without_reading_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(people, "MAX_IMPORT_ROWS", 50)
    rows = "".join(f"p{i}@acme.test,P {i},Sales\n" for i in range(60))
    with pytest.raises(ImportRejected) as rejected:
        people.parse_people_csv("email,name,department\n" + rows)
    assert rejected.value.problems == [
        "row 52: more than 50 people in one file (the rest was not read); split the file"
    ]
    assert len(people.parse_people_csv("email,name,department\n" + rows[: rows.index("p50@")])) == 50


@pytest.mark.parametrize("as_file", [False, True])
def test_a_file_larger_than_the_bound_is_refused_before_it_is_decoded(
    monkeypatch: pytest.MonkeyPatch, as_file: bool
) -> None:
    monkeypatch.setattr(people, "MAX_IMPORT_BYTES", 1000)
    data = b"email,name,department\n" + b"a@acme.test,A,Sales\n" * 60
    with pytest.raises(ImportRejected, match="larger than"):
        people.parse_people_csv(io.BytesIO(data) if as_file else data)

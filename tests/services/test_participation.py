from __future__ import annotations

import json

import pytest

from pulse.models import Invitation, Report
from pulse.services import reports
from pulse.services.answers import submit
from pulse.services.participation import round_participation
from pulse.services.rounds import close_round, open_round
from pulse.services.tokens import token_for
from pulse.settings import Settings
from tests.anonymity.population import populate


async def _answer(round_id: int, item_key: str, settings: Settings, department: str, how_many: int) -> None:
    rows = await Invitation.filter(round_id=round_id, department__name=department, answered=False).limit(how_many)
    for invitation in rows:
        await submit(token_for(invitation.token_salt, settings.secret_key), {item_key: "3"})


async def _close_and_report(round_id: int, settings: Settings) -> None:
    await close_round(round_id)
    await reports.build_report(round_id, settings)


async def test_participation_shows_counts_only_for_departments_the_disclosure_gate_allows(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the privacy noise, so the gate's decisions show in exact numbers.
    monkeypatch.setattr(reports, "privacy_budget_for", lambda round_: None)
    org = await populate({"Stores": 8, "Sales": 6, "Finance": 3, "Legal": 4}, k=5)
    opened = await open_round(org)
    key = opened.item_keys[0]
    await _answer(opened.id, key, db, "Stores", 6)
    await _answer(opened.id, key, db, "Sales", 5)
    await _answer(opened.id, key, db, "Finance", 3)
    await _answer(opened.id, key, db, "Legal", 2)
    await _close_and_report(opened.id, db)  # counts only once the round is closed and its report built
    data = await round_participation(opened.id)
    json.dumps(data)  # JSON-able
    assert (data["invited"], data["responded"], data["rate"]) == (21, 16, round(16 / 21, 2))
    shown = {row["name"]: (row["invited"], row["responded"]) for row in data["departments"]}  # type: ignore[attr-defined]
    # Finance (3 answers) and Legal (2) are below k=5; together they are 5, so no extra department is hidden.
    assert shown == {"Stores": (8, 6), "Sales": (6, 5)}
    assert data["departments_hidden"] == 2
    assert "people" not in data and "answered_by" not in data


async def test_a_lone_small_department_hides_another_so_it_cannot_be_subtracted(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "privacy_budget_for", lambda round_: None)
    org = await populate({"Stores": 8, "Sales": 6, "Finance": 4}, k=5)
    opened = await open_round(org)
    key = opened.item_keys[0]
    await _answer(opened.id, key, db, "Stores", 7)
    await _answer(opened.id, key, db, "Sales", 5)
    await _answer(opened.id, key, db, "Finance", 2)
    await _close_and_report(opened.id, db)
    data = await round_participation(opened.id)
    shown = [row["name"] for row in data["departments"]]  # type: ignore[attr-defined]
    # Finance alone (2) could be recovered as total minus the others: Sales (smallest) is hidden too.
    assert shown == ["Stores"]
    hidden_responded = int(data["responded"]) - 7  # type: ignore[call-overload]
    assert hidden_responded == 0 or hidden_responded >= 5


async def test_a_closed_round_shows_what_its_report_released_never_the_exact_counts(db: Settings) -> None:
    # The report's counts carry stored privacy noise; exact counts beside them would undo it (their
    # difference is the noise). Before the report exists, only the coarse figures are shown.
    org = await populate({"Stores": 12, "Sales": 11}, k=5)
    opened = await open_round(org)
    key = opened.item_keys[0]
    await _answer(opened.id, key, db, "Stores", 9)
    await _answer(opened.id, key, db, "Sales", 7)
    await close_round(opened.id)
    before = await round_participation(opened.id)
    # 16 answered: shown rounded down to a multiple of k, as while the round was open.
    assert before["coarse"] is True and before["responded"] == 15
    await reports.build_report(opened.id, db)
    data = await round_participation(opened.id)
    model = (await Report.get(round_id=opened.id)).model or {}
    assert data["coarse"] is False
    assert (data["invited"], data["responded"], data["rate"]) == tuple(
        model["participation"][key] for key in ("invited", "responded", "rate")
    )
    released = {d["name"]: (d["invited"], d["responded"]) for d in model["departments"] if not d["suppressed"]}
    assert {row["name"]: (row["invited"], row["responded"]) for row in data["departments"]} == released  # type: ignore[attr-defined]


async def test_a_round_smaller_than_k_shows_no_figures_at_all(db: Settings) -> None:
    org = await populate({"Stores": 4}, k=5)
    opened = await open_round(org)
    await _answer(opened.id, opened.item_keys[0], db, "Stores", 4)
    data = await round_participation(opened.id)
    assert (data["invited"], data["responded"], data["rate"], data["departments"]) == (None, None, None, [])


async def test_an_open_round_shows_one_coarse_snapshot_an_hour(db: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from pulse import clock

    org = await populate({"Stores": 8, "Sales": 6, "Finance": 3, "Legal": 4}, k=5)
    opened = await open_round(org)
    key = opened.item_keys[0]
    first = await round_participation(opened.id)
    assert (first["coarse"], first["invited"], first["responded"], first["responded_band"]) == (
        True,
        21,
        None,
        "fewer than 5",
    )
    await _answer(opened.id, key, db, "Stores", 6)
    await _answer(opened.id, key, db, "Sales", 6)
    assert await round_participation(opened.id) == first  # the same snapshot until an hour has passed
    later = clock.now() + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    data = await round_participation(opened.id)
    assert data["snapshot_at"] != first["snapshot_at"]
    # 12 answers, rounded down to a multiple of k; Sales (6 of 6) never shows as "everyone".
    assert (data["responded"], data["responded_band"]) == (10, "at least 10")
    shown = {row["name"]: row["responded_band"] for row in data["departments"]}  # type: ignore[attr-defined]
    assert shown == {"Stores": "at least 5", "Sales": "at least 5"}
    assert data["departments_hidden"] == 2

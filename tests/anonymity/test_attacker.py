"""Play the attacker: full read access to the database after a round, try to link answers to people.

The attacker may run any SQL. As side knowledge we even hand them the true order in which people
answered (as if they had watched the office), and the test knows the truth through a signature the
respondents wrote in their comments. Each attack must fail after the round is closed; where an
attack *would* work on naively stored data, a control shows it working before the storage shuffle,
so the test proves the defence and not just an accident.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from tortoise import connections

from pulse.models import Invitation
from pulse.services.answers import submit
from pulse.services.rounds import close_round, open_round
from pulse.services.tokens import token_for
from pulse.settings import Settings
from tests.anonymity.population import populate

RESPONSE_COLUMNS = {
    "id",
    "round_id",
    "department_id",
    "score_fear",
    "score_initiative",
    "score_consistency",
    "score_collaboration",
    "enps",
    "answered_network",
    "comment",
}
ANSWER_COLUMNS = {"id", "response_id", "round_id", "department_id", "item_key", "value"}
HELP_MARK_COLUMNS = {"id", "response_id", "round_id", "department_id", "helper_id"}
INVITATION_COLUMNS = {
    "id",
    "round_id",
    "person_id",
    "department_id",
    "token_salt",
    "token_hash",
    "sent_at",
    "reminded_at",
    "send_attempts",
    "last_error",
    "answered",
}
ANONYMOUS_TABLES = {"response": RESPONSE_COLUMNS, "answer": ANSWER_COLUMNS, "help_mark": HELP_MARK_COLUMNS}


@dataclass
class Scene:
    round_id: int
    #: person id -> the signature they wrote in their comment (the test's ground truth).
    signature_of: dict[int, str]
    #: person ids in the order they answered.
    answer_order: list[int]


def _postgres(settings: Settings) -> bool:
    return settings.is_postgres


async def sql(query: str) -> list[dict[str, Any]]:
    rows = await connections.get("default").execute_query_dict(query)
    return [dict(row) for row in rows]


def spearman(a: list[int], b: list[int]) -> float:
    """Rank correlation of two rankings of the same items (no ties)."""
    n = len(a)
    rank_b = {item: i for i, item in enumerate(b)}
    d2 = sum((i - rank_b[item]) ** 2 for i, item in enumerate(a))
    return 1 - 6 * d2 / (n * (n * n - 1))


async def _scene(settings: Settings, seed: int) -> Scene:
    org = await populate({"Stores": 10, "Sales": 8, "Support": 6, "Finance": 5})
    opened = await open_round(org)
    rows = await Invitation.filter(round_id=opened.id).values_list("person_id", "token_salt")
    people = [(int(person_id), str(salt)) for person_id, salt in rows]
    rng = random.Random(seed)
    rng.shuffle(people)
    chosen = people[:24]
    scene = Scene(opened.id, {}, [])
    for person_id, salt in chosen:
        signature = f"sig-{uuid.uuid4().hex[:12]}"
        form: dict[str, str | list[str]] = {key: str(rng.randint(1, 5)) for key in opened.item_keys}
        form.update({"comment": signature, "enps": str(rng.randint(0, 10))})
        await submit(token_for(salt, settings.secret_key), form)
        scene.signature_of[person_id] = signature
        scene.answer_order.append(person_id)
    return scene


async def _person_of_responses(scene: Scene) -> dict[str, int]:
    by_signature = {signature: person for person, signature in scene.signature_of.items()}
    rows = await sql(f"SELECT id, comment FROM response WHERE round_id = {scene.round_id}")
    return {str(row["id"]): by_signature[row["comment"]] for row in rows}


async def _storage_order(table: str, round_id: int, settings: Settings) -> list[str]:
    if _postgres(settings):
        # ctid is (page, tuple); ordering by it is physical order.
        rows = await sql(f"SELECT id::text AS id FROM {table} WHERE round_id = {round_id} ORDER BY ctid")
    else:
        rows = await sql(f"SELECT id FROM {table} WHERE round_id = {round_id} ORDER BY rowid")
    return [str(row["id"]) for row in rows]


async def _responses_in_storage_order(scene: Scene, settings: Settings) -> list[int]:
    person_of = await _person_of_responses(scene)
    return [person_of[response_id] for response_id in await _storage_order("response", scene.round_id, settings)]


async def _answers_in_storage_order(scene: Scene, settings: Settings) -> list[int]:
    """The people behind answer rows, by first appearance in physical order of the answer table."""
    person_of = await _person_of_responses(scene)
    rows = await sql(f"SELECT id, response_id FROM answer WHERE round_id = {scene.round_id}")
    response_of = {str(row["id"]): str(row["response_id"]) for row in rows}
    seen: list[int] = []
    for answer_id in await _storage_order("answer", scene.round_id, settings):
        person = person_of[response_of[answer_id]]
        if person not in seen:
            seen.append(person)
    return seen


async def _columns(table: str, settings: Settings) -> dict[str, str]:
    if _postgres(settings):
        rows = await sql(
            "SELECT column_name AS name, data_type AS type FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name = '{table}'"
        )
    else:
        rows = await sql(f"SELECT name, type FROM pragma_table_info('{table}')")
    return {str(row["name"]): str(row["type"]).lower() for row in rows}


async def _foreign_keys(table: str, settings: Settings) -> set[str]:
    if _postgres(settings):
        rows = await sql(
            "SELECT ccu.table_name AS target FROM information_schema.table_constraints tc "
            "JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name "
            f"WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = '{table}'"
        )
    else:
        rows = await sql(f"SELECT \"table\" AS target FROM pragma_foreign_key_list('{table}')")
    return {str(row["target"]) for row in rows}


async def test_the_anonymous_tables_have_exactly_the_allowed_columns_and_no_time(db: Settings) -> None:
    for table, allowed in ANONYMOUS_TABLES.items():
        columns = await _columns(table, db)
        assert set(columns) == allowed, table
        assert not [name for name, kind in columns.items() if "time" in kind or "date" in kind], table
    invitation = await _columns("invitation", db)
    assert set(invitation) == INVITATION_COLUMNS
    assert not any("answer" in name and name != "answered" for name in invitation)


async def test_no_foreign_key_path_leads_from_an_answer_to_an_invitation_or_a_person(db: Settings) -> None:
    reachable: set[str] = set()
    frontier = set(ANONYMOUS_TABLES)
    while frontier:
        table = frontier.pop()
        reachable.add(table)
        frontier |= await _foreign_keys(table, db) - reachable
    # Round and department are shared by many people; from there, nothing points back to one person.
    assert reachable == {"response", "answer", "help_mark", "round", "department", "organization", "schedule"}
    assert "invitation" not in reachable and "person" not in reachable


async def test_answering_changes_nothing_on_the_invitation_but_the_answered_flag(db: Settings) -> None:
    org = await populate({"Stores": 5})
    opened = await open_round(org)
    before = (await sql(f"SELECT * FROM invitation WHERE round_id = {opened.id} ORDER BY id"))[0]
    await submit(token_for(str(before["token_salt"]), db.secret_key), {opened.item_keys[0]: "2"})
    after = (await sql(f"SELECT * FROM invitation WHERE id = {before['id']}"))[0]
    assert {key for key in before if before[key] != after[key]} == {"answered"}


async def test_ids_are_random_and_renewed_when_the_round_closes(db: Settings) -> None:
    scene = await _scene(db, seed=1)
    before = set(await _storage_order("response", scene.round_id, db))
    await close_round(scene.round_id)
    after_rows = await sql(f"SELECT id FROM response WHERE round_id = {scene.round_id}")
    after = {str(row["id"]) for row in after_rows}
    assert len(after) == 24 and not before & after
    assert all(uuid.UUID(value).version == 4 for value in after)
    invitations = await sql(f"SELECT id, token_salt, token_hash FROM invitation WHERE round_id = {scene.round_id}")
    hex_ids = {value.replace("-", "") for value in after}
    for row in invitations:
        assert not any(hex_id in row["token_hash"] or row["token_salt"] in hex_id for hex_id in hex_ids)
        assert str(row["id"]) not in after
    # Sorting by id says nothing about who answered first.
    person_of = await _person_of_responses(scene)
    by_id = [person_of[value] for value in sorted(after)]
    assert abs(spearman(scene.answer_order, by_id)) < 0.75


@pytest.mark.parametrize("seed", [2, 3])
async def test_storage_order_follows_answer_order_until_the_round_closes_and_not_after(db: Settings, seed: int) -> None:
    scene = await _scene(db, seed)
    # Control: naive storage order *is* answer order, so this attack is real.
    assert spearman(scene.answer_order, await _responses_in_storage_order(scene, db)) == 1.0
    assert spearman(scene.answer_order, await _answers_in_storage_order(scene, db)) == 1.0
    await close_round(scene.round_id)
    responses = await _responses_in_storage_order(scene, db)
    answers = await _answers_in_storage_order(scene, db)
    for order in (responses, answers):
        # For 24 random ranks |rho| >= 0.75 has a probability below 1e-4: this is not flaky.
        assert abs(spearman(scene.answer_order, order)) < 0.75
        matches = sum(a == b for a, b in zip(scene.answer_order, order, strict=True))
        assert matches < 8  # pairing by rank links about one person by chance, not most


@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_postgres_xmin_and_ctid_of_invitations_link_nobody_after_close(db: Settings) -> None:
    scene = await _scene(db, seed=4)
    round_id = scene.round_id
    xmin_query = "SELECT xmin::text AS x, {key} AS k FROM {table} WHERE round_id = {round_id}"
    responses = await sql(xmin_query.format(key="comment", table="response", round_id=round_id))
    invitations = await sql(xmin_query.format(key="person_id", table="invitation", round_id=round_id))
    # Control: right after answering, each answered invitation shares its transaction id with its response.
    invitation_xmins = {row["x"]: row["k"] for row in invitations}
    by_signature = {signature: person for person, signature in scene.signature_of.items()}
    linked = [row for row in responses if invitation_xmins.get(row["x"]) == by_signature[row["k"]]]
    assert len(linked) == 24
    await close_round(round_id)
    responses = await sql(xmin_query.format(key="comment", table="response", round_id=round_id))
    invitations = await sql(xmin_query.format(key="person_id", table="invitation", round_id=round_id))
    for table in ("answer", "help_mark"):
        responses += await sql(f"SELECT xmin::text AS x, NULL AS k FROM {table} WHERE round_id = {round_id}")
    assert not {row["x"] for row in responses} & {row["x"] for row in invitations}
    # Physical order of answered invitations no longer follows the order people answered in.
    rows = await sql(f"SELECT person_id FROM invitation WHERE round_id = {round_id} AND answered ORDER BY ctid")
    by_ctid = [int(row["person_id"]) for row in rows]
    assert abs(spearman(scene.answer_order, by_ctid)) < 0.75

"""Storage order that says nothing: rewriting a round's anonymous rows in a random order.

Response, answer and help-mark rows carry no person, no invitation and no time, and their ids are
random. What is left is *where* the database happened to put them: SQLite hands out rowids in insert
order, PostgreSQL places new tuples (ctid) roughly in insert order and stamps each with the id of the
inserting transaction (xmin), which is also the transaction that marked the invitation answered. A
reader of the raw tables could line up responses with the order invitations were answered.

``shuffle_round_storage`` removes that signal: in one transaction it deletes the round's responses,
answers and help marks and inserts copies with fresh random ids in a random order; then, in a second
transaction, it rewrites every invitation row of the round in a random order (a no-op UPDATE), so
invitations get new ctids and a common xmin that no response shares. It runs when a round closes
and may run again at any time (the tick does it for open rounds too): it is cheap and idempotent.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from pulse import clock
from pulse.models import Answer, HelpMark, Invitation, Response, Round

log = logging.getLogger("pulse.anonymity")

_random = secrets.SystemRandom()
CHUNK = 500
RESPONSE_FIELDS = (
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
)


def _is_postgres(connection: BaseDBAsyncClient) -> bool:
    return connection.capabilities.dialect == "postgres"


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


async def _rewrite_responses(round_id: int) -> int:
    async with in_transaction() as connection:
        if _is_postgres(connection):
            # Blocks new submissions (they take a key-share lock on the round) until this commits, and waits
            # for those in flight, so no response is written between our read and our delete.
            await connection.execute_query('SELECT id FROM "round" WHERE id = $1 FOR UPDATE', [round_id])
        responses = await Response.filter(round_id=round_id).using_db(connection).values(*RESPONSE_FIELDS)
        answers = (
            await Answer.filter(round_id=round_id)
            .using_db(connection)
            .values("id", "response_id", "round_id", "department_id", "item_key", "value")
        )
        marks = (
            await HelpMark.filter(round_id=round_id)
            .using_db(connection)
            .values("id", "response_id", "round_id", "department_id", "helper_id")
        )
        for chunk in _chunks([m["id"] for m in marks]):
            await HelpMark.filter(id__in=list(chunk)).using_db(connection).delete()
        for chunk in _chunks([a["id"] for a in answers]):
            await Answer.filter(id__in=list(chunk)).using_db(connection).delete()
        for chunk in _chunks([r["id"] for r in responses]):
            await Response.filter(id__in=list(chunk)).using_db(connection).delete()

        new_ids = {row["id"]: uuid.uuid4() for row in responses}
        _random.shuffle(responses)
        _random.shuffle(answers)
        _random.shuffle(marks)
        await Response.bulk_create(
            [Response(**{**row, "id": new_ids[row["id"]]}) for row in responses],
            batch_size=CHUNK,
            using_db=connection,
        )
        await Answer.bulk_create(
            [Answer(**{**row, "id": uuid.uuid4(), "response_id": new_ids[row["response_id"]]}) for row in answers],
            batch_size=CHUNK,
            using_db=connection,
        )
        await HelpMark.bulk_create(
            [HelpMark(**{**row, "id": uuid.uuid4(), "response_id": new_ids[row["response_id"]]}) for row in marks],
            batch_size=CHUNK,
            using_db=connection,
        )
        await Round.filter(id=round_id).using_db(connection).update(shuffled_at=clock.now())
    return len(responses)


async def _rewrite_invitations(round_id: int) -> int:
    # A separate transaction from the responses: every invitation ends up with this transaction's
    # xmin, which no response has.
    async with in_transaction() as connection:
        ids = list(await Invitation.filter(round_id=round_id).using_db(connection).values_list("id", flat=True))
        _random.shuffle(ids)
        placeholder = "$1" if _is_postgres(connection) else "?"
        sql = f'UPDATE "invitation" SET "answered" = "answered" WHERE "id" = {placeholder}'
        if ids:
            await connection.execute_many(sql, [[invitation_id] for invitation_id in ids])
    return len(ids)


async def shuffle_round_storage(round_id: int) -> None:
    """Rewrite the round's anonymous rows (and its invitations) in a random order; see the module doc."""
    responses = await _rewrite_responses(round_id)
    invitations = await _rewrite_invitations(round_id)
    log.info("round storage shuffled", extra={"round_id": round_id, "responses": responses, "invitations": invitations})

"""End to end, as people use it: the real `pulse` command, a real SMTP server, a real web server.

Import people, open a round, collect every invitation from the SMTP server, answer through the links
by posting the forms over HTTP, remind, close; then check that the stored answers are exactly the
ones sent, nobody answered twice, and the attacker's tricks link nobody. On SQLite the jobs run
inside the command (embedded mode); on PostgreSQL they go through the real Redis to `pulse worker`.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from pulse import db as pulse_db
from pulse.domain.participation import rounded
from pulse.models import Answer, Department, HelpMark, Invitation, Person, Response, Round, RoundStatus
from pulse.settings import Settings, configure
from tests.anonymity.population import tokens_by_recipient
from tests.anonymity.test_attacker import ANONYMOUS_TABLES, _columns, _storage_order, spearman, sql
from tests.conftest import make_settings
from tests.e2e.server import pulse_env, run_pulse, serve

DEPARTMENTS = {"Stores": 12, "Customer Service": 9, "Warehouse": 7, "Finance": 4}
Sheet = tuple[str, tuple[tuple[str, int], ...], int | None, tuple[str, ...], str | None]


def _csv(path: Path) -> Path:
    lines = ["email,name,department"]
    for department, size in DEPARTMENTS.items():
        slug = department.lower().replace(" ", "-")
        lines += [f"{slug}{i}@acme.test,{department} Person {i},{department}" for i in range(size)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fill(html: str, rng: random.Random, signature: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Answer the form the way a person would: most items, sometimes eNPS, helpers and a comment."""
    radios = re.findall(r'<input type="radio" name="([a-z_]+)" value="[1-5]"', html)
    items = [name for name in dict.fromkeys(radios) if name != "enps"]
    helpers = re.findall(r'<input type="checkbox" name="helped_by" value="(\d+)"><span>([^<]+)</span>', html)
    form: dict[str, Any] = {}
    answered = {key: rng.randint(1, 5) for key in items if rng.random() < 0.9}
    form.update({key: str(value) for key, value in answered.items()})
    enps = rng.randint(0, 10) if rng.random() < 0.7 else None
    if enps is not None:
        form["enps"] = str(enps)
    chosen = rng.sample(helpers, rng.randint(0, min(2, len(helpers))))
    if chosen:
        form["helped_by"] = [dept_id for dept_id, _ in chosen]
    form["comment"] = f"{signature} keep the shelves stocked"
    truth = {"items": answered, "enps": enps, "helpers": sorted(name for _, name in chosen), "comment": form["comment"]}
    return form, truth


async def _stored_sheets(round_id: int) -> list[Sheet]:
    names = {d.id: d.name for d in await Department.all()}
    sheets: list[Sheet] = []
    for response in await Response.filter(round_id=round_id):
        answers = tuple(sorted((a.item_key, a.value) for a in await Answer.filter(response_id=response.id)))
        helpers = tuple(sorted(names[m.helper_id] for m in await HelpMark.filter(response_id=response.id)))
        sheets.append((names[response.department_id], answers, response.enps, helpers, response.comment))
    return sheets


@pytest.mark.slow
async def test_a_whole_round_by_email_and_web_stores_exactly_what_people_sent_and_links_nobody(
    database_url: str, tmp_path: Path, smtp_server: Any, redis_url: str, queue_name: str
) -> None:
    postgres = database_url.startswith("postgres")
    extra = {"PULSE_SMTP_URL": smtp_server.url, "PULSE_QUEUE_NAME": queue_name}
    if postgres:
        extra["PULSE_REDIS_URL"] = redis_url
    settings: Settings = make_settings(tmp_path, database_url, **extra)
    configure(settings)
    env = pulse_env(settings)
    rng = random.Random(20261122)

    async def pulse(*args: str) -> str:
        code, out, err = await run_pulse(env, *args)
        assert code == 0, f"pulse {' '.join(args)} failed: {err}"
        return out

    async def jobs() -> None:
        if postgres:  # the real worker takes what the command queued in Redis, then exits
            await pulse("worker", "--burst")

    try:
        async with pulse_db.database(settings):
            await pulse("org", "create", "acme", "--name", "Acme Retail", "--timezone", "Europe/Paris")
            await pulse("people", "import", "acme", str(_csv(tmp_path / "people.csv")))
            round_id = int(json.loads(await pulse("round", "open", "acme", "--json", "--closes-in-days", "5"))["id"])
            await jobs()

            people = {p.email: p for p in await Person.all().select_related("department")}
            assert len(smtp_server.messages) == len(people) == sum(DEPARTMENTS.values())
            links = tokens_by_recipient(smtp_server.messages)
            assert set(links) == set(people)

            async with serve(env) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                sent: list[Sheet] = []
                answer_order: list[int] = []
                signatures: dict[str, int] = {}
                respondents = [email for email in sorted(links) if rng.random() < 0.8]
                rng.shuffle(respondents)
                for email in respondents:
                    page = await client.get(f"/s/{links[email]}")
                    assert page.status_code == 200
                    signature = f"sig-{uuid.uuid4().hex[:10]}"
                    form, truth = _fill(page.text, rng, signature)
                    posted = await client.post(f"/s/{links[email]}", data=form)
                    assert posted.status_code == 303, posted.text
                    sent.append(
                        (
                            people[email].department.name,
                            tuple(sorted(truth["items"].items())),
                            truth["enps"],
                            tuple(truth["helpers"]),
                            truth["comment"],
                        )
                    )
                    answer_order.append(people[email].id)
                    signatures[truth["comment"]] = people[email].id
                    # Trying again with the same link changes nothing.
                    assert (await client.post(f"/s/{links[email]}", data=form)).status_code == 409

                # The same unused link fired 24 times at once at the real server: one answer.
                racer = next(email for email in sorted(links) if email not in respondents)
                page = await client.get(f"/s/{links[racer]}")
                form, truth = _fill(page.text, rng, "sig-racer")
                replies = await asyncio.gather(*(client.post(f"/s/{links[racer]}", data=form) for _ in range(24)))
                assert Counter(reply.status_code for reply in replies) == {303: 1, 409: 23}
                sent.append(
                    (
                        people[racer].department.name,
                        tuple(sorted(truth["items"].items())),
                        truth["enps"],
                        tuple(truth["helpers"]),
                        truth["comment"],
                    )
                )
                answer_order.append(people[racer].id)
                signatures[truth["comment"]] = people[racer].id
                answered_emails = {*respondents, racer}

                smtp_server.messages.clear()
                await pulse("round", "remind", str(round_id))
                await jobs()
                reminded = tokens_by_recipient(smtp_server.messages)
                assert set(reminded) == set(links) - answered_emails
                assert all(reminded[email] == links[email] for email in reminded)

                status = json.loads(await pulse("round", "status", str(round_id), "--json"))
                # An open round's participation is a coarse snapshot: rounded down to a multiple of k.
                assert status["coarse"] is True
                assert (status["invited"], status["responded"]) == (
                    len(links),
                    rounded(len(answered_emails), len(links), status["min_group_size"]),
                )
                assert "email" not in json.dumps(status)

                await pulse("round", "close", str(round_id))
                await jobs()
                for email in (respondents[0], next(iter(reminded))):
                    assert (await client.get(f"/s/{links[email]}")).status_code == 410

            closed = await Round.get(id=round_id)
            assert closed.status == RoundStatus.CLOSED and closed.shuffled_at is not None
            # Stored exactly what was sent, once each.
            assert sorted(await _stored_sheets(round_id), key=repr) == sorted(sent, key=repr)
            answered_people = {
                i.person_id for i in await Invitation.filter(round_id=round_id, answered=True).only("person_id")
            }
            assert answered_people == {people[email].id for email in answered_emails}
            assert await Response.filter(round_id=round_id).count() == len(answered_emails)

            # The attacker, with the true answer order as side knowledge, links nobody.
            for table, allowed in ANONYMOUS_TABLES.items():
                assert set(await _columns(table, settings)) == allowed
            comment_of = {str(r["id"]): str(r["comment"]) for r in await sql("SELECT id, comment FROM response")}
            stored_order = [signatures[comment_of[rid]] for rid in await _storage_order("response", round_id, settings)]
            assert abs(spearman(answer_order, stored_order)) < 0.75
            if postgres:
                response_xmins = {r["x"] for r in await sql("SELECT xmin::text AS x FROM response")}
                invitation_xmins = {r["x"] for r in await sql("SELECT xmin::text AS x FROM invitation")}
                assert not response_xmins & invitation_xmins
    finally:
        configure(None)

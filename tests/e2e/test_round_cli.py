"""`pulse round` as a user types it: exit codes, one-line errors, and what each command prints."""

from __future__ import annotations

import json
from pathlib import Path

from pulse import db as pulse_db
from pulse.models import Invitation, Person
from pulse.settings import Settings
from tests.e2e.server import pulse_env, run_pulse


async def test_round_commands_report_clearly_and_fail_with_one_line(sqlite_settings: Settings, tmp_path: Path) -> None:
    env = pulse_env(sqlite_settings)
    people = tmp_path / "people.csv"
    rows = [f"s{i}@acme.test,Store {i},Stores" for i in range(10)] + ["h0@acme.test,Head 0,HQ"]
    people.write_text("email,name,department\n" + "\n".join(rows) + "\n")
    assert (await run_pulse(env, "org", "create", "acme", "--name", "Acme"))[0] == 0
    assert (await run_pulse(env, "people", "import", "acme", str(people)))[0] == 0

    code, out, err = await run_pulse(env, "round", "open", "acme", "--department", "Stores", "--json")
    assert code == 0, err
    round_id = json.loads(out)["id"]
    outbox = list((sqlite_settings.var_dir / "outbox").glob("*.eml"))
    assert len(outbox) == 10  # embedded mode: the command sent them before returning

    code, out, _ = await run_pulse(env, "round", "status", str(round_id))
    assert code == 0 and "all: fewer than 5 of 10 answered (n/a)" in out

    async with pulse_db.database(sqlite_settings):
        stores = await Person.get(email="s0@acme.test")
        await Person.create(
            organization_id=stores.organization_id, department_id=stores.department_id, email="n@acme.test", name="N"
        )
    code, out, _ = await run_pulse(env, "round", "invite-late", str(round_id))
    assert code == 0 and "1 late joiner(s) invited" in out
    assert len(list((sqlite_settings.var_dir / "outbox").glob("*.eml"))) == 11
    async with pulse_db.database(sqlite_settings):
        assert await Invitation.filter(round_id=round_id, sent_at__isnull=True).count() == 0

    for args, message in [
        (["round", "open", "nope"], "no organisation with slug 'nope'"),
        (
            ["round", "open", "acme", "--department", "Marketing"],
            "unknown department 'Marketing' in organisation 'acme'",
        ),
        (
            ["round", "open", "acme", "--department", "HQ"],
            "scope 'HQ' has 1 person to invite: a round for part of the organisation needs at least 10 (twice the "
            "minimum group size 5), or its organisation-wide figures would be about a few people",
        ),
        (["round", "open", "acme", "--closes-in-days", "0"], "closes in 0 days: a round stays open 1 to 90 days"),
        (["round", "close", "999"], "no round with id 999"),
        (["round", "status", "999"], "no round with id 999"),
    ]:
        code, out, err = await run_pulse(env, *args)
        assert code == 1 and out == ""
        assert err.strip().splitlines() == [f"pulse: error: {message}"]

    code, out, _ = await run_pulse(env, "round", "close", str(round_id))
    assert code == 0 and f"closed round {round_id}" in out
    # The same rule as the web app and the API: refused, in one line, exit 1 (it used to say
    # "not reminded (closed)" and exit 0 while the others answered 422).
    code, out, err = await run_pulse(env, "round", "remind", str(round_id))
    assert (code, out) == (1, "")
    assert err.strip().splitlines() == [f"pulse: error: round {round_id} is closed: reminders go only to open rounds"]

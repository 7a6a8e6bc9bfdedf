"""Benchmark: an organisation of 100,000 people in 2,000 units six levels deep, on PostgreSQL.

Run: .venv/bin/pytest -p no:xdist -p no:randomly -s tests/perf/bench_tree.py   (or: make bench)

* the people import of the whole tree (units created level by level, parents set) — target < 10 s;
* the report models of one round for 400 scoped leaders: the organisation's model built once from
  SQL, then each leader's scope resolved and the model narrowed to it — target < 60 s in all;
* the process's peak RSS while doing it, and the peak Python memory (tracemalloc, in a second pass:
  tracemalloc slows the timed code several times over) — target < 400 MB.

The round (80,000 responses with dimension scores, eNPS and comments, half of them with two help
marks; no per-item answers) is generated inside PostgreSQL with INSERT ... SELECT.
"""

from __future__ import annotations

import random
import resource
import time
import tracemalloc

import asyncpg  # type: ignore[import-untyped]

from pulse import db as pulse_db
from pulse.domain.items import compose_pulse
from pulse.domain.scoped_report import scope_model
from pulse.domain.units import minimal_scope
from pulse.models import Department, Person, User, UserRole
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.reports import report_model
from pulse.services.units import load_units
from pulse.settings import Settings
from tests.conftest import make_settings, postgres_admin, postgres_url

#: Units per level: 5 + 15 + 45 + 135 + 400 + 1,400 = 2,000.
LEVELS = (5, 15, 45, 135, 400, 1400)
PEOPLE = 100_000
LEADERS = 400


def _units() -> list[str]:
    levels: list[list[str]] = [[f"Division {i + 1}" for i in range(LEVELS[0])]]
    for depth in range(1, len(LEVELS)):
        parents = levels[-1]
        below: list[str] = []
        for index, parent in enumerate(parents):
            count = LEVELS[depth] // len(parents) + (1 if index < LEVELS[depth] % len(parents) else 0)
            below += [f"{parent} / L{depth + 1}-{index}-{child}" for child in range(count)]
        levels.append(below)
    return [unit for level in levels for unit in level]


def _csv(units: list[str]) -> bytes:
    leaves = [u for u in units if u.count(" / ") == 5]
    inner = [u for u in units if u.count(" / ") < 5]
    lines = ["email,name,department,role"]
    # One person in each inner unit (its head), everyone else in the leaves.
    for i, unit in enumerate(inner):
        lines.append(f"head{i}@tree.test,Head {i},{unit},leader")
    for i in range(PEOPLE - len(inner)):
        lines.append(f"person{i}@tree.test,Person {i},{leaves[i % len(leaves)]},employee")
    return ("\n".join(lines) + "\n").encode()


async def _round(dsn: str, organization_id: int) -> int:
    keys = list(compose_pulse(1))
    connection = await asyncpg.connect(dsn)
    try:
        round_id = await connection.fetchval(
            "INSERT INTO round (organization_id, number, status, item_keys, opened_at, closes_at, closed_at) "
            "VALUES ($1, 1, 'closed', $2::jsonb, now() - interval '8 days', now() - interval '1 day', "
            "now() - interval '1 day') RETURNING id",
            organization_id,
            '["' + '","'.join(keys) + '"]',
        )
        await connection.execute(
            "INSERT INTO invitation (round_id, person_id, department_id, token_salt, token_hash, send_attempts, "
            "answered, sent_at) SELECT $1, p.id, p.department_id, md5(p.id::text), md5(p.id::text || 'r'), 0, "
            "p.id % 5 <> 0, now() FROM person p WHERE p.organization_id = $2",
            round_id,
            organization_id,
        )
        await connection.execute(
            "INSERT INTO response (id, round_id, department_id, score_fear, score_initiative, score_consistency, "
            "score_collaboration, enps, answered_network, comment) "
            "SELECT gen_random_uuid(), $1, i.department_id, 100 * random(), 100 * random(), 100 * random(), "
            "100 * random(), floor(random() * 11)::smallint, i.id % 2 = 0, "
            "CASE WHEN i.id % 40 = 0 THEN 'A comment about the rota number ' || i.id END "
            "FROM invitation i WHERE i.round_id = $1 AND i.answered",
            round_id,
        )
        # Half the respondents answered the help question, naming two units anywhere in the organisation
        # (each mark counts for the unit the question offered them that holds it).
        await connection.execute(
            "INSERT INTO help_mark (id, response_id, round_id, department_id, helper_id) "
            "SELECT gen_random_uuid(), r.id, r.round_id, r.department_id, "
            "d.low + floor(random() * d.units)::int FROM response r "
            "CROSS JOIN generate_series(1, 2) AS mark "
            "CROSS JOIN (SELECT min(id) AS low, count(*) AS units FROM department WHERE organization_id = $2) AS d "
            "WHERE r.round_id = $1 AND r.answered_network ON CONFLICT DO NOTHING",
            round_id,
            organization_id,
        )
        return int(round_id)
    finally:
        await connection.close()


async def test_a_tree_of_100000_people_in_2000_units_on_postgresql(tmp_path: object) -> None:
    name = f"pulse_bench_tree_{random.randrange(16**8):08x}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    settings: Settings = make_settings(tmp_path, postgres_url(name))  # type: ignore[arg-type]
    try:
        await pulse_db.upgrade(settings)
        context = await pulse_db.init_db(settings)
        try:
            units = _units()
            assert len(units) == 2000 and max(u.count(" / ") for u in units) == 5
            org = await create_organization("tree", "Tree Corp")
            data = _csv(units)

            started = time.perf_counter()
            summary = await import_people(org, data)
            imported = time.perf_counter() - started
            print(f"\nimport of {PEOPLE} people in {len(units)} units: {imported:.2f} s", flush=True)
            assert summary.created == PEOPLE and summary.departments_created == 2000
            assert await Department.filter(organization=org, parent_id__isnull=True).count() == 5

            started = time.perf_counter()
            again = await import_people(org, data)
            reimported = time.perf_counter() - started
            assert again.unchanged == PEOPLE
            print(f"same file again: {reimported:.2f} s", flush=True)

            rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            round_id = await _round(postgres_url(name), org.id)
            tree = await load_units(org.id)
            rng = random.Random(12)
            candidates = [path for path in tree.tree if 2 <= len(path) <= 5]
            leaders = [
                User(
                    email=f"leader{i}@tree.test",
                    password_hash="-",
                    role=UserRole.LEADER,
                    organization=org,
                    unit_ids=sorted(tree.ids[p] for p in rng.sample(candidates, 1 + (i % 3 == 0))),
                )
                for i in range(LEADERS)
            ]
            await User.bulk_create(leaders)

            async def leaders_models() -> tuple[float, float, int]:
                """The organisation's model, then each leader's scope resolved and the model cut to it
                (what each leader's email job does): (organisation model s, all in all s, rows shown)."""
                started = time.perf_counter()
                model = await report_model(round_id)
                organisation = time.perf_counter() - started
                shown = 0
                for leader in await User.filter(organization=org, role=UserRole.LEADER):
                    scope_units = await load_units(org.id)
                    scope = list(minimal_scope(scope_units.paths[i] for i in leader.unit_ids or ()))
                    shown += len(scope_model(model, scope)["departments"])
                return organisation, time.perf_counter() - started, shown

            # Timed without tracemalloc (which slows allocation-heavy code several times over); the first
            # build draws the round's noise. Then once more under tracemalloc, for the peak of Python memory.
            organisation_model, total, shown = await leaders_models()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak RSS after the import: {rss_import:.0f} MB", flush=True)
            print(f"report model of the organisation: {organisation_model:.2f} s", flush=True)
            tracemalloc.start()
            _, traced, _ = await leaders_models()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"\nPostgreSQL: {PEOPLE} people in {len(units)} units, 6 levels: import {imported:.2f} s, "
                f"same file again {reimported:.2f} s; report model of the organisation {organisation_model:.2f} s, "
                f"with the models of {LEADERS} scoped leaders {total:.2f} s in all ({shown} unit rows shown); "
                f"peak RSS {rss:.0f} MB; peak Python memory {peak / 2**20:.0f} MB (a second pass, under tracemalloc: "
                f"{traced:.2f} s); "
                f"{await Person.filter(organization=org).count()} people stored"
            )
            assert imported < 10, f"import took {imported:.1f} s"
            assert total < 60, f"the leaders' report models took {total:.1f} s"
            assert peak < 400 * 2**20, f"peak Python memory {peak / 2**20:.0f} MB"
            assert rss < 400, f"peak RSS {rss:.0f} MB"
        finally:
            await pulse_db.close_db(context)
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

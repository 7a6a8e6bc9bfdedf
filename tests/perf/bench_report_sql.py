"""Benchmark: the report model of a round of 1,000,000 answers (100,000 responses x 10 items) over 200
departments on PostgreSQL, beside the bare SQL aggregation on the same data.

Run: .venv/bin/pytest tests/perf/bench_report_sql.py -p no:xdist -s -o 'norecursedirs=.*'

The data is generated inside PostgreSQL (INSERT ... SELECT generate_series) in a database created for
the run and dropped afterwards: 125,000 people and invitations, 100,000 responses with 1,000,000
answers and ~150,000 help marks in the round, and three earlier closed rounds of 100,000 responses each
for the trends. Then:

* bare SQL: the exact statements the report service sends (recorded from one build), replayed with
  asyncpg, rows fetched and nothing else;
* report model: `pulse.services.reports.report_model` (SQL + rows -> aggregates -> domain report ->
  JSON), with the process's peak RSS over the builds (ru_maxrss; the first build draws the round's
  noise, in a child process), then its peak Python memory (tracemalloc, in one more build).

Targets: the report model within twice the bare SQL; peak memory under 300 MB.
"""

from __future__ import annotations

import resource
import statistics
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from pulse import db as pulse_db
from pulse.domain.items import compose_pulse
from pulse.services import reports
from pulse.settings import Settings
from tests.conftest import POSTGRES_ADMIN_DSN, make_settings, postgres_url

DEPARTMENTS = 200
RESPONSES = 100_000
INVITED = 125_000
PREVIOUS_ROUNDS = 3


@pytest.fixture
async def big_round(tmp_path: Path) -> AsyncIterator[tuple[Settings, int, str]]:
    name = f"pulse_bench_report_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = make_settings(tmp_path, postgres_url(name))
    try:
        await pulse_db.upgrade(settings)
        started = time.perf_counter()
        round_id = await _generate(postgres_url(name))
        print(f"\ngenerated the data in {time.perf_counter() - started:.1f} s")
        context = await pulse_db.init_db(settings)
        try:
            yield settings, round_id, postgres_url(name)
        finally:
            await pulse_db.close_db(context)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _generate(dsn: str) -> int:
    keys = list(compose_pulse(PREVIOUS_ROUNDS + 1))
    connection = await asyncpg.connect(dsn)
    try:
        org = await connection.fetchval(
            "INSERT INTO organization (slug, name, timezone, min_group_size, comment_threshold, created_at) "
            "VALUES ('bench', 'Bench Corp', 'UTC', 5, 10, now()) RETURNING id"
        )
        await connection.execute(
            "INSERT INTO department (organization_id, name, created_at) "
            "SELECT $1, 'Department ' || lpad(i::text, 3, '0'), now() FROM generate_series(1, $2) AS i",
            org,
            DEPARTMENTS,
        )
        first_department = await connection.fetchval("SELECT min(id) FROM department WHERE organization_id = $1", org)
        await connection.execute(
            "INSERT INTO person (organization_id, email, name, role, locale, active, created_at, updated_at, "
            "department_id) SELECT $1, 'person' || i || '@bench.test', "
            "(ARRAY['Ada','Ben','Chloe','Dev','Elena','Farid','Grace','Hugo'])[1 + i % 8] || ' ' || "
            "(ARRAY['Adams','Berg','Costa','Dubois','Evans','Fischer','Garcia'])[1 + (i / 8) % 7] || i, "
            "CASE WHEN i % 5000 = 0 THEN 'leader' ELSE 'employee' END, 'en', true, now(), now(), "
            "$2 + i % $3 FROM generate_series(0, $4 - 1) AS i",
            org,
            first_department,
            DEPARTMENTS,
            INVITED,
        )
        round_ids = []
        for number in range(1, PREVIOUS_ROUNDS + 2):
            round_ids.append(
                await connection.fetchval(
                    "INSERT INTO round (organization_id, number, status, item_keys, opened_at, closes_at, "
                    "closed_at) VALUES ($1, $2, 'closed', $3::jsonb, now() - make_interval(days => $4), "
                    "now() - make_interval(days => $4 - 7), now() - make_interval(days => $4 - 7)) RETURNING id",
                    org,
                    number,
                    '["' + '","'.join(keys) + '"]',
                    14 * (PREVIOUS_ROUNDS + 2 - number),
                )
            )
        for round_id in round_ids:
            await connection.execute(
                "INSERT INTO invitation (round_id, person_id, department_id, token_salt, token_hash, send_attempts, "
                "answered, sent_at) SELECT $1, p.id, p.department_id, md5(p.id::text), md5(p.id::text || $3), "
                "0, false, now() FROM person p WHERE p.organization_id = $2",
                round_id,
                org,
                f"-{round_id}",
            )
            # Scores as the answering service stores them: 0-100, sometimes missing; eNPS 0-10.
            await connection.execute(
                "INSERT INTO response (id, round_id, department_id, score_fear, score_initiative, "
                "score_consistency, score_collaboration, enps, answered_network, comment) "
                "SELECT gen_random_uuid(), $1, $2 + i % $3, "
                "least(100, greatest(0, 40 + 18 * (random() - 0.5) * 2 + (i % $3) % 7)), "
                "CASE WHEN i % 50 = 0 THEN NULL ELSE least(100, greatest(0, 60 + 36 * (random() - 0.5))) END, "
                "least(100, greatest(0, 58 + 36 * (random() - 0.5))), "
                "least(100, greatest(0, 56 + 36 * (random() - 0.5))), "
                "floor(random() * 11)::smallint, i % 10 <> 0, "
                "CASE WHEN i % 20 = 0 THEN 'Comment number ' || i || ' about Ada Adams and the weekend rota' END "
                "FROM generate_series(0, $4 - 1) AS i",
                round_id,
                first_department,
                DEPARTMENTS,
                RESPONSES,
            )
        current = round_ids[-1]
        await connection.execute(
            "INSERT INTO answer (id, response_id, round_id, department_id, item_key, value) "
            "SELECT gen_random_uuid(), r.id, r.round_id, r.department_id, k, (1 + floor(random() * 5))::smallint "
            "FROM response r CROSS JOIN unnest($2::text[]) AS k WHERE r.round_id = $1",
            current,
            keys,
        )
        await connection.execute(
            "INSERT INTO help_mark (id, response_id, round_id, department_id, helper_id) "
            "SELECT gen_random_uuid(), r.id, r.round_id, r.department_id, "
            "$2 + (r.department_id - $2 + 1 + h) % $3 "
            "FROM response r CROSS JOIN generate_series(0, 2) AS h "
            "WHERE r.round_id = $1 AND r.answered_network AND random() < 0.5",
            current,
            first_department,
            DEPARTMENTS,
        )
        await connection.execute("ANALYZE")
        counts = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM answer) AS answers, (SELECT count(*) FROM response) AS responses, "
            "(SELECT count(*) FROM help_mark) AS marks, (SELECT count(*) FROM invitation) AS invitations"
        )
        print(f"\ndata: {dict(counts)}")
        return int(current)
    finally:
        await connection.close()


async def test_report_model_of_a_million_answers_against_the_bare_sql(
    big_round: tuple[Settings, int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings, round_id, dsn = big_round
    # Record the statements the service sends, to replay them bare.
    statements: list[tuple[str, list[Any]]] = []
    original_rows, original_tuples = reports._Sql.rows, reports._Sql.tuples

    async def recording_rows(self: reports._Sql, sql: str, params: Any) -> list[dict[str, Any]]:
        statements.append((self._placeholders(sql), list(params)))
        return await original_rows(self, sql, params)

    async def recording_tuples(self: reports._Sql, sql: str, params: Any) -> Any:
        statements.append((self._placeholders(sql), list(params)))
        return await original_tuples(self, sql, params)

    monkeypatch.setattr(reports._Sql, "rows", recording_rows)
    monkeypatch.setattr(reports._Sql, "tuples", recording_tuples)
    await reports.report_model(round_id)  # warm-up: caches, plans, the statements
    monkeypatch.undo()

    # Bare and model runs alternate, so both see the same load on a shared machine; best of five.
    connection = await asyncpg.connect(dsn)
    bare_times: list[float] = []
    model_times: list[float] = []
    model_cpu: list[float] = []
    try:
        for _ in range(5):
            started = time.perf_counter()
            for sql, params in statements:
                await connection.fetch(sql, *params)
            bare_times.append(time.perf_counter() - started)
            started, cpu = time.perf_counter(), time.process_time()
            model = await reports.report_model(round_id)
            model_times.append(time.perf_counter() - started)
            model_cpu.append(time.process_time() - cpu)
    finally:
        await connection.close()
    # The process's peak RSS before tracemalloc starts: tracemalloc's own bookkeeping (a traceback per
    # allocation) adds some 90 MB of its own to the process.
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    await reports.report_model(round_id)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    traced_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    bare, best = min(bare_times), min(model_times)
    shown = sum(1 for d in model["departments"] if not d["suppressed"])
    print(
        f"\nbare SQL ({len(statements)} statements): best {bare:.2f} s, median {statistics.median(bare_times):.2f} s"
        f"\nreport model: best {best:.2f} s, median {statistics.median(model_times):.2f} s; "
        f"Python CPU per build {min(model_cpu):.2f} s (the rest is waiting for PostgreSQL)"
        f"\nratio model / bare SQL: best {best / bare:.2f}, median "
        f"{statistics.median(model_times) / statistics.median(bare_times):.2f} (target <= 2)"
        f"\npeak Python memory (tracemalloc): {peak / 1e6:.1f} MB; peak RSS of the process over six builds: "
        f"{rss_mb:.0f} MB (target < 300 MB; {traced_rss_mb:.0f} MB once tracemalloc runs)"
        f"\n{shown} of {len(model['departments'])} departments shown, responded {model['participation']['responded']}"
    )
    # The released count carries privacy noise: 200 departments' integer noise of scale 0.5 adds up
    # to a few responses either way.
    assert abs(model["participation"]["responded"] - RESPONSES) <= 100
    assert len(model["departments"]) == DEPARTMENTS

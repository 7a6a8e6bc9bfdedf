"""Benchmark: the minute tick with 100 organisations of 200 people each (20,000 people).

Run: .venv/bin/pytest tests/perf/bench_tick.py -p no:xdist -s -o norecursedirs=

Figures: the tick that opens all 100 scheduled rounds (20,000 invitations written, sending queued),
then an idle tick with those 100 rounds open (what every minute costs: due checks, late joiners,
unsent invitations), then the tick that closes the 100 rounds (storage shuffle, reports queued).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from pulse import clock
from pulse import db as pulse_db
from pulse.models import Department, Invitation, Person
from pulse.services import cadence, schedules
from pulse.services.organizations import create_organization
from pulse.settings import Settings, configure

ORGANISATIONS = 100
PEOPLE = 200


class Queue:
    def __init__(self) -> None:
        self.jobs = 0

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_by: float = 0) -> bool:
        self.jobs += 1
        return True


async def test_tick_with_100_organisations(bench_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [datetime(2026, 3, 1, 12, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    await pulse_db.upgrade(bench_settings)
    configure(bench_settings)
    context = await pulse_db.init_db(bench_settings)
    try:
        for index in range(ORGANISATIONS):
            organization = await create_organization(f"org-{index}", f"Org {index}", timezone="Europe/Paris")
            departments = [await Department.create(organization=organization, name=f"D{d}") for d in range(5)]
            await Person.bulk_create(
                [
                    Person(
                        organization=organization,
                        email=f"p{i}@org{index}.test",
                        name=f"P {i}",
                        department=departments[i % 5],
                    )
                    for i in range(PEOPLE)
                ]
            )
            await schedules.add_schedule(
                organization.slug, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9", start="2026-03-02T00:00", open_days=5
            )
        # The benchmark's clock is patched; rows stamped by the database's own clock must not look newer.
        await Person.all().update(updated_at=now[0])
        dialect = "PostgreSQL" if bench_settings.is_postgres else "SQLite"
        figures = []
        for label, moment in [
            ("opens 100 rounds", datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC)),
            ("idle, 100 rounds open", datetime(2026, 3, 2, 8, 1, tzinfo=UTC)),
            ("closes 100 rounds", datetime(2026, 3, 7, 8, 0, tzinfo=UTC)),
            ("idle, nothing open", datetime(2026, 3, 7, 8, 1, tzinfo=UTC)),
        ]:
            now[0] = moment
            if label.startswith("idle, 100"):
                await Invitation.all().update(sent_at=now[0])
            queue = Queue()
            started = time.perf_counter()
            result = await cadence.tick(queue)
            figures.append((label, time.perf_counter() - started, queue.jobs, result))
        assert len(figures[0][3].opened) == ORGANISATIONS and len(figures[2][3].closed) == ORGANISATIONS
        for label, seconds, jobs, _ in figures:
            print(f"\n{dialect}: tick {label}: {seconds:.2f} s, {jobs} jobs queued")
    finally:
        await pulse_db.close_db(context)
        configure(None)

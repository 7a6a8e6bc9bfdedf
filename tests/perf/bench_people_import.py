"""Benchmark: importing 50,000 people; the same file again; 10% moved; everyone moved; half deactivated.

Run: .venv/bin/pytest -p no:xdist -s tests/perf/bench_people_import.py   (or: make bench)
"""

from __future__ import annotations

import time

from pulse import db as pulse_db
from pulse.models import Person
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.settings import Settings

PEOPLE = 50_000
DEPARTMENTS = 120
ROLES = ["employee", "employee", "employee", "manager", "leader", "hr"]


def _csv(shift: int = 0, changed_every: int = 0) -> bytes:
    lines = ["email,name,department,manager_email,role,locale"]
    for i in range(PEOPLE):
        department = i % DEPARTMENTS
        if changed_every and i % changed_every == 0:
            department = (department + shift) % DEPARTMENTS
        manager = f"person{i - i % 10}@example.org" if i % 10 else ""
        lines.append(f"person{i}@example.org,Person Number {i},Department {department:03d},{manager},{ROLES[i % 6]},en")
    return ("\n".join(lines) + "\n").encode()


async def test_import_50000_people(bench_settings: Settings) -> None:
    await pulse_db.upgrade(bench_settings)
    context = await pulse_db.init_db(bench_settings)
    try:
        org = await create_organization("bench", "Bench")
        data, changed = _csv(), _csv(shift=1, changed_every=10)
        dialect = "PostgreSQL" if bench_settings.is_postgres else "SQLite"

        started = time.perf_counter()
        first = await import_people(org, data)
        fresh = time.perf_counter() - started
        assert first.created == PEOPLE

        started = time.perf_counter()
        again = await import_people(org, data)
        same = time.perf_counter() - started
        assert again.unchanged == PEOPLE

        started = time.perf_counter()
        moved = await import_people(org, changed)
        tenth = time.perf_counter() - started
        assert moved.updated == PEOPLE // 10

        started = time.perf_counter()
        everyone = await import_people(org, _csv(shift=2, changed_every=1))
        all_moved = time.perf_counter() - started
        assert everyone.updated == PEOPLE

        started = time.perf_counter()
        half = await import_people(
            org, _csv(shift=2, changed_every=1)[: len(data) // 2].rsplit(b"\n", 1)[0], deactivate_missing=True
        )
        deactivated = time.perf_counter() - started
        assert half.deactivated > PEOPLE // 3

        assert await Person.filter(organization=org).count() == PEOPLE
        print(
            f"\n{dialect}: {PEOPLE} people, {DEPARTMENTS} departments: first import {fresh:.2f} s, "
            f"same file again {same:.2f} s, 10% moved {tenth:.2f} s, everyone moved {all_moved:.2f} s, "
            f"half the file with --deactivate-missing {deactivated:.2f} s ({half.deactivated} deactivated)"
        )
    finally:
        await pulse_db.close_db(context)

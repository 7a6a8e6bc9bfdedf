"""Benchmark: leaders' report PDFs rendered by the worker, several at once, none holding the others up.

Run: .venv/bin/pytest -p no:xdist -p no:randomly -s tests/perf/bench_pdf_workers.py   (or: make bench)

An organisation of 36 stores in 9 regions under 3 divisions (the domain simulation, two rounds). Each
leader's PDF is their scope cut from the organisation's model (``pulse.domain.scoped_report``).

1. The render processes alone (``pulse.pdf.PdfProcesses``): 12 leaders' PDFs (the 9 regions and the 3
   divisions) one after another in this process, as a worker without processes renders them, then all
   at once in 2 processes; and how long a small report waits when asked for just after the whole
   organisation's (the longest), in a thread of one process against in the processes.
2. The real worker (arq on the local Redis, PostgreSQL, a counting SMTP server), PDFs attached: the
   12 leaders' emails from ``email_report`` (one ``email_leaders`` job per scope) with
   ``PULSE_PDF_PROCESSES=0`` (a thread of the worker) and with 2 processes: the time until the last
   email, and until the first.

Figures are printed, not asserted (a shared 2-core machine); the PDFs and emails are checked.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from pulse import pdf
from pulse.domain.report import build_report
from pulse.domain.scoped_report import scope_model
from pulse.domain.simulation import DepartmentSpec
from pulse.domain.units import UnitPath
from pulse.services.demo import simulated_report_input

DIVISIONS = ("Retail", "Operations", "Service")
REGIONS = 3
STORES = 4


def _specs() -> list[DepartmentSpec]:
    specs = []
    for d, division in enumerate(DIVISIONS):
        for r in range(REGIONS):
            for s in range(STORES):
                index = (d * REGIONS + r) * STORES + s
                problems = {"fear": 18.0} if index % 7 == 3 else {}
                name = f"{division} / Region {r + 1} / Store {s + 1}"
                specs.append(DepartmentSpec(name, 12 + index % 9, 0.85, problems))
    return specs


def _scopes() -> list[list[UnitPath]]:
    regions = [[(division, f"Region {r + 1}")] for division in DIVISIONS for r in range(REGIONS)]
    return [*regions, *([(division,)] for division in DIVISIONS)]


@pytest.fixture(scope="module")
def organisation_model() -> dict[str, Any]:
    return build_report(simulated_report_input(_specs(), rounds=2)).to_json()


async def test_render_processes_against_one_thread(organisation_model: dict[str, Any]) -> None:
    models = [scope_model(organisation_model, scope) for scope in _scopes()]
    pdf.render_pdf_sync(models[0])  # fonts and WeasyPrint loaded in this process first
    print(f"\n{len(models)} leaders' PDFs, {os.cpu_count()} cores")

    started = time.perf_counter()
    for model in models:
        assert pdf.render_in_process(model, "en").startswith(b"%PDF")
    one_by_one = time.perf_counter() - started
    print(f"one after another in this process: {one_by_one:.1f} s ({one_by_one / len(models):.2f} s each)")

    processes = pdf.PdfProcesses(2)
    try:
        await asyncio.gather(processes.render(models[0], "en"), processes.render(models[1], "en"))  # spawned, warm
        started = time.perf_counter()
        documents = await asyncio.gather(*(processes.render(model, "en") for model in models))
        at_once = time.perf_counter() - started
        assert all(d.startswith(b"%PDF") for d in documents)
        print(f"all at once in 2 processes: {at_once:.1f} s ({one_by_one / at_once:.2f} times faster)")

        # A small report asked for just after the whole organisation's.
        small = models[0]
        for label, render in (
            ("a thread of this process", _in_thread),
            ("2 processes", processes.render),
        ):
            started = time.perf_counter()
            long_job = asyncio.create_task(_timed(render, organisation_model, started))
            await asyncio.sleep(0.2)
            small_done = await _timed(render, small, started)
            long_done = await long_job
            print(
                f"in {label}: the organisation's PDF ready after {long_done:.1f} s, a region's asked for "
                f"0.2 s later ready after {small_done:.1f} s"
            )
    finally:
        processes.close()


async def _in_thread(model: dict[str, Any], locale: str) -> bytes:
    return await asyncio.to_thread(pdf.render_in_process, model, locale)


async def _timed(render: Any, model: dict[str, Any], started: float) -> float:
    assert (await render(model, "en")).startswith(b"%PDF")
    return time.perf_counter() - started


# ---------------------------------------------------------------- the real worker


@pytest.mark.parametrize("processes", [0, 2])
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")  # arq's, at shutdown
async def test_the_worker_emails_every_leader_their_pdf(processes: int, tmp_path: Path) -> None:
    import logging

    from pulse import db as pulse_db
    from pulse.models import Department, Organization, User, UserRole
    from pulse.services import reports
    from tests.conftest import make_settings, postgres_admin, postgres_url
    from tests.services.test_reports import seed_round
    from tests.workers.harness import run_burst
    from workers.queue import ArqQueue

    sink = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("smtp_sink.py")), stdout=asyncio.subprocess.PIPE
    )
    assert sink.stdout is not None
    port = int((await sink.stdout.readline()).decode())
    name = f"pulse_bench_pdfw_{uuid.uuid4().hex[:8]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    settings = make_settings(
        tmp_path,
        postgres_url(name),
        PULSE_REDIS_URL="redis://127.0.0.1:6379/0",
        PULSE_SMTP_URL=f"smtp://127.0.0.1:{port}",
        PULSE_QUEUE_NAME=f"pulse:bench:{uuid.uuid4().hex[:8]}",
        PULSE_ATTACH_REPORT_PDF="1",
        PULSE_PDF_PROCESSES=str(processes),
    )
    finished: list[float] = []

    class Stamps(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if getattr(record, "job", None) == "email_leaders" and record.msg == "job done":
                finished.append(time.perf_counter())

    handler = Stamps()
    try:
        await pulse_db.upgrade(settings)
        context = await pulse_db.init_db(settings)
        try:
            organization = await Organization.create(slug="tree", name="Tree Retail")
            specs = _specs()
            departments = {s.name: await Department.create(organization=organization, name=s.name) for s in specs}
            round_, _ = await seed_round(organization, departments, 1, seed=5, specs=specs)
            units = {name: d.id for name, d in departments.items()}
            for i, scope in enumerate(_scopes()):
                ids = sorted(unit for path, unit in units.items() if path.startswith(" / ".join(scope[0]) + " /"))
                await User.create(
                    email=f"leader{i}@tree.test",
                    password_hash="-",
                    role=UserRole.LEADER,
                    organization=organization,
                    unit_ids=ids,
                )
            await reports.build_report(round_.id, settings)
            assert settings.redis_url is not None
            queue = await ArqQueue.connect(settings.redis_url, settings.queue_name)
            await queue.enqueue("email_report", round_.id, job_id=f"report-mail:{round_.id}")
            await queue.close()
            logging.getLogger("pulse.jobs").addHandler(handler)
            logging.getLogger("pulse.jobs").setLevel(logging.INFO)
            started = time.perf_counter()
            worker = await run_burst(settings, retry_base_seconds=0.2)
            total = time.perf_counter() - started
            assert worker.jobs_failed == 0 and len(finished) == len(_scopes())
            first, last = min(finished) - started, max(finished) - started
            print(
                f"\nworker, PULSE_PDF_PROCESSES={processes}: {len(finished)} leaders emailed their PDF, the first "
                f"after {first:.1f} s, the last after {last:.1f} s (the burst {total:.1f} s)"
            )
        finally:
            logging.getLogger("pulse.jobs").removeHandler(handler)
            await pulse_db.close_db(context)
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        sink.terminate()
        out, _ = await sink.communicate()
        print(f"the SMTP sink counted {out.decode().split()[-1]} messages")

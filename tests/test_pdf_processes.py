"""Report PDFs laid out in processes of their own (``pulse.pdf.PdfProcesses``, what ``pulse worker`` uses):
several at once, a long one holding up nobody, a process that dies replaced."""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest

from pulse import pdf
from pulse.domain.report import build_report
from pulse.services.demo import scaled_departments, simulated_report_input
from workers.jobs import transient


def _model(departments: int) -> dict[str, Any]:
    return build_report(simulated_report_input(scaled_departments(departments), rounds=1)).to_json()


def _text(document: bytes) -> str:
    import subprocess

    done = subprocess.run(["pdftotext", "-", "-"], input=document, capture_output=True, check=True)
    return " ".join(done.stdout.decode().split())


async def test_a_long_render_holds_up_no_other_and_each_runs_in_its_own_process() -> None:
    long_model, short_model = _model(40), _model(2)
    processes = pdf.PdfProcesses(2)
    try:
        finished: list[str] = []

        async def render(name: str, model: dict[str, Any], locale: str) -> bytes:
            document = await processes.render(model, locale)
            finished.append(name)
            return document

        long_job = asyncio.create_task(render("long", long_model, "en"))
        await asyncio.sleep(0.5)  # the long one is under way first
        short_one = await render("short", short_model, "fr")
        # The short report, asked for after the long one, came back first: the long one did not hold it up.
        assert finished == ["short"]
        long_one = await long_job
        assert finished == ["short", "long"]
        assert short_one.startswith(b"%PDF") and long_one.startswith(b"%PDF")
        assert "Team 40" in _text(long_one) and "Team 40" not in _text(short_one)
        # Rendered in the language asked for, not the caller's.
        assert "personnes ont répondu" in _text(short_one) and "people answered" in _text(long_one)
    finally:
        processes.close()


async def test_a_render_process_that_dies_fails_its_render_as_transient_and_the_next_gets_a_new_one() -> None:
    model = _model(2)
    processes = pdf.PdfProcesses(1)
    try:
        assert (await processes.render(model, "en")).startswith(b"%PDF")  # the process is up
        render = asyncio.create_task(processes.render(_model(40), "en"))
        await asyncio.sleep(0.5)
        executor: Any = processes._executor
        for process in list(executor._processes.values()):
            os.kill(process.pid, signal.SIGKILL)  # killed for memory, say
        with pytest.raises(BrokenProcessPool) as failure:
            await render
        assert transient(failure.value)  # the job retries it, with backoff
        assert (await processes.render(model, "en")).startswith(b"%PDF")
    finally:
        processes.close()


async def test_render_pdf_uses_the_processes_when_started_and_a_thread_otherwise() -> None:
    model = _model(2)
    started = pdf.start_processes(1)
    try:
        assert started is not None and pdf._processes is started
        executor: Any = started._executor
        assert len(executor._processes) == 1  # started at once (warmed up), not on the first report's time
        in_process = await pdf.render_pdf(model, locale="de")
    finally:
        pdf.stop_processes()
    assert pdf._processes is None and pdf.start_processes(0) is None
    in_thread = await pdf.render_pdf(model, locale="de")
    assert _text(in_process) == _text(in_thread)

"""The job wrapper: one structured log line per try; transient failures become retries with backoff."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from typing import Any

import pytest
from arq import Retry

from pulse import logs
from pulse.mail import MailDeliveryError
from pulse.settings import Settings
from workers.jobs import backoff, job, transient


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (MailDeliveryError("451 try later", transient=True), True),
        (MailDeliveryError("550 no such user", transient=False), False),
        (ConnectionRefusedError(111, "refused"), True),
        (sqlite3.OperationalError("database is locked"), True),
        (ValueError("bad round id"), False),
        (FileNotFoundError("template"), False),
    ],
)
def test_transient_failures_are_told_apart_from_bugs(error: Exception, expected: bool) -> None:
    assert transient(error) is expected


def test_a_transient_cause_makes_the_wrapping_error_transient() -> None:
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError as cause:
            raise RuntimeError("query failed") from cause
    except RuntimeError as wrapped:
        assert transient(wrapped)


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    assert [backoff({"job_try": n}) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff({"job_try": 30}) == 300.0
    assert backoff({"job_try": 2, "retry_base_seconds": 0.5}) == 1.0


async def test_each_try_logs_one_json_line_with_what_how_long_and_the_outcome(sqlite_settings: Settings) -> None:
    calls: list[int] = []

    @job
    async def send_things(ctx: dict[str, Any], round_id: int) -> dict[str, int]:
        calls.append(round_id)
        if len(calls) == 1:
            raise MailDeliveryError("cannot reach the SMTP server", transient=True)
        if len(calls) == 2:
            raise ValueError("a bug")
        return {"sent": 3}

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    logs.setup(sqlite_settings, stream)
    try:
        with pytest.raises(Retry) as retry:
            await send_things({"job_id": "things:7", "job_try": 1, "retry_base_seconds": 2}, 7)
        assert retry.value.defer_score == 2000
        with pytest.raises(ValueError, match="a bug"):
            await send_things({"job_id": "things:7", "job_try": 2}, 7)
        assert await send_things({"job_id": "things:7", "job_try": 3}, round_id=7) == {"sent": 3}
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["message"], line["outcome"], line["try"]) for line in lines] == [
        ("job retry", "retry", 1),
        ("job failed", "failed", 2),
        ("job done", "ok", 3),
    ]
    assert all(line["job"] == "send_things" and line["round_id"] == 7 for line in lines)
    assert all(isinstance(line["seconds"], float) for line in lines)
    assert lines[0]["reason"] == "MailDeliveryError: cannot reach the SMTP server" and lines[0]["retry_in"] == 2.0
    assert "ValueError: a bug" in lines[1]["error"]
    assert lines[2]["result"] == {"sent": 3} and lines[2]["level"] == "INFO"

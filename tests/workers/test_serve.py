"""`pulse serve` without Redis runs the same tick in-process, every minute."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pulse import clock
from pulse.cli import serve
from pulse.models import Invitation, Round
from pulse.services import schedules
from pulse.settings import Settings
from pulse.web import app as web_app
from tests.workers.harness import environment, free_port, organisation, wait_for
from workers.queue import InProcessQueue


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    now = [datetime(2026, 3, 1, 12, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    return now


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Install the serve hooks on copies of the hook lists, so other tests' apps do not tick."""
    monkeypatch.setattr(web_app, "STARTUP_HOOKS", list(web_app.STARTUP_HOOKS))
    monkeypatch.setattr(web_app, "SHUTDOWN_HOOKS", list(web_app.SHUTDOWN_HOOKS))
    serve.install_tick_hooks()
    serve.install_tick_hooks()  # twice changes nothing
    assert web_app.STARTUP_HOOKS.count(serve.start_tick) == 1


async def test_the_in_process_tick_opens_a_due_round_and_sends_its_invitations_to_the_outbox(
    sqlite_db: Settings, moment: list[datetime]
) -> None:
    await organisation(4)
    await schedules.add_schedule("acme", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", start="2026-03-02T00:00")
    queue = InProcessQueue(sqlite_db, {"mailer": None})
    from pulse.mail import mailer_for

    queue.context["mailer"] = mailer_for(sqlite_db)
    loop = asyncio.create_task(serve.tick_loop(queue, interval=0.05))
    try:
        moment[0] = datetime(2026, 3, 2, 8, 0, 10, tzinfo=UTC)
        await wait_for(lambda: _sent(5), timeout=20)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await queue.drain()
    opened = await Round.get()
    assert opened.occurrence_at == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert len(list(sqlite_db.outbox_dir.glob("*.eml"))) == 5
    assert queue.failures == []
    assert await Round.all().count() == 1  # many ticks, one round


async def test_the_web_lifespan_ticks_only_without_redis(
    sqlite_db: Settings, hooks: None, redis_url: str, queue_name: str
) -> None:
    app = web_app.create_app(sqlite_db, manage_database=False)
    async with app.router.lifespan_context(app) as state:
        state_map: dict[str, Any] = dict(state or {})
        task = state_map["tick_task"]
        assert isinstance(task, asyncio.Task) and not task.done()
        assert isinstance(state_map["queue"], InProcessQueue)
    assert task.cancelled()
    with_redis = sqlite_db.with_overrides(redis_url=redis_url, queue_name=queue_name)
    app = web_app.create_app(with_redis, manage_database=False)
    async with app.router.lifespan_context(app) as state:
        assert "tick_task" not in dict(state or {})  # the workers tick


LEAKY_TOKEN = "tokenThatMustNeverBeLogged123"


def test_pulse_serve_answers_and_says_it_ticks_in_process(sqlite_settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "serve.log"
    executable = Path(sys.executable).parent / "pulse"
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            [str(executable), "serve", "--port", str(port)],
            env=environment(sqlite_settings),
            stdout=sink,
            stderr=sink,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    assert json.loads(answer.read()) == {"status": "ok"}
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        # A survey link (unknown here: 404) must reach the access log without its token or the client.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/s/{LEAKY_TOKEN}", timeout=5)
        except urllib.error.HTTPError as refused:
            assert refused.code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit status -SIGTERM).
    assert process.returncode in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert any(m.startswith("in-process tick started") for m in messages)
    assert "Application shutdown complete." in messages
    assert any(line.get("job") == "tick" and line.get("outcome") == "ok" for line in lines)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert LEAKY_TOKEN not in log_file.read_text()
    survey_lines = [m for m in messages if "/s/" in m]
    assert survey_lines and all("/s/[link]" in m and "127.0.0.1" not in m for m in survey_lines), survey_lines


async def _sent(count: int) -> bool:
    return await Invitation.filter(sent_at__isnull=False).count() >= count

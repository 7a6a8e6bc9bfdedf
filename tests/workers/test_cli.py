"""`pulse schedule …` and `pulse worker --check` as a user runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pulse.cli import main
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.settings import Settings
from tests.conftest import SECRET


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def acme(sqlite_settings: Settings) -> Settings:
    from pulse.db import database

    async def setup() -> None:
        async with database(sqlite_settings):
            organization = await create_organization("acme", "Acme", timezone="Europe/Paris")
            # Ten people: a schedule's rounds may be scoped to Sales (twice the minimum group size).
            people = "".join(f"s{i}@acme.test,S {i},Sales\n" for i in range(10))
            await import_people(organization, f"email,name,department\n{people}".encode())

    asyncio.run(setup())
    return sqlite_settings


def test_schedule_add_list_pause_resume_remove(acme: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        [
            "schedule",
            "add",
            "acme",
            "--rrule",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9",
            "--start",
            "2030-03-04T00:00",
            "--open-days",
            "5",
            "--remind-after-days",
            "2",
            "--departments",
            "Sales",
        ],
        capsys,
    )
    assert code == 0, err
    assert "added schedule 1 for acme" in out
    assert "Mon 2030-03-04 09:00 Europe/Paris (2030-03-04 08:00 UTC) → closes Sat 2030-03-09 09:00" in out
    assert "Mon 2030-04-01 09:00 Europe/Paris (2030-04-01 07:00 UTC)" in out  # after the change to summer time
    code, out, _ = run(["schedule", "list", "acme", "--json"], capsys)
    listed = json.loads(out)
    assert code == 0 and listed[0]["next_run_local"] == "2030-03-04T09:00:00" and listed[0]["departments"] == ["Sales"]
    code, out, _ = run(["schedule", "preview", "1", "--count", "2", "--json"], capsys)
    assert code == 0 and [o["local"] for o in json.loads(out)] == ["2030-03-04T09:00:00", "2030-03-18T09:00:00"]
    assert run(["schedule", "pause", "1"], capsys)[:2] == (0, "paused schedule 1\n")
    assert "paused" in run(["schedule", "list", "acme"], capsys)[1]
    assert run(["schedule", "resume", "1"], capsys)[0] == 0
    assert run(["schedule", "remove", "1"], capsys)[:2] == (0, "removed schedule 1\n")
    assert "acme has no schedule" in run(["schedule", "list", "acme"], capsys)[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rrule", "FREQ=HOURLY"], "pulse: error: FREQ=HOURLY is not supported"),
        (["--rrule", "FREQ=WEEKLY;BYDAY=MO", "--open-days", "3", "--remind-after-days", "4"], "a reminder after 4"),
        (["--rrule", "FREQ=WEEKLY", "--departments", "Nope"], "unknown department in 'acme': 'Nope'"),
        (["--rrule", "FREQ=WEEKLY", "--start", "soon"], "start 'soon' is not a local date/time"),
    ],
)
def test_schedule_add_refuses_bad_input_in_one_line(
    acme: Settings, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(["schedule", "add", "acme", *args], capsys)
    assert code == 1 and out == ""
    assert message in err and err.count("\n") == 1


def test_schedule_preview_of_a_rule_in_a_time_zone(
    sqlite_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [
            "schedule",
            "preview",
            "--rrule",
            "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=10",
            "--timezone",
            "America/New_York",
            "--start",
            "2030-01-01T00:00",
            "--count",
            "3",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    shown = json.loads(out)
    assert len(shown) == 3 and all(o["local"].endswith("T10:00:00") for o in shown)
    code, _, err = run(["schedule", "preview", "--rrule", "FREQ=WEEKLY", "--timezone", "Nowhere/City"], capsys)
    assert code == 1 and "unknown time zone 'Nowhere/City'" in err


def _pulse(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "pulse"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "PULSE_DATABASE_URL": settings.database_url,
        "PULSE_SECRET_KEY": SECRET,
        "PULSE_VAR_DIR": str(settings.var_dir),
        **extra,
    }


def test_worker_check_says_what_does_not_answer(sqlite_settings: Settings, redis_url: str) -> None:
    healthy = _pulse(_env(sqlite_settings, PULSE_REDIS_URL=redis_url), "worker", "--check")
    assert healthy.returncode == 0, healthy.stderr
    dead_redis = _pulse(_env(sqlite_settings, PULSE_REDIS_URL="redis://127.0.0.1:1/0"), "worker", "--check")
    assert dead_redis.returncode == 1
    assert dead_redis.stderr.startswith("pulse worker: unhealthy: Redis at redis://127.0.0.1:1/0 does not answer")
    assert dead_redis.stderr.count("\n") == 1


async def test_worker_check_names_a_database_that_does_not_answer(sqlite_settings: Settings, redis_url: str) -> None:
    from pulse.cli.worker import health

    broken = sqlite_settings.with_overrides(redis_url=redis_url, database_url="postgres://postgres@127.0.0.1:1/none")
    problem = await health(broken)
    assert problem is not None and problem.startswith("PostgreSQL does not answer: ")
    assert await health(sqlite_settings.with_overrides(redis_url=redis_url)) is None


def test_worker_without_redis_says_so_in_one_line(
    sqlite_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["worker"], capsys)
    assert code == 1 and out == ""
    assert err.startswith("pulse: error: PULSE_REDIS_URL is not set: `pulse worker` needs Redis")
    assert err.count("\n") == 1


def test_worker_burst_runs_what_is_queued_then_exits(sqlite_settings: Settings, tmp_path: Path) -> None:
    from tests.workers.harness import RedisServer, enqueue

    redis = RedisServer(tmp_path)
    redis.start()
    try:
        settings = sqlite_settings.with_overrides(redis_url=redis.url, queue_name="pulse:burst")
        assert asyncio.run(enqueue(settings, "tick", job_id="tick:burst"))
        env = _env(sqlite_settings, PULSE_REDIS_URL=redis.url, PULSE_QUEUE_NAME="pulse:burst")
        done = _pulse(env, "worker", "--burst")
    finally:
        redis.stop()
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    ticks = [line for line in lines if line.get("job") == "tick" and line.get("job_id") == "pulse:burst:tick:burst"]
    assert ticks and ticks[0]["outcome"] == "ok"

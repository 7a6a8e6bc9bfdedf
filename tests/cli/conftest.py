"""Fixtures for running the real ``pulse`` console script in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SECRET

PULSE = Path(sys.executable).parent / "pulse"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


Pulse = Callable[..., Run]


def pulse_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The parent's environment without any PULSE_* variable, plus this test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(PULSE_VAR_DIR=str(tmp_path / "var"), PULSE_DATABASE_URL=database_url, PULSE_SECRET_KEY=SECRET)
    return env


def run_pulse(env: dict[str, str], *args: str, cwd: Path | None = None) -> Run:
    done = subprocess.run(
        [str(PULSE), *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def pulse(tmp_path: Path) -> Pulse:
    """``pulse(*args)`` runs the console script against a SQLite file of its own under tmp_path."""
    env = pulse_env(tmp_path, f"sqlite://{tmp_path / 'pulse.sqlite3'}")

    def run(*args: str) -> Run:
        return run_pulse(env, *args, cwd=tmp_path)

    return run

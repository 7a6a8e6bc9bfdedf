"""A real server for end-to-end, browser and benchmark runs: uvicorn in a subprocess, on a port the
test bound itself (port 0, handed over as a file descriptor, so parallel runs never collide)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from pulse.settings import PROJECT_ROOT, Settings

PYTHON = sys.executable


def pulse_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a subprocess needs to load exactly ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULSE_")}
    env.update(
        {
            "PULSE_DATABASE_URL": settings.database_url,
            "PULSE_SECRET_KEY": settings.secret_key,
            "PULSE_BASE_URL": settings.base_url,
            "PULSE_MAIL_FROM": settings.mail_from,
            "PULSE_VAR_DIR": str(settings.var_dir),
            "PULSE_QUEUE_NAME": settings.queue_name,
            "PULSE_LOG_LEVEL": "WARNING",
        }
    )
    if settings.redis_url:
        env["PULSE_REDIS_URL"] = settings.redis_url
    if settings.smtp is not None:
        env["PULSE_SMTP_URL"] = f"smtp://{settings.smtp.host}:{settings.smtp.port}"
    env.update(extra)
    return env


async def run_pulse(env: Mapping[str, str], *args: str, timeout: float = 120) -> tuple[int, str, str]:
    """Run the real ``pulse`` command; the event loop keeps serving (e.g. the test's SMTP server)."""
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-c",
        "from pulse.cli import main; main()",
        *args,
        env=dict(env),
        cwd=str(PROJECT_ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    return int(process.returncode or 0), out.decode(), err.decode()


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int


@contextlib.asynccontextmanager
async def serve(
    env: Mapping[str, str], *, workers: int = 1, log: Path | None = None, listener: socket.socket | None = None
) -> AsyncIterator[str]:
    """``uvicorn pulse.web.app:create_app`` on a free loopback port; yields its base URL.

    Pass ``listener`` (from ``bind_loopback``) when the environment must name the URL beforehand
    (PULSE_BASE_URL for a single sign-on redirect URI)."""
    async with serve_process(env, workers=workers, log=log, listener=listener) as server:
        yield server.base_url


def bind_loopback() -> socket.socket:
    """A listening socket on a free loopback port (its URL: ``http://127.0.0.1:{getsockname()[1]}``)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    return listener


@contextlib.asynccontextmanager
async def serve_process(
    env: Mapping[str, str], *, workers: int = 1, log: Path | None = None, listener: socket.socket | None = None
) -> AsyncIterator[Server]:
    """Like ``serve``, yielding the process id too (benchmarks measure its CPU time)."""
    listener = listener or bind_loopback()
    port = listener.getsockname()[1]
    output = open(log, "wb") if log is not None else None  # noqa: SIM115 - closed below
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "uvicorn",
        "--factory",
        "pulse.web.app:create_app",
        "--fd",
        str(listener.fileno()),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
        env=dict(env),
        cwd=str(PROJECT_ROOT),
        pass_fds=(listener.fileno(),),
        stdout=output or asyncio.subprocess.DEVNULL,
        stderr=output or asyncio.subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
            for _ in range(300):
                if process.returncode is not None:
                    raise RuntimeError(f"uvicorn exited with {process.returncode}")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("uvicorn did not answer /healthz within 15 s")
        yield Server(base_url, process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        listener.close()
        if output is not None:
            output.close()


@contextlib.asynccontextmanager
async def pulse_serve(env: Mapping[str, str], log: Path, *args: str) -> AsyncIterator[str]:
    """The real ``pulse serve`` command (its own uvicorn settings, its JSON logs in ``log``) on a free
    loopback port; yields its base URL. ``serve`` above runs uvicorn directly, for many workers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            str(Path(PYTHON).parent / "pulse"),
            "serve",
            "--port",
            str(port),
            *args,
            env=dict(env),
            cwd=str(PROJECT_ROOT),
            stdout=sink,
            stderr=sink,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
            for _ in range(600):
                if process.returncode is not None:
                    raise RuntimeError(f"pulse serve exited with {process.returncode}: {log.read_text()[-2000:]}")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("pulse serve did not answer /healthz within 30 s")
        yield base_url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


def log_lines(log: Path) -> list[dict[str, object]]:
    """The JSON lines of a ``pulse serve`` or ``pulse worker`` log."""
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]

"""What the worker and fault tests share: a private redis-server, a burst worker, a small organisation.

Each test gets its own redis-server process: arq keeps job ids (``invite:1``…) and results in global
keys, so tests that all start from round 1 must not share a Redis; a private one can also be
stopped and started again for real.
"""

from __future__ import annotations

import asyncio
import email.message
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

from arq.connections import RedisSettings
from arq.worker import Worker, create_worker

from pulse.models import Department, Organization, Person, PersonRole
from pulse.services.organizations import create_organization
from pulse.settings import Settings
from tests.conftest import SmtpCapture
from tests.e2e.server import pulse_env
from workers.queue import ArqQueue, arq_job_id
from workers.settings import WorkerSettings

#: arq (through redis-py 5) calls the deprecated Redis.close() when a worker shuts down.
ARQ_CLOSE_WARNING = "ignore:Call to deprecated close:DeprecationWarning"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A real redis-server on a free loopback port, without persistence, that can be stopped and restarted."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def worker(settings: Settings, *, burst: bool = True, **ctx: Any) -> Worker:
    """The real arq worker of ``pulse worker`` (WorkerSettings), next to the test's own ORM connection."""
    if settings.redis_url is None:
        raise RuntimeError("these settings have no PULSE_REDIS_URL")
    return create_worker(
        cast(Any, WorkerSettings),
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=settings.queue_name,
        health_check_key=f"{settings.queue_name}:health-check",
        burst=burst,
        handle_signals=False,
        poll_delay=0.05,
        ctx={"settings": settings, "database_connected": True, "retry_base_seconds": 0.2, **ctx},
    )


async def run_burst(settings: Settings, **ctx: Any) -> Worker:
    """Run every queued job (and the jobs they queue, and their retries) to the end, then stop."""
    arq_worker = worker(settings, **ctx)
    try:
        await arq_worker.async_run()
    finally:
        await arq_worker.close()
    return arq_worker


async def enqueue(settings: Settings, name: str, *args: Any, job_id: str | None = None) -> bool:
    if settings.redis_url is None:
        raise RuntimeError("these settings have no PULSE_REDIS_URL")
    queue = await ArqQueue.connect(settings.redis_url, settings.queue_name)
    try:
        return await queue.enqueue(name, *args, job_id=job_id)
    finally:
        await queue.close()


async def organisation(people: int = 6, *, timezone: str = "Europe/Paris") -> Organization:
    """``acme``: ``people`` employees in Sales and Support, plus one leader who gets the reports."""
    organization = await create_organization("acme", "Acme", timezone=timezone)
    departments = [await Department.create(organization=organization, name=name) for name in ("Sales", "Support")]
    for index in range(people):
        await Person.create(
            organization=organization,
            email=f"person{index}@acme.test",
            name=f"Person {index}",
            department=departments[index % 2],
        )
    await Person.create(
        organization=organization,
        email="leader@acme.test",
        name="Lea Leader",
        department=departments[0],
        role=PersonRole.LEADER,
    )
    return organization


async def wait_for(condition: Any, timeout: float = 20.0, interval: float = 0.05) -> None:
    """Wait until the async ``condition()`` is true."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(interval)


LINK = re.compile(r"http://pulse\.test/s/[A-Za-z0-9_\-]+")


def recipients(messages: list[email.message.EmailMessage]) -> Counter[str]:
    """How many messages each address received."""
    return Counter(str(message["To"]).split("<")[-1].rstrip(">").strip() for message in messages)


def survey_links(messages: list[email.message.EmailMessage]) -> dict[str, str]:
    """The survey link in each invitation, by recipient."""
    found: dict[str, str] = {}
    for message in messages:
        body = message.get_body(preferencelist=("plain",))
        match = LINK.search(body.get_content() if body is not None else "")
        if match is not None:
            found[str(message["To"]).split("<")[-1].rstrip(">").strip()] = match.group(0)
    return found


class SlowSmtp(SmtpCapture):
    """A real SMTP server's handler that takes ``delay`` seconds to accept each message."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


async def start_smtp(handler: SmtpCapture, port: int = 0) -> asyncio.Server:
    """An aiosmtpd server in this event loop on ``port`` (0: a free one); sets ``handler.url``."""
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="pulse.test"), "127.0.0.1", port)
    handler.port = server.sockets[0].getsockname()[1]
    handler.url = f"smtp://127.0.0.1:{handler.port}"
    return server


def environment(settings: Settings) -> dict[str, str]:
    """The PULSE_* variables that make a `pulse` subprocess use ``settings``, logging at INFO (the
    tests read the worker's job lines)."""
    return pulse_env(settings, PULSE_LOG_LEVEL="INFO")


def start_worker_process(settings: Settings, log_file: Path) -> subprocess.Popen[bytes]:
    """`pulse worker` as a real process; its JSON log lines go to ``log_file``."""
    executable = Path(sys.executable).parent / "pulse"
    with log_file.open("ab") as sink:
        return subprocess.Popen([str(executable), "worker"], env=environment(settings), stdout=sink, stderr=sink)


def stop_process(process: subprocess.Popen[bytes], kill: bool = False) -> None:
    if process.poll() is None:
        if kill:
            process.kill()
        else:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def log_lines(log_file: Path) -> list[dict[str, Any]]:
    """The JSON log lines a worker process wrote (other lines, e.g. tracebacks, are skipped)."""
    lines = []
    for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


async def expire_in_progress(settings: Settings, job_id: str) -> bool:
    """Let the in-progress lock of a dead worker's job run out now instead of after job_timeout + 10 s."""
    from redis.asyncio import Redis

    if settings.redis_url is None:
        raise RuntimeError("these settings have no PULSE_REDIS_URL")
    client = Redis.from_url(settings.redis_url)
    try:
        return bool(await client.pexpire(f"arq:in-progress:{arq_job_id(settings.queue_name, job_id)}", 1))
    finally:
        await client.aclose()


def logged(path: Path, message: str, *, times: int = 1, **fields: Any) -> Any:
    """An awaitable for ``wait_for``: has the process logged ``message`` with these ``fields``
    (at least ``times`` times)?"""

    async def check() -> bool:
        return path.exists() and times <= sum(
            line.get("message") == message and all(line.get(k) == v for k, v in fields.items())
            for line in log_lines(path)
        )

    return check()

"""What the worker and fault tests share: a private redis-server, a burst worker, a small organisation.

Each test gets its own redis-server process: arq keeps job ids (``invite:1``…) and results in global
keys, so tests that all start from round 1 must not share a Redis; a private one can also be
stopped and started again for real.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, cast

from arq.connections import RedisSettings
from arq.worker import Worker, create_worker

from pulse.models import Department, Organization, Person, PersonRole
from pulse.services.organizations import create_organization
from pulse.settings import Settings
from workers.queue import ArqQueue
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

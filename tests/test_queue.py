"""workers/queue.py for real: the in-process queue, and arq with the real Redis and a real arq Worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from arq import Retry
from arq.constants import health_check_key_suffix
from arq.worker import Function, Worker, func

from pulse.settings import Settings
from tests.conftest import make_settings
from workers import queue as queue_module
from workers.queue import ArqQueue, InProcessQueue, queue_for

#: What the test jobs saw: (job name, try, args).
CALLS: list[tuple[str, int, tuple[Any, ...]]] = []


async def record(ctx: dict[str, Any], *args: Any) -> str:
    CALLS.append(("record", ctx["job_try"], args))
    return "done"


async def flaky(ctx: dict[str, Any], *args: Any) -> None:
    """Asks to be retried twice, then succeeds."""
    CALLS.append(("flaky", ctx["job_try"], args))
    if ctx["job_try"] < 3:
        raise Retry(defer=0.01)


async def always_retry(ctx: dict[str, Any]) -> None:
    CALLS.append(("always_retry", ctx["job_try"], ()))
    raise Retry(defer=0.01)


async def broken(ctx: dict[str, Any]) -> None:
    CALLS.append(("broken", ctx["job_try"], ()))
    raise ValueError("not transient")


async def slow(ctx: dict[str, Any], *args: Any) -> None:
    await asyncio.sleep(0.05)
    CALLS.append(("slow", ctx["job_try"], args))


FUNCTIONS: list[Function] = [
    func(record, name="test_record"),
    func(flaky, name="test_flaky", max_tries=5),
    func(always_retry, name="test_always_retry", max_tries=3),
    func(broken, name="test_broken", max_tries=5),
    func(slow, name="test_slow"),
]


@pytest.fixture(autouse=True)
def test_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    CALLS.clear()
    monkeypatch.setattr(queue_module, "registry", lambda: {f.name: f for f in FUNCTIONS})


@pytest.fixture
def plain_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, f"sqlite://{tmp_path / 'unused.sqlite3'}")


async def test_the_in_process_queue_runs_a_job_with_its_context(plain_settings: Settings) -> None:
    queue = InProcessQueue(plain_settings, {"mailer": "the mailer"})
    seen: list[dict[str, Any]] = []

    async def inspect(ctx: dict[str, Any], value: int) -> None:
        seen.append(ctx)

    FUNCTIONS.append(func(inspect, name="test_inspect"))
    try:
        assert await queue.enqueue("test_record", 1, "two") is True
        assert await queue.enqueue("test_inspect", 3, job_id="inspect-1") is True
        await queue.drain()
    finally:
        FUNCTIONS.pop()
    assert CALLS == [("record", 1, (1, "two"))]
    assert seen[0]["settings"] is plain_settings and seen[0]["queue"] is queue
    assert (seen[0]["mailer"], seen[0]["job_id"], seen[0]["job_try"]) == ("the mailer", "inspect-1", 1)
    assert queue.failures == []


async def test_the_in_process_queue_retries_on_arq_retry_until_it_succeeds(plain_settings: Settings) -> None:
    queue = InProcessQueue(plain_settings)
    await queue.enqueue("test_flaky", "x")
    await queue.drain()
    assert CALLS == [("flaky", 1, ("x",)), ("flaky", 2, ("x",)), ("flaky", 3, ("x",))]
    assert queue.failures == []


async def test_the_in_process_queue_gives_up_after_max_tries_and_records_the_failure(plain_settings: Settings) -> None:
    queue = InProcessQueue(plain_settings)
    await queue.enqueue("test_always_retry")
    await queue.enqueue("test_broken")
    await queue.drain()
    assert [c[:2] for c in CALLS if c[0] == "always_retry"] == [
        ("always_retry", 1),
        ("always_retry", 2),
        ("always_retry", 3),
    ]
    # A plain exception is not retried.
    assert [c[1] for c in CALLS if c[0] == "broken"] == [1]
    assert sorted((name, type(error).__name__) for name, error in queue.failures) == [
        ("test_always_retry", "Retry"),
        ("test_broken", "ValueError"),
    ]


async def test_the_in_process_queue_refuses_a_job_id_it_already_has(plain_settings: Settings) -> None:
    queue = InProcessQueue(plain_settings)
    assert await queue.enqueue("test_slow", 1, job_id="same") is True
    assert await queue.enqueue("test_slow", 2, job_id="same") is False
    assert await queue.enqueue("test_slow", 3, job_id="other") is True
    await queue.drain()
    assert sorted(c[2] for c in CALLS) == [(1,), (3,)]
    # Once finished, the id may be used again (as with arq once its result expired).
    assert await queue.enqueue("test_slow", 4, job_id="same") is True
    await queue.drain()
    assert len(CALLS) == 3


async def test_the_in_process_queue_refuses_an_unknown_job(plain_settings: Settings) -> None:
    with pytest.raises(KeyError, match="no job named 'nope'"):
        await InProcessQueue(plain_settings).enqueue("nope")


async def test_queue_for_picks_arq_with_redis_and_in_process_without(
    tmp_path: Path, redis_url: str, queue_name: str
) -> None:
    embedded = await queue_for(make_settings(tmp_path, f"sqlite://{tmp_path / 'x.sqlite3'}"))
    assert isinstance(embedded, InProcessQueue)
    await embedded.close()
    settings = make_settings(
        tmp_path, f"sqlite://{tmp_path / 'x.sqlite3'}", PULSE_REDIS_URL=redis_url, PULSE_QUEUE_NAME=queue_name
    )
    arq_queue = await queue_for(settings)
    try:
        assert isinstance(arq_queue, ArqQueue)
        assert arq_queue.pool.default_queue_name == queue_name
    finally:
        await arq_queue.close()


@pytest.fixture
async def arq_queue(redis_url: str, queue_name: str) -> AsyncIterator[ArqQueue]:
    queue = await ArqQueue.connect(redis_url, queue_name)
    try:
        yield queue
    finally:
        # Job and result keys carry the unique queue name and job ids.
        keys = [key async for key in queue.pool.scan_iter(match=f"arq:*{queue_name}:test-*")]
        await queue.pool.delete(queue_name, f"{queue_name}{health_check_key_suffix}", *keys)
        await queue.close()


async def _run_worker(queue: ArqQueue, queue_name: str) -> int:
    """A real arq Worker in burst mode on the test's queue; returns the number of jobs it completed.

    It shares the queue's Redis pool, which the fixture closes: Worker.close() would call redis'
    deprecated close(), and warnings are errors here.
    """
    worker = Worker(
        functions=FUNCTIONS,
        redis_pool=queue.pool,
        queue_name=queue_name,
        burst=True,
        poll_delay=0.02,
        handle_signals=False,
        max_tries=5,
    )
    return await worker.run_check()


def _job_id() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.mark.redis
async def test_an_arq_job_is_run_by_a_real_worker(arq_queue: ArqQueue, queue_name: str) -> None:
    job_id = _job_id()
    assert await arq_queue.enqueue("test_record", 7, "seven", job_id=job_id) is True
    assert CALLS == []  # nothing runs until a worker picks it up
    assert await _run_worker(arq_queue, queue_name) == 1
    assert CALLS == [("record", 1, (7, "seven"))]


@pytest.mark.redis
async def test_arq_refuses_a_duplicate_job_id_while_queued_and_while_its_result_is_kept(
    arq_queue: ArqQueue, queue_name: str
) -> None:
    job_id = _job_id()
    assert await arq_queue.enqueue("test_record", 1, job_id=job_id) is True
    assert await arq_queue.enqueue("test_record", 2, job_id=job_id) is False
    await _run_worker(arq_queue, queue_name)
    assert await arq_queue.enqueue("test_record", 3, job_id=job_id) is False
    assert CALLS == [("record", 1, (1,))]


@pytest.mark.redis
async def test_deployments_sharing_a_redis_do_not_block_each_others_job_ids(
    arq_queue: ArqQueue, redis_url: str, queue_name: str
) -> None:
    job_id = _job_id()
    other = await ArqQueue.connect(redis_url, f"{queue_name}:other")
    try:
        assert await arq_queue.enqueue("test_record", "ours", job_id=job_id) is True
        assert await other.enqueue("test_record", "theirs", job_id=job_id) is True
        assert await other.enqueue("test_record", "theirs again", job_id=job_id) is False
    finally:
        keys = [key async for key in other.pool.scan_iter(match=f"arq:*{queue_name}:other:*")]
        await other.pool.delete(f"{queue_name}:other", *keys)
        await other.close()
    assert await _run_worker(arq_queue, queue_name) == 1
    assert CALLS == [("record", 1, ("ours",))]


@pytest.mark.redis
async def test_an_arq_job_that_asks_for_a_retry_is_run_again(arq_queue: ArqQueue, queue_name: str) -> None:
    assert await arq_queue.enqueue("test_flaky", "y", job_id=_job_id()) is True
    assert await _run_worker(arq_queue, queue_name) == 1
    assert CALLS == [("flaky", 1, ("y",)), ("flaky", 2, ("y",)), ("flaky", 3, ("y",))]


@pytest.mark.redis
async def test_a_deferred_arq_job_waits(arq_queue: ArqQueue, queue_name: str) -> None:
    assert await arq_queue.enqueue("test_record", "later", job_id=_job_id(), defer_by=0.3) is True
    score = await arq_queue.pool.zrange(queue_name, 0, -1, withscores=True)
    assert len(score) == 1
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _run_worker(arq_queue, queue_name)
    assert loop.time() - started >= 0.25
    assert CALLS == [("record", 1, ("later",))]

"""What every job shares: one structured log line per try, and transient failures turned into retries.

Wrap each job coroutine with ``@job`` (before ``arq.worker.func``)::

    @job
    async def send_invitations(ctx: dict[str, Any], round_id: int) -> int: ...

    FUNCTIONS = [func(send_invitations, name="send_invitations", max_tries=10)]

Each try logs ``job done`` / ``job retry`` / ``job failed`` on the ``pulse.jobs`` logger with the job
name, job id, try number, the job's arguments by name (``round_id=…``), the seconds it took and the
outcome. A transient failure (the database connection dropped, the database locked, the SMTP server
unreachable or answering 4xx, a PDF render process that died) becomes ``arq.Retry`` with exponential
backoff, so the job runs again instead of being lost; anything else fails the job (arq records it; it is not retried).
"""

from __future__ import annotations

import functools
import inspect
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar, cast

import asyncpg  # type: ignore[import-untyped]
from arq import Retry
from tortoise.exceptions import DBConnectionError

from pulse.mail import MailDeliveryError

log = logging.getLogger("pulse.jobs")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: Backoff of the first retry, doubled on each further try, capped; ``ctx["retry_base_seconds"]``
#: overrides the base (tests use a fraction of a second).
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0

_TRANSIENT_DB = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08: the connection is gone
    asyncpg.exceptions.OperatorInterventionError,  # class 57: admin shutdown, pg_terminate_backend, crash
    asyncpg.exceptions.TransactionRollbackError,  # class 40: serialization failure, deadlock
    asyncpg.exceptions.InterfaceError,  # "connection is closed" on the client side
    asyncpg.exceptions.ConnectionDoesNotExistError,
    # What asyncpg raises for a query on a connection the server dropped while it was being used.
    asyncpg.exceptions.InternalClientError,
    DBConnectionError,
    ConnectionError,
    TimeoutError,
)


def transient(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) is worth retrying: the next try may well succeed."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MailDeliveryError):
            return current.transient
        if isinstance(current, _TRANSIENT_DB):
            return True
        if isinstance(current, BrokenProcessPool):  # a PDF render process died: the retry gets a new one
            return True
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True
        if isinstance(current, OSError) and not isinstance(current, FileNotFoundError | PermissionError):
            return True
        current = current.__cause__ or current.__context__
    return False


def backoff(ctx: dict[str, Any]) -> float:
    """Seconds before the next try: base × 2^(try-1), capped."""
    base = float(ctx.get("retry_base_seconds", RETRY_BASE_SECONDS))
    attempt = int(ctx.get("job_try") or 1)
    return float(min(base * 2 ** (attempt - 1), RETRY_MAX_SECONDS))


def job(function: F) -> F:
    """Log every try of ``function`` and retry it on transient failures (see the module doc)."""
    signature = inspect.signature(function)
    name = function.__name__

    @functools.wraps(function)
    async def wrapper(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind_partial(ctx, *args, **kwargs).arguments
        except TypeError:
            bound = {}
        fields: dict[str, Any] = {
            "job": name,
            "job_id": ctx.get("job_id"),
            "try": ctx.get("job_try", 1),
            **{key: value for key, value in bound.items() if key != "ctx" and isinstance(value, int | str | float)},
        }
        started = time.monotonic()
        try:
            result = await function(ctx, *args, **kwargs)
        except Retry:
            log.warning("job retry", extra={**fields, "seconds": _since(started), "outcome": "retry"})
            raise
        except Exception as error:
            if transient(error):
                delay = backoff(ctx)
                log.warning(
                    "job retry",
                    extra={
                        **fields,
                        "seconds": _since(started),
                        "outcome": "retry",
                        "reason": f"{type(error).__name__}: {error}",
                        "retry_in": delay,
                    },
                )
                raise Retry(defer=delay) from error
            log.error(
                "job failed",
                exc_info=True,
                extra={**fields, "seconds": _since(started), "outcome": "failed"},
            )
            raise
        summary = {"result": result} if isinstance(result, int | str | float | bool | dict) else {}
        log.info("job done", extra={**fields, "seconds": _since(started), "outcome": "ok", **summary})
        return result

    return cast(F, wrapper)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)

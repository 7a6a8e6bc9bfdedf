"""``pulse serve``: the web app under uvicorn; without Redis it also runs the minute tick in-process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import click

from pulse import logs
from pulse.settings import Settings, get_settings

log = logging.getLogger("pulse.serve")

TICK_INTERVAL_SECONDS = 60.0
_TASK_KEY = "tick_task"


async def tick_loop(queue: Any, interval: float = TICK_INTERVAL_SECONDS) -> None:
    """Enqueue the ``tick`` job on the in-process queue at the start of every minute, forever.

    The job id ``tick`` keeps one tick at a time: a slow tick is not stacked under the next one.
    """
    while True:
        try:
            await queue.enqueue("tick", job_id="tick")
        except Exception:  # the loop must outlive any one failure; the next minute tries again
            log.exception("could not start the tick")
        await asyncio.sleep(interval - (time.time() % interval) if interval >= 1 else interval)


async def start_tick(app: Any, settings: Settings, state: dict[str, Any]) -> None:
    """Start-up hook: without Redis nobody else ticks, so this process does."""
    if settings.redis_url:
        return
    state[_TASK_KEY] = asyncio.get_running_loop().create_task(tick_loop(state["queue"]))
    log.info("in-process tick started (no PULSE_REDIS_URL): rounds open, remind and close from this process")


async def stop_tick(app: Any, settings: Settings, state: dict[str, Any]) -> None:
    task = state.pop(_TASK_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def install_tick_hooks() -> None:
    """Register the in-process tick with the web app's lifespan (once)."""
    from pulse.web import app

    if start_tick not in app.STARTUP_HOOKS:
        app.STARTUP_HOOKS.append(start_tick)
    if stop_tick not in app.SHUTDOWN_HOOKS:
        app.SHUTDOWN_HOOKS.append(stop_tick)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 in containers).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Run the web app. Without PULSE_REDIS_URL it also runs the jobs and the minute tick itself."""
    import uvicorn

    settings = get_settings()
    logs.setup(settings)
    install_tick_hooks()
    uvicorn.run(
        "pulse.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,  # keep the JSON logging set up above
        # X-Forwarded-For/-Proto only from the proxies named in PULSE_TRUSTED_PROXIES: from anyone else
        # a forged header would pick the client address the sign-in limit counts and the logs show.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or "",
        lifespan="on",
    )


COMMANDS = [serve]

"""The Starlette application: survey pages, HR/leader pages, JSON API. Routes live in their modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pulse import db
from pulse.settings import PROJECT_ROOT, Settings, get_settings
from pulse.web.errors import EXCEPTION_HANDLERS
from pulse.web.security import SecurityHeadersMiddleware
from workers.queue import queue_for

STATIC_DIR = PROJECT_ROOT / "templates" / "static"


async def healthz(request: Request) -> Response:
    """Liveness and database reachability, for load balancers and compose."""
    from tortoise import connections

    await connections.get("default").execute_query("SELECT 1")
    return JSONResponse({"status": "ok"})


def _routes() -> list[BaseRoute]:
    from pulse.web import admin, api, scim, sso, survey

    return [
        Route("/healthz", healthz),
        Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"),
        *survey.routes,
        *api.routes,
        *scim.routes,
        *sso.routes,
        *admin.routes,
    ]


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """Build the app. ``manage_database=False`` when the caller (a test) has connected the ORM already."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        context = await db.init_db(settings) if manage_database else None
        # Handlers enqueue through request.state.queue: arq with Redis, else jobs run in this process.
        state: dict[str, Any] = {"queue": await queue_for(settings)}
        try:
            for hook in STARTUP_HOOKS:
                await hook(app, settings, state)
            yield state
        finally:
            for hook in SHUTDOWN_HOOKS:
                await hook(app, settings, state)
            await state["queue"].close()
            if context is not None:
                await db.close_db(context)

    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(SecurityHeadersMiddleware, hsts=settings.base_url.startswith("https://"))],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


#: Coroutines run at start-up/shutdown with (app, settings, state): `pulse serve` adds the in-process
#: tick and job queue here when there is no Redis.
STARTUP_HOOKS: list[Any] = []
SHUTDOWN_HOOKS: list[Any] = []

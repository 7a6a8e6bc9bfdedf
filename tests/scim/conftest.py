"""SCIM fixtures: a real ``pulse serve`` (its PULSE_BASE_URL is its own address, so resource locations
are real URLs) with organisations acme and globex and a SCIM token for each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from pulse import db as pulse_db
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.scim import create_scim_token
from pulse.settings import Settings
from tests.e2e.server import bind_loopback, pulse_env, serve


@dataclass
class ScimServer:
    base_url: str
    settings: Settings
    acme_token: str
    globex_token: str

    @property
    def scim_url(self) -> str:
        return f"{self.base_url}/scim/v2"


async def start_scim_server(settings: Settings) -> tuple[Settings, str, str, object]:
    listener = bind_loopback()
    settings = settings.with_overrides(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}")
    async with pulse_db.database(settings):
        acme = await create_organization("acme", "Acme Retail")
        globex = await create_organization("globex", "Globex")
        await import_people(globex, "email,name,department\nolga@globex.test,Olga,Research\n")
        _, acme_token = await create_scim_token(acme, "conformance")
        _, globex_token = await create_scim_token(globex, "globex sync")
    return settings, acme_token, globex_token, listener


@pytest.fixture
async def scim_server(settings: Settings) -> AsyncIterator[ScimServer]:
    """On SQLite and on PostgreSQL."""
    configured, acme_token, globex_token, listener = await start_scim_server(settings)
    async with serve(pulse_env(configured), listener=listener) as base_url:  # type: ignore[arg-type]
        yield ScimServer(base_url, configured, acme_token, globex_token)

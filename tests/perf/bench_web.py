"""Benchmark: the web app with a large directory (50,000 people) on SQLite and PostgreSQL.

Times the people page (search, a late page), the API people list, an isolation check (another
organisation's round), and one sign-in with the production Argon2 parameters.

Run: .venv/bin/pytest tests/perf/bench_web.py -p no:xdist -s -o norecursedirs=
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from pulse.models import UserRole
from pulse.services.api_keys import create_api_key
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.users import authenticate, create_user
from pulse.settings import Settings
from pulse.web.app import create_app
from tests.web.conftest import BASE_URL, PASSWORD, StatefulApp, people_csv, sign_in

PEOPLE = {f"Department {i:03d}": 500 for i in range(100)}  # 50,000 people


async def _time(label: str, call: Callable[[], Awaitable[httpx.Response]], runs: int = 5) -> None:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await call()
        timings.append(time.perf_counter() - started)
        assert response.status_code in (200, 404), (label, response.status_code)
    print(f"  {label:<48} median {statistics.median(timings) * 1000:7.1f} ms  (max {max(timings) * 1000:.1f})")


async def test_people_pages_and_api_with_fifty_thousand_people(db: Settings) -> None:
    acme = await create_organization("acme", "Acme")
    globex = await create_organization("globex", "Globex")
    started = time.perf_counter()
    await import_people(acme, people_csv(PEOPLE))
    print(f"\n[{db.database_url.split(':')[0]}] imported 50,000 people in {time.perf_counter() - started:.1f} s")
    await create_user("alice@acme.test", PASSWORD, role=UserRole.HR, organization=acme)
    _, key = await create_api_key(acme, "bench")
    _, other_key = await create_api_key(globex, "bench")

    started = time.perf_counter()
    await authenticate("alice@acme.test", PASSWORD, client="bench")
    print(f"  one sign-in (Argon2id, production parameters)     {(time.perf_counter() - started) * 1000:7.1f} ms")

    application = create_app(db, manage_database=False)
    async with application.router.lifespan_context(application) as state:
        app = StatefulApp(application, dict(state or {}))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as page_client:
            await sign_in(page_client, "alice@acme.test")
            await _time("GET /orgs/acme/people (page 1)", lambda: page_client.get("/orgs/acme/people"))
            await _time("GET /orgs/acme/people?page=900", lambda: page_client.get("/orgs/acme/people?page=900"))
            await _time(
                "GET /orgs/acme/people?q=department 042", lambda: page_client.get("/orgs/acme/people?q=department+042")
            )
            await _time("GET /orgs/acme/departments", lambda: page_client.get("/orgs/acme/departments"))
        headers = {"authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as api:
            await _time("GET /api/v1/people?per_page=500", lambda: api.get("/api/v1/people?per_page=500"))
            await _time("GET /api/v1/people?q=person 4", lambda: api.get("/api/v1/people?q=person+4"))
        outsider = {"authorization": f"Bearer {other_key}"}
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=outsider) as api:
            await _time("GET /api/v1/rounds/1 (outsider, 404)", lambda: api.get("/api/v1/rounds/1"))

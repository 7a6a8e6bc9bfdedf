"""SCIM conformance: scim2-tester runs every check it has against a real ``pulse serve``, on SQLite and
on PostgreSQL, and none may fail."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.scim.conftest import ScimServer

pytestmark = [pytest.mark.slow]

FAILING = {Status.ERROR, Status.CRITICAL, Status.DEVIATION}


def _run_checks(server: ScimServer) -> list[object]:
    with httpx2.Client(
        base_url=server.scim_url, headers={"Authorization": f"Bearer {server.acme_token}"}, timeout=30
    ) as http:
        client = SyncSCIMClient(http)
        client.discover()
        return list(check_server(client))


async def test_the_scim_conformance_checks_report_no_failure(scim_server: ScimServer) -> None:
    results = await asyncio.to_thread(_run_checks, scim_server)
    statuses = Counter(result.status.name for result in results)  # type: ignore[attr-defined]
    failures = [
        f"{result.title}: {result.reason}"  # type: ignore[attr-defined]
        for result in results
        if result.status in FAILING  # type: ignore[attr-defined]
    ]
    skipped = [f"{r.title}: {r.reason}" for r in results if r.status is Status.SKIPPED]  # type: ignore[attr-defined]
    print(f"scim2-tester: {dict(statuses)}; skipped: {skipped}")
    assert failures == [], "\n".join(failures)
    # The run did check things: discovery, create, read, replace, patch and delete of users.
    assert statuses["SUCCESS"] >= 20

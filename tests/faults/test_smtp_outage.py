"""The SMTP server is down, then refuses for a while: sending retries with backoff and completes;
every invitation arrives exactly once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pulse.models import Invitation, Organization
from pulse.services import rounds
from pulse.settings import Settings, configure, parse_smtp_url
from tests.conftest import SmtpCapture
from tests.workers.fixtures import POSTGRES_ONLY
from tests.workers.harness import ARQ_CLOSE_WARNING, enqueue, free_port, organisation, recipients, start_smtp, worker

pytestmark = [POSTGRES_ONLY, pytest.mark.redis, pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)]


async def test_invitations_wait_for_the_smtp_server_and_arrive_exactly_once(
    pg_worker_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens here yet: the server is down
    settings = pg_worker_settings.with_overrides(smtp=parse_smtp_url(f"smtp://127.0.0.1:{port}"))
    configure(settings)
    organization: Organization = await organisation(8)
    opened = await rounds.open_round(organization)
    assert await enqueue(settings, "send_invitations", opened.id, job_id=f"invite:{opened.id}")

    caplog.set_level(logging.INFO)
    arq_worker = worker(settings, retry_base_seconds=0.05)
    running = asyncio.create_task(arq_worker.async_run())
    try:
        await asyncio.sleep(0.5)  # a few tries fail: connection refused
        assert await Invitation.filter(round_id=opened.id, sent_at__isnull=False).count() == 0
        capture = SmtpCapture()
        capture.refuse_next = 2  # back, but answering "451 try again later" twice
        server = await start_smtp(capture, port)
        try:
            await asyncio.wait_for(running, 30)
        finally:
            server.close()
            await server.wait_closed()
    finally:
        await arq_worker.close()

    invited = await Invitation.filter(round_id=opened.id).select_related("person")
    assert len(invited) == 9 and all(invitation.sent_at is not None for invitation in invited)
    assert recipients(capture.messages) == {invitation.person.email: 1 for invitation in invited if invitation.person}
    assert arq_worker.jobs_failed == 0 and arq_worker.jobs_retried >= 4
    # Each failed try left a structured log line; the backoff doubles from the base (0.05 s here).
    retries = [r for r in caplog.records if getattr(r, "outcome", None) == "retry"]
    assert any("cannot reach the SMTP server" in str(getattr(r, "reason", "")) for r in retries)
    assert any("451" in str(getattr(r, "reason", "")) for r in retries)
    delays = [float(getattr(r, "retry_in", 0)) for r in retries]
    assert delays[:3] == [0.05, 0.1, 0.2]

"""The report jobs under the real arq worker: build_report queues email_report; running it twice emails nobody twice."""

from __future__ import annotations

import pytest

from pulse.models import Report, ReportDelivery, ReportStatus
from pulse.settings import Settings
from tests.conftest import SmtpCapture
from tests.services.test_reports import seed_organization, seed_round
from tests.workers.fixtures import POSTGRES_ONLY, pg_worker_settings, private_redis
from tests.workers.harness import ARQ_CLOSE_WARNING, enqueue, run_burst
from workers.queue import registry

__all__ = ["pg_worker_settings", "private_redis"]


def test_the_report_jobs_are_registered_with_retries() -> None:
    functions = registry()
    assert functions["build_report"].max_tries == 5
    assert functions["email_report"].max_tries == 8


@POSTGRES_ONLY
@pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)
async def test_the_worker_builds_the_report_then_emails_each_leader_once(
    pg_worker_settings: Settings, smtp_server: SmtpCapture
) -> None:
    settings = pg_worker_settings
    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=31)
    assert await enqueue(settings, "build_report", round_.id, job_id=f"report:{round_.id}")
    worker = await run_burst(settings)
    assert worker.jobs_failed == 0
    report = await Report.get(round_id=round_.id)
    assert report.status == ReportStatus.READY
    assert [str(m["To"]) for m in smtp_server.messages] == ["Jane Roe <jane.roe@acme.test>"]
    # A second close (or a retried job) builds nothing new and emails nobody again.
    assert await enqueue(settings, "build_report", round_.id, job_id=f"report-again:{round_.id}")
    await run_burst(settings)
    assert len(smtp_server.messages) == 1
    assert await ReportDelivery.filter(report_id=report.id).count() == 1
    assert (await Report.get(round_id=round_.id)).attempts == 1

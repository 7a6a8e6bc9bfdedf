"""The report jobs under the real arq worker: build_report queues email_report; running it twice emails nobody twice."""

from __future__ import annotations

import logging

import pytest

from pulse.models import Report, ReportDelivery, ReportStatus
from pulse.services import reports
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
    assert functions["email_leaders"].max_tries == 8


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


@POSTGRES_ONLY
@pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)
async def test_each_scope_is_emailed_by_a_job_of_its_own_and_every_leader_once(
    pg_worker_settings: Settings, smtp_server: SmtpCapture, caplog: pytest.LogCaptureFixture
) -> None:
    from pulse.models import Department, User, UserRole
    from tests.services.test_scoped_reports import _pdf_text, _seed

    settings = pg_worker_settings.with_overrides(attach_report_pdf=True, pdf_processes=2)
    organization, round_id = await _seed()
    units = {d.name: d.id for d in await Department.filter(organization=organization)}
    north = [units["Retail / North / Store 1"], units["Retail / North / Store 2"]]
    leaders = {
        "ceo@acme.test": (None, "en"),
        "north@acme.test": (north, "en"),
        "nord@acme.test": (north[::-1], "fr"),  # the same scope in another language: a group of its own
        "store1@acme.test": (north[:1], "en"),
        "store1b@acme.test": (north[:1], "en"),  # shares the store's group (one PDF for both)
        "south@acme.test": ([units["Retail / South / Store 3"]], "en"),
    }
    for email, (unit_ids, locale) in leaders.items():
        await User.create(
            email=email,
            password_hash="x",
            role=UserRole.LEADER,
            organization=organization,
            unit_ids=unit_ids,
            locale=locale,
        )
    assert await enqueue(settings, "build_report", round_id, job_id=f"report:{round_id}")
    caplog.set_level(logging.INFO, logger="pulse.jobs")
    worker = await run_burst(settings)
    assert worker.jobs_failed == 0
    # After build_report and email_report, one email_leaders job per scope and language: five groups.
    groups = [r for r in caplog.records if getattr(r, "job", None) == "email_leaders" and r.msg == "job done"]
    expected = {
        reports.LeaderGroup(None if ids is None else tuple(sorted(ids)), locale).key for ids, locale in leaders.values()
    }
    assert len(expected) == 5
    prefix = f"{settings.queue_name}:report-mail:{round_id}:"
    assert sorted(r.job_id for r in groups) == sorted(prefix + key for key in expected)
    recipients = sorted(str(m["To"]).rsplit("<", 1)[-1].rstrip(">") for m in smtp_server.messages)
    assert recipients == sorted(leaders)
    for message in smtp_server.messages:
        pdfs = [p.get_content() for p in message.walk() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1 and pdfs[0].startswith(b"%PDF")
    by_recipient = {str(m["To"]).rsplit("<", 1)[-1].rstrip(">"): m for m in smtp_server.messages}
    # The French group got its own email and PDF, in French.
    assert by_recipient["nord@acme.test"]["Subject"] != by_recipient["north@acme.test"]["Subject"]
    (french,) = [p for p in by_recipient["nord@acme.test"].walk() if p.get_content_type() == "application/pdf"]
    assert "Votre périmètre" in " ".join(_pdf_text(french.get_content()).split())
    # The email job again (a repeated close, a retry): every leader is stamped, no group is queued.
    assert await enqueue(settings, "email_report", round_id, job_id=f"report-mail-again:{round_id}")
    caplog.clear()
    again = await run_burst(settings)
    assert again.jobs_failed == 0
    assert not [r for r in caplog.records if getattr(r, "job", None) == "email_leaders"]
    assert len(smtp_server.messages) == len(leaders)
    report = await Report.get(round_id=round_id)
    assert await ReportDelivery.filter(report_id=report.id, sent_at__isnull=False).count() == len(leaders)

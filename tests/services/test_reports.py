from __future__ import annotations

import csv
import email
import email.message
import email.policy
import io
import json
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulse.domain.aggregates import Response as SimulatedResponse
from pulse.domain.aggregates import aggregate_responses
from pulse.domain.items import DIMENSION_KEYS
from pulse.domain.report import ReportInput
from pulse.domain.report import build_report as build_domain_report
from pulse.domain.scoring import score_response
from pulse.domain.simulation import DepartmentSpec, simulate_round
from pulse.domain.stats import Moments
from pulse.errors import InvalidInput, NotFound
from pulse.mail import MailDeliveryError, OutboxMailer
from pulse.models import (
    Answer,
    Department,
    HelpMark,
    Invitation,
    NoiseDraw,
    Organization,
    Person,
    PersonRole,
    Report,
    ReportDelivery,
    ReportStatus,
    Response,
    Round,
    RoundStatus,
    User,
    UserRole,
)
from pulse.services import reports
from pulse.settings import Settings
from workers.queue import InProcessQueue

SPECS = [
    DepartmentSpec("Customer Service", 30, 0.8, {"fear": 22.0}),
    DepartmentSpec("Finance", 14, 0.8),
    DepartmentSpec("Logistics", 24, 0.85, isolated=True),
    DepartmentSpec("Sales", 26, 0.8, {"initiative": 18.0}),
    DepartmentSpec("Tiny Lab", 3, 1.0),  # below k: hidden; forces one complementary suppression
]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def seed_round(
    organization: Organization,
    departments: dict[str, Department],
    number: int,
    *,
    seed: int,
    closed: bool = True,
    specs: Sequence[DepartmentSpec] = SPECS,
) -> tuple[Round, list[SimulatedResponse]]:
    """A round with invitations and simulated answers stored as the answering service stores them."""
    simulated = simulate_round(specs, seed=seed, round_number=number, directory_names=["Jane Roe"], comment_rate=0.5)
    opened = START + timedelta(days=14 * (number - 1))
    round_ = await Round.create(
        organization=organization,
        number=number,
        status=RoundStatus.CLOSED if closed else RoundStatus.OPEN,
        item_keys=list(simulated.asked),
        opened_at=opened,
        closes_at=opened + timedelta(days=7),
        closed_at=opened + timedelta(days=7) if closed else None,
    )
    invitations = [
        Invitation(
            round=round_,
            department=departments[spec.name],
            token_salt=secrets.token_hex(8),
            token_hash=secrets.token_hex(32),
        )
        for spec in specs
        for _ in range(spec.invited)
    ]
    await Invitation.bulk_create(invitations)
    responses: list[Response] = []
    answers: list[Answer] = []
    marks: list[HelpMark] = []
    for sim in simulated.responses:
        scores = score_response(sim.answers, simulated.asked)
        response = Response(
            id=uuid.uuid4(),
            round_id=round_.id,
            department_id=departments[sim.department].id,
            enps=sim.enps,
            answered_network=sim.helped_by is not None,
            comment=sim.comment,
            **{f"score_{d}": scores.get(d) for d in DIMENSION_KEYS},
        )
        responses.append(response)
        answers.extend(
            Answer(
                response_id=response.id,
                round_id=round_.id,
                department_id=departments[sim.department].id,
                item_key=k,
                value=v,
            )
            for k, v in sim.answers.items()
        )
        marks.extend(
            HelpMark(
                response_id=response.id,
                round_id=round_.id,
                department_id=departments[sim.department].id,
                helper_id=departments[h].id,
            )
            for h in sim.helped_by or ()
            if h != sim.department
        )
    await Response.bulk_create(responses)
    await Answer.bulk_create(answers)
    await HelpMark.bulk_create(marks)
    return round_, list(simulated.responses)


async def seed_organization() -> tuple[Organization, dict[str, Department]]:
    organization = await Organization.create(slug="acme", name="Acme Retail")
    departments = {s.name: await Department.create(organization=organization, name=s.name) for s in SPECS}
    await Person.create(
        organization=organization,
        email="jane.roe@acme.test",
        name="Jane Roe",
        department=departments["Finance"],
        role=PersonRole.LEADER,
    )
    return organization, departments


def _model(report: Report) -> dict[str, Any]:
    """The stored model, typed for reading in tests."""
    assert report.model is not None
    return dict(report.model)


def _close(a: Moments, b: Moments) -> bool:
    return a.n == b.n and a.total == pytest.approx(b.total) and a.total_sq == pytest.approx(b.total_sq)


async def test_sql_aggregates_equal_the_domain_aggregation_of_the_same_answers(db: Settings) -> None:
    organization, departments = await seed_organization()
    round_, simulated = await seed_round(organization, departments, 1, seed=3)
    collected = await reports.collect_input(await Round.get(id=round_.id))
    expected = {d.name: d for d in aggregate_responses(simulated, {s.name: s.invited for s in SPECS}, round_.item_keys)}
    assert {d.name for d in collected.departments} == set(expected)
    for got in collected.departments:
        want = expected[got.name]
        assert (got.invited, got.responded, got.network_respondents) == (
            want.invited,
            want.responded,
            want.network_respondents,
        )
        assert (got.enps_promoters, got.enps_passives, got.enps_detractors) == (
            want.enps_promoters,
            want.enps_passives,
            want.enps_detractors,
        )
        assert set(got.dimension_moments) == set(want.dimension_moments)
        assert all(_close(got.dimension_moments[k], want.dimension_moments[k]) for k in want.dimension_moments)
        # Anchor-only scores (what trends compare), computed in SQL, equal the domain's.
        assert set(got.anchor_moments) == set(want.anchor_moments)
        assert all(_close(got.anchor_moments[k], want.anchor_moments[k]) for k in want.anchor_moments)
        assert {k for k, m in want.item_moments.items() if m.n} == set(got.item_moments)
        assert all(_close(got.item_moments[k], want.item_moments[k]) for k in got.item_moments)
        for pair, cross in want.item_cross.items():
            if cross.n == 0:
                continue
            mine = got.item_cross[pair]
            assert mine.n == cross.n
            assert (mine.sum_a, mine.sum_b, mine.sum_ab, mine.sum_sq_a, mine.sum_sq_b) == pytest.approx(
                (cross.sum_a, cross.sum_b, cross.sum_ab, cross.sum_sq_a, cross.sum_sq_b)
            )
        # Weighted help marks (one person's add up to at most MAX_HELP_MARKS): same sums, up to float rounding.
        assert set(got.helped_by) == set(want.helped_by)
        assert all(got.helped_by[k] == pytest.approx(want.helped_by[k]) for k in want.helped_by)
        # The driver analysis' sums and cross-products of the four scores and the outcome.
        assert got.driver_moments.n == want.driver_moments.n
        assert got.driver_moments.sums == pytest.approx(want.driver_moments.sums)
        assert got.driver_moments.products == pytest.approx(want.driver_moments.products)
        assert sorted(got.comments) == sorted(want.comments)
    # The report built from SQL aggregates is the report built from the answers themselves.
    direct = build_domain_report(
        ReportInput(**{**collected.__dict__, "departments": list(expected.values())})
    ).to_json()
    assert direct == build_domain_report(collected).to_json()


async def test_a_small_department_is_hidden_and_a_complementary_one_too_in_the_stored_json(db: Settings) -> None:
    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=4)
    model = _model(await reports.build_report(round_.id, db))
    by_name = {d["name"]: d for d in model["departments"]}
    tiny = by_name["Tiny Lab"]
    assert tiny["suppressed"] and tiny["suppression_reason"] == "below_min_group_size"
    assert (tiny["invited"], tiny["responded"], tiny["scores"], tiny["silo_index"]) == (None, None, {}, None)
    # 3 hidden answers could be recovered from the total: the smallest shown department goes too.
    complementary = [d for d in model["departments"] if d["suppression_reason"] == "complementary_suppression"]
    assert [d["name"] for d in complementary] == ["Finance"]
    assert complementary[0]["scores"] == {} and complementary[0]["invited"] is None
    assert "Tiny Lab" not in model["silo_network"]["departments"]
    assert "Finance" not in model["trends"]["departments"]
    shown = [d for d in model["departments"] if not d["suppressed"]]
    assert all(set(d["scores"]) == set(DIMENSION_KEYS) for d in shown)
    # Whatever is hidden sums to 0 or at least k responses: the organisation total cannot give it away.
    hidden = sum(s.invited for s in SPECS if s.name in {"Tiny Lab", "Finance"})
    assert hidden >= model["min_group_size"]


async def test_a_ready_report_is_stored_once_and_rebuilt_only_when_forced(db: Settings) -> None:
    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=5)
    first = await reports.build_report(round_.id, db)
    again = await reports.build_report(round_.id, db)
    assert (again.id, again.attempts, again.built_at) == (first.id, 1, first.built_at)
    assert first.pdf is not None and bytes(first.pdf).startswith(b"%PDF")
    forced = await reports.build_report(round_.id, db, force=True)
    assert forced.attempts == 2 and forced.status == ReportStatus.READY
    assert await Report.filter(round_id=round_.id).count() == 1


async def test_nothing_of_an_open_round_is_built_exported_or_served(db: Settings) -> None:
    from pulse.services.release import RoundStillOpen

    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=6, closed=False)
    for attempt in (
        reports.build_report(round_.id, db),
        reports.report_model(round_.id),
        reports.export(round_.id, "json", db),
        reports.ready_report(round_.id),
    ):
        with pytest.raises(RoundStillOpen) as refused:
            await attempt
        assert str(refused.value).startswith(f"round {round_.id} is open until ")
        assert "no answer can be inferred by comparing two builds" in str(refused.value)
    assert not await Report.exists(round_id=round_.id)
    # A report stored while the round was open (older versions built those) is never served ...
    await Report.create(round_id=round_.id, status=ReportStatus.READY, model={"round": {"closed": False}}, pdf=b"%PDF")
    with pytest.raises(RoundStillOpen):
        await reports.export(round_.id, "json", db, build=False)
    # ... and is rebuilt, comments and all, once the round has closed.
    await Round.filter(id=round_.id).update(status=RoundStatus.CLOSED, closed_at=START + timedelta(days=7))
    final = await reports.build_report(round_.id, db)
    model = _model(final)
    assert model["round"]["closed"] is True
    comments = [c for group in model["comments"] for c in group["comments"]]
    assert comments, "a closed round releases the comments of large enough groups"
    assert not any("Jane Roe" in c["text"] for c in comments)
    assert any("[name removed]" in c["text"] and c["redactions"] == 1 for c in comments)


async def test_previous_closed_rounds_feed_the_trends(db: Settings) -> None:
    organization, departments = await seed_organization()
    for number in (1, 2):
        await seed_round(organization, departments, number, seed=10 + number)
    current, _ = await seed_round(organization, departments, 3, seed=13)
    model = _model(await reports.build_report(current.id, db))
    fear = model["trends"]["organization"]["fear"]
    assert [p["label"] for p in fear["points"]] == ["Round 1", "Round 2", "Round 3"]
    assert fear["since_previous"]["from_label"] == "Round 2"
    assert [p["label"] for p in model["trends"]["departments"]["Sales"]["initiative"]["points"]] == [
        "Round 1",
        "Round 2",
        "Round 3",
    ]


async def test_a_rebuild_of_the_same_round_reuses_the_stored_noise(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=7)
    first = _model(await reports.build_report(round_.id, db))
    forced = _model(await reports.build_report(round_.id, db, force=True))
    computed = await reports.report_model(round_.id)
    for key in ("participation", "organization", "departments", "enps", "silo_network", "trends"):
        assert first[key] == forced[key] == computed[key], key
    assert await NoiseDraw.filter(round_id=round_.id).count() == 1
    # The noise is really there: the exact figures (the switch off) differ from the released ones.
    monkeypatch.setattr(reports, "privacy_budget_for", lambda round_: None)
    exact = await reports.report_model(round_.id)
    assert exact["departments"] != first["departments"]
    assert exact["methodology"]["privacy_epsilon"] is None
    assert first["methodology"]["privacy_epsilon"] == reports.DEFAULT_BUDGET.total
    assert f"epsilon = {reports.DEFAULT_BUDGET.total:g} per person per round" in first["methodology"]["privacy"]


async def test_trends_show_earlier_rounds_as_their_own_reports_released_them(db: Settings) -> None:
    organization, departments = await seed_organization()
    earlier, _ = await seed_round(organization, departments, 1, seed=21)
    before = _model(await reports.build_report(earlier.id, db))
    current, _ = await seed_round(organization, departments, 2, seed=22)
    after = _model(await reports.build_report(current.id, db))
    # Trend points are on the anchor scale (equated), so they are compared with Round 1's own trend
    # point, which its report released from the same stored draw.
    for dim in DIMENSION_KEYS:
        point = after["trends"]["organization"][dim]["points"][0]
        released = before["trends"]["organization"][dim]["points"][-1]
        assert point["label"] == released["label"] == "Round 1" and point["mean"] == released["mean"]
    sales = before["trends"]["departments"]["Sales"]["initiative"]["points"][-1]
    assert after["trends"]["departments"]["Sales"]["initiative"]["points"][0]["mean"] == sales["mean"]


async def test_a_round_scoped_to_one_department_has_no_organisation_trend_against_whole_rounds(db: Settings) -> None:
    organization, departments = await seed_organization()
    await seed_round(organization, departments, 1, seed=21)
    scoped, _ = await seed_round(organization, departments, 2, seed=22, specs=[SPECS[0]])
    model = _model(await reports.build_report(scoped.id, db))
    fear = model["trends"]["organization"]["fear"]
    assert [p["label"] for p in fear["points"]] == ["Round 2"] and fear["since_previous"] is None
    assert "No organisation-wide trend" in model["trends"]["scope_note"]
    assert model["trends"]["departments"]["Customer Service"]["fear"]["since_previous"]["from_label"] == "Round 1"
    assert not any(f["kind"] == "trend" for f in model["findings"])


async def test_a_failed_build_is_recorded_and_the_job_retries_it(db: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from arq import Retry

    from workers import reports as report_jobs

    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=7)

    async def broken(model: object, settings: object = None, **_options: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr("pulse.pdf.render_pdf", broken)
    with pytest.raises(Retry):
        await report_jobs.build_report({"settings": db, "job_try": 1, "queue": None}, round_.id)
    stored = await Report.get(round_id=round_.id)
    assert stored.status == ReportStatus.FAILED and stored.attempts == 1
    assert stored.error is not None and "disk full" in stored.error
    with pytest.raises(reports.ReportNotReady, match=f"round {round_.id} could not be built"):
        await reports.ready_report(round_.id)
    monkeypatch.undo()
    queue = InProcessQueue(db, {"mailer": OutboxMailer(db.outbox_dir)})
    await queue.enqueue("build_report", round_.id, job_id=f"report:{round_.id}")
    await queue.drain()
    assert queue.failures == []
    stored = await Report.get(round_id=round_.id)
    assert stored.status == ReportStatus.READY and stored.attempts == 2
    assert not stored.error


async def _leaders(organization: Organization, departments: dict[str, Department]) -> None:
    sales = departments["Sales"]
    await Person.create(
        organization=organization, email="amy@acme.test", name="Amy Leader", department=sales, role=PersonRole.LEADER
    )
    await Person.create(
        organization=organization,
        email="old@acme.test",
        name="Old Leader",
        department=sales,
        role=PersonRole.LEADER,
        active=False,
    )
    await Person.create(organization=organization, email="emp@acme.test", name="Emp Loyee", department=sales)
    # Amy also has an account: one email, not two.
    await User.create(
        email="AMY@acme.test", name="Amy", password_hash="x", role=UserRole.LEADER, organization=organization
    )
    await User.create(
        email="ceo@acme.test", name="Chief", password_hash="x", role=UserRole.LEADER, organization=organization
    )
    await User.create(email="hr@acme.test", name="HR", password_hash="x", role=UserRole.HR, organization=organization)
    other = await Organization.create(slug="other", name="Other")
    await User.create(email="lead@other.test", name="Else", password_hash="x", role=UserRole.LEADER, organization=other)


def _outbox(settings: Settings) -> list[email.message.EmailMessage]:
    messages = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        messages.append(message)
    return messages


async def test_each_leader_gets_the_report_email_exactly_once_even_when_the_job_runs_twice(db: Settings) -> None:
    organization, departments = await seed_organization()
    await _leaders(organization, departments)
    round_, _ = await seed_round(organization, departments, 1, seed=8)
    for _ in range(2):
        queue = InProcessQueue(db, {"mailer": OutboxMailer(db.outbox_dir)})
        await queue.enqueue("build_report", round_.id, job_id=f"report:{round_.id}")
        await queue.drain()
        assert queue.failures == []
    messages = _outbox(db)
    recipients = sorted(str(m["To"]).rsplit("<", 1)[-1].rstrip(">").lower() for m in messages)
    assert recipients == ["amy@acme.test", "ceo@acme.test", "jane.roe@acme.test"]
    report = await Report.get(round_id=round_.id)
    deliveries = await ReportDelivery.filter(report_id=report.id).order_by("email")
    assert [d.email for d in deliveries] == recipients and all(d.sent_at is not None for d in deliveries)
    body = messages[0].get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert f"http://pulse.test/reports/{round_.id}" in text
    assert "Acme Retail" in str(messages[0]["Subject"]) and "round 1" in str(messages[0]["Subject"])
    assert not any(part.get_content_type() == "application/pdf" for part in messages[0].walk())


async def test_with_the_setting_the_pdf_is_attached_and_a_failed_send_is_retried_for_that_leader_only(
    db: Settings, smtp_server: Any
) -> None:
    from pulse.mail import SmtpMailer
    from pulse.settings import parse_smtp_url

    organization, departments = await seed_organization()
    await _leaders(organization, departments)
    round_, _ = await seed_round(organization, departments, 1, seed=9)
    await reports.build_report(round_.id, db)
    settings = db.with_overrides(attach_report_pdf=True)
    smtp = parse_smtp_url(smtp_server.url)
    assert smtp is not None
    smtp_server.refuse_next = 1  # the first leader's message is refused (451)
    with pytest.raises(MailDeliveryError):
        await reports.email_report(round_.id, settings, SmtpMailer(smtp))
    assert len(smtp_server.messages) == 0
    sent = await reports.email_report(round_.id, settings, SmtpMailer(smtp))
    assert sent == 3 and len(smtp_server.messages) == 3
    assert await reports.email_report(round_.id, settings, SmtpMailer(smtp)) == 0
    attachments = [p for p in smtp_server.messages[0].walk() if p.get_content_type() == "application/pdf"]
    assert len(attachments) == 1 and attachments[0].get_content().startswith(b"%PDF")


async def test_exports_come_from_the_stored_model_and_bad_requests_are_refused(db: Settings) -> None:
    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=10)
    as_json = await reports.export(round_.id, "json", db)
    model = json.loads(as_json.content)
    stored = await Report.get(round_id=round_.id)
    assert model == stored.model and as_json.media_type == "application/json"
    rows = list(csv.DictReader(io.StringIO((await reports.export(round_.id, "csv", db)).content.decode())))
    assert len(rows) == len(SPECS) * len(DIMENSION_KEYS)
    assert tuple(rows[0]) == reports.CSV_COLUMNS
    pdf = await reports.export(round_.id, "pdf", db)
    assert pdf.content == bytes(stored.pdf or b"") and pdf.filename.endswith(".pdf")
    with pytest.raises(InvalidInput, match="'xlsx'"):
        await reports.export(round_.id, "xlsx", db)
    with pytest.raises(NotFound, match="no round with id 999999"):
        await reports.export(999999, "json", db)
    assert await Report.all().count() == 1


def test_csv_rows_of_the_stored_model_are_the_domain_csv_rows() -> None:
    from pulse.services.demo import simulated_report_input

    report = build_domain_report(simulated_report_input(rounds=1))
    assert reports.csv_rows(report.to_json()) == report.to_csv_rows()


@pytest.mark.parametrize("noise", [True, False], ids=["with-privacy-noise", "without"])
async def test_a_round_nobody_answered_gets_a_report_that_shows_nothing(
    db: Settings, noise: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not noise:
        monkeypatch.setattr(reports, "privacy_budget_for", lambda round_: None)
    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=11, specs=[DepartmentSpec("Sales", 12, 0.0)])
    model = _model(await reports.build_report(round_.id, db))
    # Fewer than k answers: like a department's, the organisation's participation is not released.
    assert model["participation"] == {"invited": None, "responded": None, "rate": None}
    assert all(score["suppressed"] for score in model["organization"].values())
    assert [d["suppressed"] for d in model["departments"]] == [True]
    assert model["comments"] == [] and model["enps"] is None

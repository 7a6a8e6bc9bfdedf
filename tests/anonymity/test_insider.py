"""Play the insider: HR, a leader or an API key using every output Pulse gives them (issue 10).

Each attack runs end to end: the directory is imported and rounds are opened through the CLI, the web
app and the API; invitations travel through a real SMTP server on loopback and are answered through
the links they carry, on the survey pages. Each attack must fail; where a defence can be switched off
in test code, a control runs the same attack without it and shows it succeeding, so these tests can
fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pulse import db as pulse_db
from pulse.models import Round, User, UserRole
from pulse.services import release, reports
from pulse.services.api_keys import create_api_key
from pulse.services.organizations import create_organization
from pulse.services.users import create_user
from pulse.settings import Settings, configure
from tests.anonymity.population import tokens_by_recipient
from tests.conftest import SmtpCapture, make_settings
from tests.e2e.server import pulse_env, run_pulse
from tests.web.conftest import PASSWORD, StatefulApp, sign_in

#: The real organisation: Legal has one member, Lena, the person the insider is after.
DIRECTORY = {"Legal": 1, "Sales": 12, "Stores": 12, "Support": 8}
VICTIM = "legal0@acme.test"


def directory_csv(departments: dict[str, int] = DIRECTORY, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    lines = ["email,name,department"]
    for department, size in departments.items():
        lines += [f"{department.lower()}{i}@acme.test,{department} Person {i},{department}" for i in range(size)]
    lines += [f"{address},Padding {n},{department}" for n, (address, department) in enumerate(extra)]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Insider:
    """Everything the insider has: the CLI, a signed-in HR web session, an API key, and the mail server
    (to read the invitations of the mailboxes they own)."""

    settings: Settings
    env: dict[str, str]
    web: httpx.AsyncClient
    api: httpx.AsyncClient
    survey: httpx.AsyncClient
    smtp: SmtpCapture
    app: StatefulApp
    hr: User
    tmp: Path

    async def cli(self, *args: str) -> tuple[int, str, str]:
        return await run_pulse(self.env, *args)

    async def jobs(self) -> None:
        await self.app.state["queue"].drain()

    def links(self) -> dict[str, str]:
        return tokens_by_recipient(self.smtp.messages)

    async def answer(self, address: str, value: int, comment: str | None = None) -> str:
        """Answer the invitation emailed to ``address`` on the survey page: every item ``value``.
        Returns the survey page as the respondent saw it."""
        token = self.links()[address]
        page = await self.survey.get(f"/s/{token}")
        assert page.status_code == 200, page.text
        found = await Round.filter(status="open").order_by("-id").first()
        assert found is not None
        form: dict[str, Any] = {key: str(value) for key in found.item_keys}
        form["enps"] = "10" if value >= 4 else "0"
        if comment:
            form["comment"] = comment
        posted = await self.survey.post(f"/s/{token}", data=form)
        assert posted.status_code == 303, posted.text
        return page.text

    async def open_round(self) -> int:
        opened = await self.api.post("/api/v1/rounds", json={"closes_in_days": 7})
        assert opened.status_code == 201, opened.text
        await self.jobs()
        return int(opened.json()["id"])

    async def close_round(self, round_id: int) -> None:
        closed = await self.api.post(f"/api/v1/rounds/{round_id}/close")
        assert closed.status_code == 200, closed.text
        await self.jobs()


@pytest.fixture
async def insider(database_url: str, tmp_path: Path, smtp_server: SmtpCapture) -> AsyncIterator[Insider]:
    from pulse.web.app import create_app

    settings = make_settings(tmp_path, database_url, PULSE_SMTP_URL=smtp_server.url)
    configure(settings)
    context = await pulse_db.init_db(settings)
    try:
        organization = await create_organization("acme", "Acme Retail", timezone="Europe/Paris")
        hr = await create_user("hr@acme.test", PASSWORD, role=UserRole.HR, organization=organization)
        _, key = await create_api_key(organization, "hr integration")
        application = create_app(settings, manage_database=False)
        async with application.router.lifespan_context(application) as state:
            app = StatefulApp(application, dict(state or {}))
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url=settings.base_url) as web,
                httpx.AsyncClient(
                    transport=transport, base_url=settings.base_url, headers={"authorization": f"Bearer {key}"}
                ) as api,
                httpx.AsyncClient(transport=transport, base_url=settings.base_url) as survey,
            ):
                assert (await sign_in(web, hr.email)).status_code == 303
                world = Insider(settings, pulse_env(settings), web, api, survey, smtp_server, app, hr, tmp_path)
                imported = await api.post(
                    "/api/v1/people/import", content=directory_csv(), headers={"content-type": "text/csv"}
                )
                assert imported.status_code == 200, imported.text
                yield world
    finally:
        await pulse_db.close_db(context)
        configure(None)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from pulse.services import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(autouse=True)
def quick_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-page real PDF instead of the chart-heavy layout: these tests are about figures, not looks."""
    import asyncio

    import pulse.pdf

    async def render(model: Any, settings: Any = None, **_options: Any) -> bytes:
        return await asyncio.to_thread(pulse.pdf.html_to_pdf, "<html><body><h1>report</h1></body></html>")

    monkeypatch.setattr(pulse.pdf, "render_pdf", render)


def organization_sum(model: dict[str, Any], dimension: str) -> tuple[float, int]:
    cell = model["organization"][dimension]
    return float(cell["mean"]) * int(cell["n"]), int(cell["n"])


# ---------------------------------------------------------------- attack 2: a report of an open round


async def test_attack_2_no_figure_of_an_open_round_leaves_pulse_on_any_path(insider: Insider) -> None:
    round_id = await insider.open_round()
    for address in [f"sales{i}@acme.test" for i in range(6)]:
        await insider.answer(address, 3)
    # CLI: refused with one line, non-zero, nothing written.
    out = insider.tmp / "early.json"
    code, _, err = await insider.cli("report", str(round_id), "--format", "json", "--out", str(out))
    assert code == 1 and not out.exists()
    assert re.fullmatch(
        rf"pulse: error: round {round_id} is open until \d{{4}}-\d\d-\d\d \d\d:\d\d \(Europe/Paris\): reports are "
        "built after it closes, so that no answer can be inferred by comparing two builds",
        err.strip(),
    ), err
    # Web pages and downloads, and the API: 409 with the same reason.
    for client, path in (
        (insider.web, f"/reports/{round_id}"),
        (insider.web, f"/reports/{round_id}/download/csv"),
        (insider.api, f"/api/v1/rounds/{round_id}/report"),
        (insider.api, f"/api/v1/rounds/{round_id}/report.pdf"),
    ):
        refused = await client.get(path)
        assert refused.status_code == 409, path
        assert "reports are built after it closes" in refused.text
    # The report job refuses too, and nothing was stored on any path.
    await insider.app.state["queue"].enqueue("build_report", round_id, job_id=f"early:{round_id}")
    await insider.jobs()
    from pulse.models import Report

    assert not await Report.exists(round_id=round_id)
    # After close, the report is there for everyone who may read it.
    await insider.answer("sales6@acme.test", 5)
    await insider.close_round(round_id)
    assert (await insider.api.get(f"/api/v1/rounds/{round_id}/report")).status_code == 200


async def test_attack_2_control_without_the_release_rule_two_builds_give_a_late_answer(
    insider: Insider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulse.domain.scoring import score_response

    monkeypatch.setattr(release, "is_released", lambda round_: True)
    # The privacy noise is a second defence against this attack: off too, so the control shows the
    # release rule's own effect (pulse.services.reports.privacy_budget_for is the one switch).
    monkeypatch.setattr(reports, "privacy_budget_for", lambda round_: None)
    round_id = await insider.open_round()
    for address in [f"sales{i}@acme.test" for i in range(10)]:
        await insider.answer(address, 3)  # every item 3: every dimension score 50
    # The insider builds the report (as `pulse report --rebuild` does) while the round is open ...
    first = (await reports.build_report(round_id, insider.settings, force=True)).model
    await insider.answer(VICTIM, 5)  # the late respondent
    second = (await reports.build_report(round_id, insider.settings, force=True)).model
    assert first is not None and second is not None
    served = await insider.api.get(f"/api/v1/rounds/{round_id}/report")
    assert served.status_code == 200 and served.json()["organization"] == second["organization"]
    # ... and the difference of the two builds is the late respondent's score.
    found = await Round.get(id=round_id)
    truth = score_response({key: 5 for key in found.item_keys}, found.item_keys)
    dimension = max((d for d in truth if truth[d] is not None), key=lambda d: abs(float(truth[d] or 50) - 50))
    total_1, n_1 = organization_sum(first, dimension)
    total_2, n_2 = organization_sum(second, dimension)
    assert n_2 == n_1 + 1
    # Released precision bounds the error of n x mean (whole numbers: n/2 per build), far below the
    # distance between her answer and everyone else's.
    assert abs((total_2 - total_1) - float(truth[dimension] or 0)) <= (n_1 + n_2) / 2 + 1
    assert abs(float(truth[dimension] or 0) - 50) > (n_1 + n_2) / 2 + 1


# ---------------------------------------------------------------- attack 5: tiny scopes

PADDING = tuple((f"pad{i}@acme.test", "Legal") for i in range(9))
#: Four mailboxes: with Lena, Legal has k = 5 long-standing people once they have waited, enough for every
#: figure's own gate (organisation figures need k long-standing answers) and short of the scope rule's 2k.
SETTLED_PADDING = PADDING[:4]


async def _pad_legal(insider: Insider, padding: tuple[tuple[str, str], ...] = PADDING) -> None:
    """The insider puts mailboxes they own (nine unless told) into Legal, next to Lena."""
    padded = await insider.api.post(
        "/api/v1/people/import", content=directory_csv(extra=padding), headers={"content-type": "text/csv"}
    )
    assert padded.status_code == 200, padded.text


async def _wait_out_the_quarantine(padding: tuple[tuple[str, str], ...] = PADDING) -> None:
    """The patient insider: the padding was imported 30 days ago (past the 28-day quarantine)."""
    from datetime import timedelta

    from pulse import clock
    from pulse.models import Person

    await Person.filter(email__in=[a for a, _ in padding]).update(joined_at=clock.now() - timedelta(days=30))


async def test_attack_5_a_padded_scope_is_refused_everywhere(insider: Insider) -> None:
    await _pad_legal(insider)
    code, out, err = await insider.cli("round", "open", "acme", "--department", "Legal")
    assert code == 1 and out == ""
    assert err.strip() == (
        "pulse: error: scope 'Legal' has 1 person to invite (and 9 newcomers, who count only in organisation "
        "figures): a round for part of the organisation needs at least 10 (twice the minimum group size 5), or its "
        "organisation-wide figures would be about a few people"
    )
    refused = await insider.api.post("/api/v1/rounds", json={"departments": ["Legal"]})
    assert refused.status_code == 422 and "(and 9 newcomers" in refused.json()["error"]["message"]
    web = await _open_on_the_web(insider, "Legal")
    assert web.status_code == 422 and "(and 9 newcomers, who count only in organisation figures)" in web.text
    assert not await Round.exists()


async def test_attack_5_a_round_scoped_to_a_few_people_is_refused_everywhere(insider: Insider) -> None:
    code, out, err = await insider.cli("round", "open", "acme", "--department", "Legal", "--department", "Support")
    assert code == 1 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("pulse: error: scope 'Legal', 'Support' has 9 people ") and "needs at least 10" in line
    refused = await insider.api.post("/api/v1/rounds", json={"departments": ["Legal"]})
    assert refused.status_code == 422 and "needs at least 10" in refused.json()["error"]["message"]
    web = await _open_on_the_web(insider, "Legal", "Support")
    assert web.status_code == 422
    assert (
        "Scope &#39;Legal&#39;, &#39;Support&#39; has 9 people to invite" in web.text
        and "needs at least 10" in web.text
    )
    await insider.jobs()
    assert not await Round.exists()
    assert not insider.smtp.messages


async def _open_on_the_web(insider: Insider, *units: str) -> httpx.Response:
    """The web app's form to open a round, for these units only (its unit picker)."""
    from tests.web.conftest import form_post

    return await form_post(
        insider.web,
        "/orgs/acme/rounds",
        "/orgs/acme/rounds",
        {"closes_in_days": "7", "scope": "units", "unit": list(units)},
    )


async def _open_for_legal(insider: Insider, path: str) -> httpx.Response:
    if path == "api":
        return await insider.api.post("/api/v1/rounds", json={"departments": ["Legal"]})
    return await _open_on_the_web(insider, "Legal")


@pytest.mark.parametrize("path", ["api", "web"])
async def test_attack_5_control_without_the_scope_rule_the_organisation_enps_is_her_answer(
    insider: Insider, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The patient insider puts four mailboxes next to Lena and waits out the quarantine: a round for
    Legal alone passes every figure's own gate (k = 5 long-standing people) and only the scope rule (2k)
    stops it, on the API and in the web form. Without the rule, the round's "organisation" is Legal."""
    from pulse.services import rounds

    await _pad_legal(insider, SETTLED_PADDING)
    await _wait_out_the_quarantine(SETTLED_PADDING)
    refused = await _open_for_legal(insider, path)
    assert refused.status_code == 422 and "Legal&#39; has 5 people to invite" in refused.text.replace("'", "&#39;")
    monkeypatch.setattr(rounds, "check_scope", lambda *args: None)
    # The privacy noise on eNPS counts is a second defence: off too, to show the scope rule's own effect.
    monkeypatch.setattr(reports, "privacy_budget_for", lambda round_: None)
    # The eNPS is only shown from 30 answers (its interval is too wide below); this control lifts that
    # minimum too, to show what the scope rule alone prevents.
    monkeypatch.setattr("pulse.domain.report.MIN_ENPS_RESPONSES", 0)
    opened = await _open_for_legal(insider, path)
    if path == "api":
        assert opened.status_code == 201, opened.text
        round_id = int(opened.json()["id"])
    else:
        assert opened.status_code == 303, opened.text
        round_id = int(opened.headers["location"].rsplit("/", 1)[1])
    await insider.jobs()
    for address, _ in SETTLED_PADDING:
        await insider.answer(address, 1)  # eNPS 0: four known detractors
    await insider.answer(VICTIM, 5)  # eNPS 10
    await insider.close_round(round_id)
    model = (await insider.api.get(f"/api/v1/rounds/{round_id}/report")).json()
    enps = model["enps"]
    # "The organisation" of this round is Legal: minus the four known detractors, Lena is a promoter.
    assert enps is not None, "the organisation's eNPS was not released"
    assert (enps["promoters"], enps["detractors"] - len(SETTLED_PADDING)) == (1, 0)


# ---------------------------------------------------------------- attack 1: directory padding


def _padding_csv(padding: tuple[tuple[str, str], ...]) -> bytes:
    return directory_csv(extra=padding)


async def _import_everywhere(insider: Insider, body: bytes) -> list[tuple[int, str]]:
    """The same import through the CLI, the web page and the API: (status or exit code, message)."""
    path = insider.tmp / "padded.csv"
    path.write_bytes(body)
    code, out, err = await insider.cli("people", "import", "acme", str(path))
    results = [(code, out + err)]
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await insider.web.get("/orgs/acme/people")).text)
    assert token is not None
    page = await insider.web.post(
        "/orgs/acme/people/import",
        data={"csrf_token": token.group(1)},
        files={"file": ("padded.csv", body, "text/csv")},
    )
    results.append((page.status_code, page.text))
    api = await insider.api.post("/api/v1/people/import", content=body, headers={"content-type": "text/csv"})
    results.append((api.status_code, api.text))
    return results


PLUS_PADDING = tuple((f"sales0+legal{i}@acme.test", "Legal") for i in range(9))


async def test_attack_1_plus_addresses_of_one_mailbox_are_refused_on_every_path(insider: Insider) -> None:
    from pulse.models import Person

    for status, text in await _import_everywhere(insider, _padding_csv(PLUS_PADDING)):
        assert status in (1, 422), text
        assert "sales0+legal0@acme.test is the same mailbox as sales0@acme.test" in text
        assert "one mailbox, one person" in text
    assert await Person.filter(department__name="Legal").count() == 1


async def test_attack_1_control_without_mailbox_keys_plus_addresses_pad_a_department(
    insider: Insider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulse.models import Person
    from pulse.services import people

    monkeypatch.setattr(people, "mailbox_key", lambda address: address)
    imported = await insider.api.post(
        "/api/v1/people/import", content=_padding_csv(PLUS_PADDING), headers={"content-type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    assert await Person.filter(department__name="Legal").count() == 10


async def test_attack_1_addresses_outside_the_organisation_domains_are_refused_and_named(insider: Insider) -> None:
    from pulse.models import Person

    code, out, err = await insider.cli("org", "update", "acme", "--email-domain", "acme.test")
    assert code == 0, err
    assert out.strip() == "organisation acme: email addresses from acme.test; newcomer quarantine 28 days"
    outside = tuple((f"legal-pad{i}@mailbox.example", "Legal") for i in range(9))
    for status, text in await _import_everywhere(insider, _padding_csv(outside)):
        assert status in (1, 422), text
        assert "legal-pad0@mailbox.example is outside the organisation&#39;s email domains (acme.test)" in text or (
            "legal-pad0@mailbox.example is outside the organisation's email domains (acme.test)" in text
        )
    assert await Person.filter(department__name="Legal").count() == 1


def _estimate_of_the_victim(model: dict[str, Any], dimension: str, padded: int, known: float) -> float | None:
    """The padding attack's arithmetic: the organisation's sum minus every shown department's sum minus
    the padding's known answers, all of it put down to the victim. None when a figure is not released."""
    organization = model["organization"][dimension]
    if organization["mean"] is None:
        return None
    total, n = float(organization["mean"]) * int(organization["n"]), int(organization["n"])
    for department in model["departments"]:
        cell = (department.get("scores") or {}).get(dimension)
        if cell:
            total -= float(cell["mean"]) * int(cell["n"])
            n -= int(cell["n"])
    total -= padded * known
    n -= padded
    return total / n if n > 0 else None


async def _padding_round(
    insider: Insider, *, others_comment: bool = True
) -> tuple[int, dict[str, Any], dict[str, float | None], str, str]:
    """The whole padding attack: pad Legal, open a round, answer the padding with known values and write
    known comments, everyone else answers too; returns the round, its report, Lena's true scores, and
    the survey pages Lena and a padded address saw."""
    from pulse.domain.scoring import score_response

    await _pad_legal(insider)
    round_id = await insider.open_round()
    for address, _ in PADDING:
        page = await insider.answer(address, 1, comment=f"padding comment {address}")
    padded_page = page
    for department, size in DIRECTORY.items():
        for i in range(size):
            address = f"{department.lower()}{i}@acme.test"
            if address != VICTIM:
                comment = f"comment from {address}" if others_comment else None
                await insider.answer(address, 3, comment=comment)  # all 3: every score 50
    victim_page = await insider.answer(VICTIM, 5, comment="her comment")
    await insider.close_round(round_id)
    report = await insider.api.get(f"/api/v1/rounds/{round_id}/report")
    assert report.status_code == 200, report.text
    found = await Round.get(id=round_id)
    truth = score_response({key: 5 for key in found.item_keys}, found.item_keys)
    return round_id, report.json(), truth, victim_page, padded_page


async def test_attack_1_padding_with_newcomers_isolates_neither_her_scores_nor_her_comment(
    insider: Insider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nine mailboxes the insider owns in the organisation's own domain pass the import, but they are
    newcomers: counted at organisation level only. Lena's department shows nothing, the organisation
    total minus everything shown minus the padding mixes her with at least k long-standing others, and
    her comment sits among at least 10 long-standing writers. (The patient insider who waits out the
    quarantine is left to the noise on department figures, the pool sentence and the audit page.)"""
    from pulse.domain.scoring import score_response

    # The quarantine alone must defeat this: with the privacy noise on as well, whether the estimate
    # lands nearer her or the others would depend on the draw, and the test would prove nothing.
    monkeypatch.setattr(reports, "privacy_budget_for", lambda round_: None)
    round_id, model, truth, victim_page, padded_page = await _padding_round(insider)
    assert "your answers count in the organisation's figures only." in padded_page
    found = await Round.get(id=round_id)
    known_scores = score_response({key: 1 for key in found.item_keys}, found.item_keys)
    assert "Legal" not in [d["name"] for d in model["departments"] if not d["suppressed"]]
    others = score_response({key: 3 for key in found.item_keys}, found.item_keys)
    checked = 0
    for dimension, true_score in truth.items():
        estimate = _estimate_of_the_victim(model, dimension, len(PADDING), float(known_scores[dimension] or 0))
        gap = abs(float(true_score or 0) - float(others[dimension] or 0))
        if estimate is None or true_score is None or gap < 10:
            continue  # nothing released, or she answered like everyone else: nothing to tell apart
        # The arithmetic mixes her with the 8 long-standing people complementary suppression hid too: the
        # "estimate of her" lands nearer to what everyone else answered than to what she answered.
        assert abs(estimate - true_score) > abs(estimate - float(others[dimension] or 0)), (dimension, estimate)
        checked += 1
    assert checked >= 1
    group = next(g for g in model["comments"] if any(c["text"] == "her comment" for c in g["comments"]))
    others = [c["text"] for c in group["comments"] if not c["text"].startswith("padding comment")]
    assert len(others) >= 10  # her comment and at least nine long-standing colleagues' comments
    # She can see for herself that her department's figures pool her with nobody.
    assert "Your answers are combined with those of 0 colleagues in Legal." in victim_page


async def test_attack_1_control_without_the_quarantine_padding_gives_her_scores_and_comment(
    insider: Insider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulse.domain.scoring import score_response
    from pulse.services import rounds

    monkeypatch.setattr(rounds, "_recent", lambda moment, since: False)
    # The privacy noise on department figures is the next defence: off too, to show the quarantine's own effect.
    monkeypatch.setattr(reports, "privacy_budget_for", lambda round_: None)
    # Nobody else writes a comment: what decides is whether Legal's comments are released as Legal's.
    round_id, model, truth, page, _ = await _padding_round(insider, others_comment=False)
    found = await Round.get(id=round_id)
    known_scores = score_response({key: 1 for key in found.item_keys}, found.item_keys)
    legal = next(d for d in model["departments"] if d["name"] == "Legal")
    assert not legal["suppressed"]
    for dimension, true_score in truth.items():
        cell = legal["scores"].get(dimension)
        if cell is None or true_score is None:
            continue
        estimate = float(cell["mean"]) * int(cell["n"]) - len(PADDING) * float(known_scores[dimension] or 0)
        assert abs(estimate - true_score) <= int(cell["n"]) / 2 + 1  # exact up to the released precision
    # Comment groups are planned on who answered, not on who wrote: Legal (ten with the padding) joins
    # the pool with Support's eight, who wrote nothing, so the pool holds her comment and the padding's.
    [group] = [g for g in model["comments"] if any(c["text"] == "her comment" for c in g["comments"])]
    mine = [c["text"] for c in group["comments"] if not c["text"].startswith("padding comment")]
    assert mine == ["her comment"]  # the one comment the insider did not write
    # What she saw warned her: nine "colleagues" in a department of one.
    assert "Your answers are combined with those of 9 colleagues in Legal." in page


# ---------------------------------------------------------------- attack 3: live participation


async def _poll(insider: Insider, round_id: int, *, cli: bool = True) -> dict[str, str]:
    """Every participation output there is: both web pages, the API, and the CLI (JSON and text)."""
    outputs = {
        "overview": (await insider.web.get("/orgs/acme")).text,
        "round page": (await insider.web.get(f"/rounds/{round_id}")).text,
        "api": (await insider.api.get(f"/api/v1/rounds/{round_id}/participation")).text,
    }
    if cli:
        for name, args in (("cli json", ("--json",)), ("cli", ())):
            code, out, err = await insider.cli("round", "status", str(round_id), *args)
            assert code == 0, err
            outputs[name] = out
    return outputs


async def _live_round(insider: Insider) -> int:
    round_id = await insider.open_round()
    for i in range(10):
        await insider.answer(f"sales{i}@acme.test", 3)
    return round_id


async def test_attack_3_polling_every_output_while_one_person_answers_shows_nothing(
    insider: Insider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from pulse import clock
    from pulse.domain.participation import coarse_participation
    from pulse.services import participation

    round_id = await _live_round(insider)
    before = await _poll(insider, round_id)
    await insider.answer(VICTIM, 5)
    # Polled again at once (and as often as they like within the hour): every output is identical.
    assert await _poll(insider, round_id) == before
    # Across the next snapshot the figures move, if at all, in a step that depends on counts only:
    # had any other not-yet-answered person (here: someone in Stores) answered instead of Lena, every
    # output would be exactly the same. So the change cannot be pinned on her.
    later = clock.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    after = json.loads((await insider.api.get(f"/api/v1/rounds/{round_id}/participation")).text)
    counts = await participation._counts(round_id)
    instead = [
        c
        if c.name not in ("Legal", "Stores")
        else type(c)(c.name, c.invited, c.responded + (c.name == "Stores") - (c.name == "Legal"))
        for c in counts
    ]
    expected = coarse_participation(instead, 5)
    assert {key: after[key] for key in expected} == expected
    assert after["departments_hidden"] >= 1 and "Legal" not in json.dumps(after["departments"])
    assert "@" not in json.dumps(after)


async def test_attack_3_control_with_live_exact_counts_her_answer_shows_at_once(
    insider: Insider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulse.services import participation

    async def exact(found: Round, k: int) -> tuple[dict[str, Any], str | None]:
        return participation._exact(await participation._counts(found.id), k), None

    monkeypatch.setattr(participation, "_snapshot", exact)
    round_id = await _live_round(insider)
    before = await _poll(insider, round_id, cli=False)
    await insider.answer(VICTIM, 5)
    after = await _poll(insider, round_id, cli=False)
    # The organisation count went up by one the second she answered: the insider, watching her,
    # knows she answered and when.
    assert json.loads(after["api"])["responded"] == json.loads(before["api"])["responded"] + 1
    assert after["round page"] != before["round page"] and after["overview"] != before["overview"]


# ---------------------------------------------------------------- attack 4: precision


async def test_attack_4_released_scores_carry_no_decimals_to_recover_sums_from(insider: Insider) -> None:
    """Four decimals and n give a cell's exact sum; whole numbers on 0-100 leave n/2 points of doubt
    per cell (the rounding itself is the privacy helper's; this plays the attack through the API)."""
    round_id = await insider.open_round()
    for department, size in DIRECTORY.items():
        for i in range(size):
            await insider.answer(f"{department.lower()}{i}@acme.test", 2 + (i % 3))
    await insider.close_round(round_id)
    model = (await insider.api.get(f"/api/v1/rounds/{round_id}/report")).json()
    cells = [model["organization"][d] for d in model["organization"]]
    cells += [cell for d in model["departments"] for cell in (d.get("scores") or {}).values()]
    released = [cell[key] for cell in cells for key in ("mean", "ci_low", "ci_high") if cell.get(key) is not None]
    assert released and all(float(value) == int(value) for value in released)
    csv = (await insider.api.get(f"/api/v1/rounds/{round_id}/report.csv")).text
    numbers = re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", csv)
    assert not [n for n in numbers if float(n) != int(float(n))], numbers

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pulse.domain.simulation import DepartmentSpec
from pulse.errors import NotFound
from pulse.models import Department, Organization, Report
from pulse.services import reports
from pulse.settings import Settings
from tests.services.test_reports import seed_round

TREE_SPECS = [
    DepartmentSpec("Retail / North / Store 1", 20, 0.9, {"fear": 20.0}),
    DepartmentSpec("Retail / North / Store 2", 18, 0.9),
    DepartmentSpec("Retail / South / Store 3", 22, 0.9),
    DepartmentSpec("Operations / Warehouse", 25, 0.9, isolated=True),
    DepartmentSpec("Service / Customer Service", 30, 0.9, {"initiative": 18.0}),
]
OUTSIDE_NORTH = ("Store 3", "South", "Warehouse", "Operations", "Customer Service")


async def _seed() -> tuple[Organization, int]:
    organization = await Organization.create(slug="acme", name="Acme Retail")
    departments = {s.name: await Department.create(organization=organization, name=s.name) for s in TREE_SPECS}
    round_, _ = await seed_round(organization, departments, 1, seed=11, specs=TREE_SPECS)
    return organization, round_.id


async def test_a_scoped_report_shows_its_units_and_the_organisation_and_names_nothing_else(db: Settings) -> None:
    organization, round_id = await _seed()
    whole = json.loads((await reports.export(round_id, "json", db)).content)
    scope = await reports.resolve_scope(organization.id, ["retail/north"])
    scoped = json.loads((await reports.export(round_id, "json", db, scope=scope)).content)
    assert scoped["scope"]["units"] == ["Retail / North"]
    # The region with everything below it, against the rest of the organisation, is the organisation
    # model's own pooled row; its rows are the units just below it.
    assert [r["name"] for r in scoped["scope"]["rows"]] == ["Retail / North"]
    # (less its silo index among its own siblings, which is about the units around it, outside the scope)
    sibling = {"silo_index": None, "silo_low": None, "silo_high": None}
    assert scoped["scope"]["rows"] == [{**u, **sibling} for u in whole["units"] if u["name"] == "Retail / North"]
    assert [d["name"] for d in scoped["departments"]] == ["Retail / North / Store 1", "Retail / North / Store 2"]
    # The organisation's figures are there for context, exactly as in the organisation's report.
    assert (scoped["organization"], scoped["participation"]) == (whole["organization"], whole["participation"])
    # Every unit figure is the organisation report's own: a scoped report releases no new cell.
    by_name = {d["name"]: d for d in whole["departments"]}
    assert all(d == by_name[d["name"]] for d in scoped["departments"])
    # Playing the reader of the scoped report: no other subtree is named anywhere in it.
    text = json.dumps(scoped)
    assert [name for name in OUTSIDE_NORTH if name in text] == []
    assert all(name in json.dumps(whole) for name in OUTSIDE_NORTH)


async def test_a_scoped_csv_and_pdf_hold_only_the_scope(db: Settings, tmp_path: Path) -> None:
    organization, round_id = await _seed()
    scope = await reports.resolve_scope(organization.id, ["Retail / North"])
    rows = list(csv.DictReader(io.StringIO((await reports.export(round_id, "csv", db, scope=scope)).content.decode())))
    assert {r["department"] for r in rows} == {"Retail / North / Store 1", "Retail / North / Store 2"}
    pdf = await reports.export(round_id, "pdf", db, scope=scope)
    assert pdf.filename == f"pulse-report-round-{round_id}-retail-north.pdf"
    path = tmp_path / "scoped.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Your scope: Retail / North" in " ".join(text.split())
    assert [name for name in OUTSIDE_NORTH if name in text] == []


async def test_a_scoped_pdf_is_in_the_organisations_language_unless_a_reader_asks_for_another(
    db: Settings, tmp_path: Path
) -> None:
    # `pulse report --unit` names no reader: the scope's PDF follows the organisation's default language,
    # like the stored PDF of the whole organisation (it was English whatever the organisation spoke).
    organization, round_id = await _seed()
    organization.locale = "de"
    await organization.save(update_fields=["locale"])
    scope = await reports.resolve_scope(organization.id, ["Retail / North"])

    def text_of(content: bytes) -> str:
        path = tmp_path / "scoped.pdf"
        path.write_bytes(content)
        return " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout.split())

    german = text_of((await reports.export(round_id, "pdf", db, scope=scope)).content)
    assert "Ihr Bereich: Retail / North" in german and "Your scope" not in german
    french = text_of((await reports.export(round_id, "pdf", db, scope=scope, locale="fr")).content)
    assert "Votre périmètre" in french and "Ihr Bereich" not in french


async def test_an_unknown_scope_is_refused_by_name(db: Settings) -> None:
    organization, _ = await _seed()
    with pytest.raises(NotFound, match="no unit 'Retail / West'"):
        await reports.resolve_scope(organization.id, ["Retail / West"])


async def test_each_leader_gets_their_scopes_report_by_email_exactly_once(db: Settings, smtp_server: Any) -> None:
    from pulse.mail import SmtpMailer
    from pulse.models import User, UserRole
    from pulse.settings import parse_smtp_url

    organization, round_id = await _seed()
    units = {d.name: d.id for d in await Department.filter(organization=organization)}
    north = [units["Retail / North / Store 1"], units["Retail / North / Store 2"]]
    for email, unit_ids in (("ceo@acme.test", None), ("north@acme.test", north), ("store1@acme.test", north[:1])):
        await User.create(
            email=email, password_hash="x", role=UserRole.LEADER, organization=organization, unit_ids=unit_ids
        )
    await reports.build_report(round_id, db)
    settings = db.with_overrides(attach_report_pdf=True)
    smtp = parse_smtp_url(smtp_server.url)
    assert smtp is not None
    assert await reports.email_report(round_id, settings, SmtpMailer(smtp)) == 3
    assert await reports.email_report(round_id, settings, SmtpMailer(smtp)) == 0
    by_recipient = {str(m["To"]).rsplit("<", 1)[-1].rstrip(">"): m for m in smtp_server.messages}
    assert sorted(by_recipient) == ["ceo@acme.test", "north@acme.test", "store1@acme.test"]

    def attached(address: str) -> tuple[str, bytes]:
        parts = [p for p in by_recipient[address].walk() if p.get_content_type() == "application/pdf"]
        assert len(parts) == 1
        return str(parts[0].get_filename()), parts[0].get_content()

    stored = await Report.get(round_id=round_id)
    assert attached("ceo@acme.test") == ("pulse-report-round-1.pdf", bytes(stored.pdf or b""))
    name, pdf = attached("north@acme.test")
    # This leader reads both stores of Retail / North (the region itself has no row of its own here).
    assert name == "pulse-report-round-1-retail-north-store-1-retail-north-store-2.pdf" and pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    assert "Your scope: Retail / North / Store 1, Retail / North / Store 2" in " ".join(text.split())
    assert [n for n in OUTSIDE_NORTH if n in text] == []
    assert attached("store1@acme.test")[0] == "pulse-report-round-1-retail-north-store-1.pdf"


def _pdf_text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode()


async def test_a_person_the_directory_marks_leader_gets_their_own_units_report_unless_an_account_says_otherwise(
    db: Settings, smtp_server: Any
) -> None:
    """A `role=leader` row of the people file is emailed the report of the unit it sits in (and everything
    below it), never the whole organisation; a leader account for the same address decides instead."""
    from pulse.mail import SmtpMailer
    from pulse.models import Person, PersonRole, User, UserRole
    from pulse.settings import parse_smtp_url

    organization, round_id = await _seed()
    units = {d.name: d for d in await Department.filter(organization=organization)}
    for email, unit in (
        ("store1.lead@acme.test", "Retail / North / Store 1"),
        ("ops@acme.test", "Operations / Warehouse"),
    ):
        await Person.create(
            organization=organization, email=email, name=email, department=units[unit], role=PersonRole.LEADER
        )
    # The head of operations also has an account of the whole organisation: it wins.
    await User.create(email="ops@acme.test", password_hash="x", role=UserRole.LEADER, organization=organization)
    await reports.build_report(round_id, db)
    smtp = parse_smtp_url(smtp_server.url)
    assert smtp is not None
    assert await reports.email_report(round_id, db.with_overrides(attach_report_pdf=True), SmtpMailer(smtp)) == 2
    by_recipient = {str(m["To"]).rsplit("<", 1)[-1].rstrip(">"): m for m in smtp_server.messages}

    def attached(address: str) -> tuple[str, str]:
        parts = [p for p in by_recipient[address].walk() if p.get_content_type() == "application/pdf"]
        assert len(parts) == 1
        return str(parts[0].get_filename()), " ".join(_pdf_text(parts[0].get_content()).split())

    name, text = attached("store1.lead@acme.test")
    assert name == "pulse-report-round-1-retail-north-store-1.pdf" and "Your scope: Retail / North / Store 1" in text
    # Playing the store manager: neither the PDF nor the email names another unit.
    body = by_recipient["store1.lead@acme.test"].get_body(preferencelist=("plain",))
    assert body is not None
    assert [n for n in (*OUTSIDE_NORTH, "Store 2") if n in text or n in body.get_content()] == []
    name, text = attached("ops@acme.test")
    assert name == "pulse-report-round-1.pdf" and "Customer Service" in text

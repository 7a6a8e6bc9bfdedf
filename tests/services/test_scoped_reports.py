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
from pulse.models import Department, Organization
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
    assert scoped["scope"] == {"units": ["Retail / North"]}
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


async def test_an_unknown_scope_is_refused_by_name(db: Settings) -> None:
    organization, _ = await _seed()
    with pytest.raises(NotFound, match="no unit 'Retail / West'"):
        await reports.resolve_scope(organization.id, ["Retail / West"])


def _names(model: dict[str, Any]) -> set[str]:
    return {d["name"] for d in model["departments"]}

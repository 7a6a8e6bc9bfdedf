"""Every CSV Pulse writes opens in a spreadsheet as data: no cell runs as a formula.

Each file is read back the way a spreadsheet reads it (the csv module: quotes removed, one value per
cell), and a cell is safe when it does not start with a formula character, or starts with the
single quote that makes a spreadsheet show it as text.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from pulse.cli import main
from pulse.db import database
from pulse.domain.report import build_report
from pulse.models import Department
from pulse.services import reports
from pulse.services.demo import DEPARTMENTS, people_csv, simulated_report_input
from pulse.settings import Settings
from pulse.spreadsheet import FORMULA_STARTS, safe_cell
from tests.services.test_reports import seed_organization, seed_round

#: What the security test put into department names; each reached the CSV unchanged.
ATTACKS = (
    '=HYPERLINK("http://evil.example/x","click")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)",
)
NUMERIC = ("score", "ci_low", "ci_high", "difference_from_rest", "n")


def _read(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def _runs(cell: str) -> bool:
    """Would a spreadsheet run this cell (or hide a formula behind a tab or carriage return)?"""
    return cell.startswith(FORMULA_STARTS)


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=["equals", "plus", "minus", "at", "tab", "carriage-return"])
def test_a_department_name_starting_with_a_formula_character_is_text_in_the_report_csv(start: str) -> None:
    model: dict[str, Any] = build_report(simulated_report_input(DEPARTMENTS)).to_json()
    name = start + 'HYPERLINK("http://evil.example/x","click")'
    shown = next(d for d in model["departments"] if not d["suppressed"])
    shown["name"] = name
    rows = _read(reports.to_csv(model))
    mine = [row for row in rows if row["department"].endswith(name[1:])]
    assert len(mine) == 4
    for row in mine:
        assert row["department"] == "'" + name, "prefixed with a single quote, nothing else changed"
        # The figures stay numbers a spreadsheet can add up, negative ones included.
        assert all(isinstance(float(row[column]), float) for column in NUMERIC)
    assert not any(_runs(cell) and not _is_number(cell) for row in rows for cell in row.values())


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_negative_figures_stay_numbers_and_the_pdf_tests_read_them_as_before() -> None:
    model: dict[str, Any] = build_report(simulated_report_input(DEPARTMENTS)).to_json()
    rows = _read(reports.to_csv(model))
    negative = [row["difference_from_rest"] for row in rows if row["difference_from_rest"].startswith("-")]
    assert negative, "the simulation has departments below the rest"
    assert all(float(cell) < 0 for cell in negative)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("-3.2", "-3.2"),
        ("+4", "+4"),
        ("1e-05", "1e-05"),
        (-3.2, "-3.2"),
        (None, ""),
        (True, "1"),
        ("Sales", "Sales"),
        ("-1+1", "'-1+1"),
        ("-A1", "'-A1"),
        ("-3.2 ", "'-3.2 "),
        ("- 3", "'- 3"),
        ("=1", "'=1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
    ],
)
def test_safe_cell_quotes_formulas_and_leaves_plain_numbers(value: object, written: str) -> None:
    assert safe_cell(value) == written


def test_the_demo_directory_csv_goes_through_the_same_writer() -> None:
    data, _ = people_csv()
    rows = _read(data)
    assert rows and not any(_runs(cell) for row in rows for cell in row.values())


def test_pulse_report_csv_neutralises_the_security_test_department_names(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    async def seed() -> int:
        async with database(sqlite_settings):
            organization, departments = await seed_organization()
            for department, attack in zip(departments.values(), ATTACKS, strict=False):
                await Department.filter(id=department.id).update(name=attack)
            round_, _ = await seed_round(organization, departments, 1, seed=21)
            return round_.id

    round_id = asyncio.run(seed())
    out = tmp_path / "report.csv"
    with pytest.raises(SystemExit) as done:
        main(["report", str(round_id), "--format", "csv", "--out", str(out)])
        raise SystemExit(0)
    assert done.value.code == 0
    rows = _read(out.read_bytes())
    names = {row["department"] for row in rows}
    assert {"'" + attack for attack in ATTACKS} <= names
    assert not any(_runs(cell) and not _is_number(cell) for row in rows for cell in row.values())

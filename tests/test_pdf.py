"""The PDF report: its text (sections, departments, flags, nothing hidden leaks) and its agreement with
the JSON and CSV exports, number by number."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pulse.cli import main
from pulse.db import database
from pulse.domain.report import build_report
from pulse.pdf import FLAG_LABELS, render_pdf_sync
from pulse.services.demo import DEPARTMENTS, simulated_report_input
from pulse.settings import Settings
from tests.services.test_reports import SPECS, seed_organization, seed_round

SECTIONS = (
    "Contents",
    "Summary",
    "Key findings",
    "Where departments stand",
    "Departments by dimension",
    "Silos and collaboration",
    "The help network",
    "Trends",
    "What drives initiative",
    "Participation",
    "What people said",
    "What leaders can do",
    "Methodology",
    "Reliability and agreement",
    "All figures",
)
SHORT = {
    "fear": "Fear of blame",
    "initiative": "Permission to act",
    "consistency": "Leadership consistency",
    "collaboration": "Collaboration",
}


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as laid out on the page (pdftotext -layout), with print minus signs as ASCII."""
    if shutil.which("pdftotext") is None:  # pragma: no cover - poppler-utils is part of the machine setup
        pytest.fail("pdftotext (poppler-utils) is needed to read the PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True).stdout.decode()
    return text.replace("\u2212", "-")


def lines_of(text: str, name: str) -> list[str]:
    """The table rows that start with `name`, each as one line.

    pdftotext -layout keeps a row on one line, except a cell that wraps: a first-column cell too
    narrow for `name` ("Customer Service" in the heatmap, laid out in DejaVu Sans) puts its first
    words on the row's line and the rest at the same column on the lines below. Such a row is
    joined back: the whole name, then the rest of the first line, then the rest of the others.
    """
    raw = text.splitlines()
    words = name.split()
    rows = []
    for i, line in enumerate(raw):
        stripped = line.strip()
        if stripped.startswith(name + " ") or stripped == name:
            rows.append(stripped)
            continue
        column = len(line) - len(line.lstrip())
        for k in range(1, len(words)):
            head = " ".join(words[:k])
            if not stripped.startswith(head + " "):
                continue
            rests, taken, j = [stripped[len(head) :]], k, i + 1
            while taken < len(words) and j < len(raw):
                below = raw[j]
                below_words = below.split()
                if len(below) - len(below.lstrip()) != column or not below_words:
                    break
                n = 0
                while n < len(below_words) and taken + n < len(words) and below_words[n] == words[taken + n]:
                    n += 1
                if n == 0:
                    break
                rests.append(below.strip()[len(" ".join(below_words[:n])) :])
                taken, j = taken + n, j + 1
            if taken == len(words):
                rows.append(" ".join([name, *(rest.strip() for rest in rests if rest.strip())]))
                break
    return rows


def hidden_lines_have_no_figures(text: str, model: dict[str, Any]) -> None:
    for department in model["departments"]:
        if not department["suppressed"]:
            continue
        name = department["name"]
        # Every line naming it, and its rows joined back where the name wraps (see lines_of).
        found = [line for line in text.splitlines() if name in line] + [
            row for row in lines_of(text, name) if row not in {line.strip() for line in text.splitlines()}
        ]
        assert found, f"{department['name']} should be listed as not shown"
        for line in found:
            assert "not shown" in line, line
            assert not re.search(r"\d", line.replace(department["name"], "")), f"a figure leaked: {line!r}"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    model = build_report(simulated_report_input(DEPARTMENTS)).to_json()
    text = pdf_text(render_pdf_sync(model), tmp_path_factory.mktemp("pdf"))
    return model, text


def test_the_pdf_holds_every_section_department_and_flag(demo_report: tuple[dict[str, Any], str]) -> None:
    model, text = demo_report
    for section in SECTIONS:
        assert section in text, section
    assert model["organization_name"] in text and "Round 4" in text
    for department in model["departments"]:
        assert department["name"] in text
    flags = {flag for d in model["departments"] for flag in d["flags"]}
    assert flags >= {"high_fear", "low_initiative", "inconsistent_leadership"}, "the simulation plants these"
    for flag in flags:
        assert FLAG_LABELS[flag] in text
    for finding in model["findings"]:
        assert " ".join(finding["text"].replace("\u2212", "-").split()[:6]) in " ".join(text.split())
    for guidance in model["guidance"]:
        assert guidance["title"] in text
    assert "Page 3 of" in text, "pages are numbered"
    assert text.count("Northwind Retail · culture report, Round 4") >= 10, "running header on every page"


def test_no_figure_of_a_hidden_department_appears_in_the_pdf(demo_report: tuple[dict[str, Any], str]) -> None:
    model, text = demo_report
    hidden = {d["name"]: d["suppression_reason"] for d in model["departments"] if d["suppressed"]}
    assert hidden == {"Legal": "below_min_group_size", "Human Resources": "complementary_suppression"}
    hidden_lines_have_no_figures(text, model)
    assert "not shown: too few answers" in text and "not shown: protects a smaller group" in text


def _seeded_round(settings: Settings) -> int:
    async def seed() -> int:
        async with database(settings):
            organization, departments = await seed_organization()
            await seed_round(organization, departments, 1, seed=21)
            round_, _ = await seed_round(organization, departments, 2, seed=22)
            return round_.id

    return asyncio.run(seed())


def _export(round_id: int, fmt: str, tmp_path: Path) -> bytes:
    out = tmp_path / f"report.{fmt}"
    with pytest.raises(SystemExit) as done:
        main(["report", str(round_id), "--format", fmt, "--out", str(out)])
        raise SystemExit(0)
    assert done.value.code == 0
    return out.read_bytes()


def test_json_csv_and_pdf_from_pulse_report_agree_on_every_number(sqlite_settings: Settings, tmp_path: Path) -> None:
    round_id = _seeded_round(sqlite_settings)
    model = json.loads(_export(round_id, "json", tmp_path))
    rows = list(csv.DictReader(io.StringIO(_export(round_id, "csv", tmp_path).decode())))
    text = pdf_text(_export(round_id, "pdf", tmp_path), tmp_path)

    cells = {(d["name"], key): cell for d in model["departments"] for key, cell in (d["scores"] or {}).items()}
    assert len(rows) == len(SPECS) * 4
    for row in rows:
        cell = cells.get((row["department"], row["dimension"]))
        if cell is None:
            assert row["suppressed"] == "1" and row["score"] == row["n"] == ""
            continue
        assert row["suppressed"] == "0"
        # Released precision: every 0-100 figure is a whole number in the JSON, the CSV and the PDF.
        assert all(isinstance(cell[f], int) for f in ("mean", "ci_low", "ci_high", "difference_from_rest"))
        assert int(row["score"]) == cell["mean"] and int(row["n"]) == cell["n"]
        assert (int(row["ci_low"]), int(row["ci_high"])) == (cell["ci_low"], cell["ci_high"])
        assert int(row["difference_from_rest"]) == cell["difference_from_rest"]
        assert row["flag"] == (cell["flag"] or "")
        # The appendix prints the same whole numbers.
        label = SHORT[row["dimension"]]
        printed = [line for line in lines_of(text, row["department"]) if f" {label} " in f" {line} "]
        difference = int(row["difference_from_rest"])
        expected = f"{row['score']} {row['ci_low']} to {row['ci_high']} {difference:+d} {row['n']}".replace("+0 ", "0 ")
        assert any(expected in " ".join(line.split()) for line in printed), (expected, printed)

    for department in model["departments"]:
        name = department["name"]
        if department["suppressed"]:
            continue
        # Heatmap row: the four whole-number scores, in dimension order.
        scores = [
            round(department["scores"][key]["mean"]) for key in ("fear", "initiative", "consistency", "collaboration")
        ]
        # A long name may wrap inside its cell (the column is as wide as the data needs): the row's
        # first line then starts with the name's first words.
        words = name.split()
        prefixes = [" ".join(words[:i]) for i in range(len(words), 0, -1)]
        heat = [
            [int(v) for v in match.group(1).split()[:4]]
            for line in text.splitlines()
            for prefix in prefixes
            if (match := re.fullmatch(rf"{re.escape(prefix)}\s+((\d+\s+){{3}}\d+)(\s+.*)?", line.strip()))
        ]
        assert scores in heat, (scores, heat)
        # Participation row: invited, answered, rate.
        if department["invited"] is not None:
            rate = round(100 * department["participation_rate"])
            expected = f"{name} {department['invited']} {department['responded']} {rate}%"
            assert any(" ".join(line.split()) == expected for line in lines_of(text, name)), expected
    for key, score in model["organization"].items():
        assert f"{round(score['mean'])} / 100" in text, key
    participation = model["participation"]
    assert f"{participation['responded']} of {participation['invited']} invited" in " ".join(text.split())
    hidden_lines_have_no_figures(text, model)
    assert {d["name"] for d in model["departments"] if d["suppressed"]} == {"Tiny Lab", "Finance"}


def test_pulse_report_refuses_an_unknown_round_and_a_missing_directory(
    sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["report", "4242", "--format", "json", "--out", str(tmp_path / "x.json")])
    assert done.value.code == 1
    assert "no round with id 4242" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["report", "1", "--format", "json", "--out", str(tmp_path / "missing" / "x.json")])
    assert done.value.code == 1
    assert not (tmp_path / "x.json").exists()

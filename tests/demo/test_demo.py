"""`pulse demo` on a fresh var/ directory with nothing configured, as `make demo` runs it."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pulse.settings import PROJECT_ROOT


@pytest.mark.slow
def test_pulse_demo_runs_with_nothing_configured_and_prints_the_path_of_a_real_pdf(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULSE_")}
    env["PULSE_VAR_DIR"] = str(tmp_path / "var")
    pulse = Path(sys.executable).parent / "pulse"
    done = subprocess.run(
        [str(pulse), "demo"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "round 4 closed" in out and "answers [" in out, "a line per step and a progress bar"
    pdf = Path(out.strip().splitlines()[-2].split("PDF report: ", 1)[1])
    assert pdf == tmp_path / "var" / "demo" / "report-round-4.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")

    model = json.loads((pdf.parent / "report-round-4.json").read_text())
    flags = {d["name"]: set(d["flags"]) for d in model["departments"]}
    assert "high_fear" in flags["Service / Customer Service"]
    assert "low_initiative" in flags["Retail / Stores North / Store 11"]
    assert "inconsistent_leadership" in flags["Operations / Warehouse"]
    # Logistics is cut off from everyone: its people name almost no unit outside it (towards the rest;
    # between two siblings alone, the help network cannot single one of them out).
    rows = {d["name"]: d for d in model["departments"]}
    assert max(rows, key=lambda name: rows[name]["rest_silo_index"] or 0.0) == "Operations / Logistics"
    assert rows["Operations / Logistics"]["outside_ties"] < 0.25 * rows["Operations / Warehouse"]["outside_ties"]
    assert [level["parent"] for level in model["silo_levels"]][:2] == [None, "Operations"]
    assert model["drivers"]["organization"]["weights"][0]["dimension"] == "fear", "the planted driver"
    assert [p["label"] for p in model["trends"]["organization"]["fear"]["points"]] == [
        "Round 1",
        "Round 2",
        "Round 3",
        "Round 4",
    ]
    assert 0.7 <= model["participation"]["rate"] <= 0.9
    assert {d["name"] for d in model["departments"] if d["suppressed"]} == {"Legal", "Human Resources"}

    outbox = sorted((pdf.parent / "outbox").glob("*.eml"))
    messages = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in outbox]
    subjects = [str(m["Subject"]) for m in messages]
    report_mails = [s for s in subjects if "report of round 4 is ready" in s]
    assert len(report_mails) == 2, "the two leaders"
    # The chief executive gets the organisation's report, the head of Stores North that region's.
    attached = {
        str(m["To"]).rsplit("<", 1)[-1].rstrip(">"): [p for p in m.walk() if p.get_content_type() == "application/pdf"]
        for m in messages
        if "report of round 4 is ready" in str(m["Subject"])
    }
    assert attached["ceo@northwind.example"][0].get_content() == pdf.read_bytes()
    scoped = pdf.parent / "report-round-4-stores-north.pdf"
    regional = attached["north.lead@northwind.example"][0]
    assert regional.get_filename() == "pulse-report-round-4-retail-stores-north.pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=regional.get_content(), capture_output=True, check=True
    ).stdout.decode()
    assert "Your scope: Retail / Stores North" in " ".join(text.split())
    assert "Store 11" in text and not any(n in text for n in ("Stores South", "Warehouse", "Customer Service"))
    assert scoped.read_bytes().startswith(b"%PDF")
    assert len(outbox) - len(report_mails) == 4 * 320, "one invitation per person per round"
    assert not (tmp_path / "var" / "pulse.sqlite3").exists(), "the demo keeps to var/demo/"

"""The report PDF is accessible: tagged (PDF/UA-1), its language set, its structure in page order, and
a text alternative with the numbers for every chart; and it is written in the reader's language."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from pulse import i18n
from pulse.domain.aggregates import RoundAggregates
from pulse.domain.drivers import headline_wording
from pulse.domain.items import OUTCOME_KEY
from pulse.domain.privacy import DEFAULT_BUDGET, release_round
from pulse.domain.report import build_report
from pulse.pdf import comment_text, render_html, render_pdf_sync
from pulse.services.demo import DEPARTMENTS, simulated_report_input


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    return build_report(simulated_report_input(DEPARTMENTS)).to_json()


@pytest.fixture(scope="module")
def french_pdf(model: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    with i18n.use("fr"):
        pdf = render_pdf_sync(model)
    path = tmp_path_factory.mktemp("pdf") / "rapport.pdf"
    path.write_bytes(pdf)
    return path


def _walk(node: Any, found: list[tuple[str, str | None]]) -> None:
    node = node.get_object()
    if isinstance(node, dict):
        kind = node.get("/S")
        if kind is not None:
            alt = node.get("/Alt")
            found.append((str(kind), str(alt) if alt is not None else None))
        kids = node.get("/K")
        if kids is not None:
            _walk(kids, found)
    elif isinstance(node, list):
        for kid in node:
            _walk(kid, found)


def structure(path: Path) -> list[tuple[str, str | None]]:
    root = PdfReader(io.BytesIO(path.read_bytes())).trailer["/Root"]
    found: list[tuple[str, str | None]] = []
    _walk(root["/StructTreeRoot"], found)
    return found


def test_pdfinfo_reports_the_report_as_tagged(french_pdf: Path) -> None:
    info = subprocess.run(["pdfinfo", str(french_pdf)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info


def test_the_document_language_is_the_readers(french_pdf: Path) -> None:
    root = PdfReader(io.BytesIO(french_pdf.read_bytes())).trailer["/Root"]
    assert str(root["/Lang"]) == "fr"
    assert str(root["/MarkInfo"]["/Marked"]) == "True"


def test_every_chart_is_a_figure_whose_alternative_text_gives_its_numbers(french_pdf: Path) -> None:
    tags = structure(french_pdf)
    figures = [alt for kind, alt in tags if kind == "/Figure"]
    assert len(figures) >= 8
    assert all(alt for alt in figures), "a chart without alternative text"
    # The interval charts name each department with its score and interval, in French.
    intervals = [alt for alt in figures if alt and "(intervalle à 95" in alt]
    pattern = re.compile(r"\d+ \(intervalle à 95 % \d+ à \d+\)")
    assert intervals and all(pattern.search(alt.replace("\u00a0", " ")) for alt in intervals)


def test_the_structure_follows_the_page_headings_then_tables(french_pdf: Path) -> None:
    kinds = [kind for kind, _ in structure(french_pdf)]
    assert kinds.count("/H1") >= 8 and "/Table" in kinds and "/TH" in kinds
    # Reading order = page order: the first heading comes before the first table.
    assert kinds.index("/H1") < kinds.index("/Table")


#: A fragment of each English sentence the sections print (what a translated report once left in English).
ENGLISH_SENTENCES = {
    "summary": ("problems flagged across", "department(s) shown", "(anchor statements):", "since Round"),
    "silos": ("pairs of departments reported no help",),
    "trends": (
        "What is compared",
        "How sure we are",
        "For each department shown in this round",
        "usually looks better in the next one",
        "Regression to the mean alone would move it",
        "The organisation's line compares",
        "organisation-wide trend",
    ),
    "drivers": (
        "What most holds back initiative",
        "Two forces matter most",
        "Together the four forces explain",
        "The outcome:",
        "The outcome statement was not asked",
        "bootstrap replicates in which",
        "Largest in",
        "Largest force",
        "Departments with at least",
        "(%%)",
    ),
    "comments": ("[name removed]", "[email removed]", "[phone removed]", "Other departments"),
    "methodology": (
        "Each answer is placed on a 0-100 scale",
        "Minimum group size k",
        "Groups with fewer than",
        "Each department is compared with the rest",
        "The silo index runs from 0",
        "One treatment of uncertainty",
        "Trends compare like with like",
        "Every figure about a department carries random noise",
        "carry no privacy noise",
        "Driver analysis:",
        "Outcome",
    ),
}
#: English words that never appear in French or German text: any of them left means an English sentence.
ENGLISH_WORDS = re.compile(r"\b(the|of|and|is|are|to|with|which|for|that|this|when|from|than|not|by|it|be)\b", re.I)
#: Names the report prints as they are, in every language.
PROPER_NAMES = ("Employee Net Promoter Score",)


def written_text(text: str, model: dict[str, Any], locale: str) -> str:
    """What the report itself wrote: the text, flattened, without the names and the words people wrote
    (department and organisation names, comments, with their removal markers in the reader's language)."""
    flat = " ".join(text.split())
    with i18n.use(locale):
        people = [comment_text(c["text"]) for g in model["comments"] for c in g["comments"]]
    names = [d["name"] for d in model["departments"]] + [model["organization_name"], *PROPER_NAMES]
    for words in sorted(people + names, key=len, reverse=True):
        flat = flat.replace(" ".join(words.split()), " ")
    return flat


def english_left(text: str, model: dict[str, Any], locale: str) -> list[str]:
    """Every English sentence fragment, catalog message or English word left in a translated report."""
    from tests.e2e.test_languages import english_fragments, leftovers

    written = written_text(text, model, locale)
    known = [f for fragments in ENGLISH_SENTENCES.values() for f in fragments if f in written]
    catalog = [f for f in leftovers(written, english_fragments()) if f not in PROPER_NAMES]
    words = [written[max(0, m.start() - 40) : m.end() + 40] for m in ENGLISH_WORDS.finditer(written)]
    return known + catalog + words


def html_text(html: str) -> str:
    """The text of the report's HTML (charts' text alternatives included), as a reader gets it."""
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html, flags=re.S)))


@pytest.mark.parametrize("locale", ["fr", "de"])
def test_the_report_is_written_in_the_readers_language(locale: str, model: dict[str, Any], tmp_path: Path) -> None:
    with i18n.use(locale):
        pdf = render_pdf_sync(model)
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    assert str(PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"]) == i18n.html_lang(locale)
    with i18n.use(locale):
        for heading in ("Summary", "Key findings", "Where departments stand", "What leaders can do", "Methodology"):
            assert i18n.gettext(heading) in text
        written = written_text(text, model, locale)
        # The sections that were English longest are there, in the reader's language.
        for english in ("Trends compare like with like", "What most holds back initiative", "Other departments"):
            assert english not in written
        assert model["drivers"]["departments"] and model["trends"]["departments"]
        flat = " ".join(text.split())
        assert i18n.gettext("[name removed]") in flat and i18n.gettext("Other departments") in flat
    # Nothing of the templates, charts, findings, guidance, methodology, trends, drivers or comment
    # markers is left in English: the comments people wrote and proper names are all that may be.
    assert not english_left(text, model, locale), english_left(text, model, locale)


def test_the_check_finds_english_left_in_a_report() -> None:
    # The check above can fail: an English sentence, a catalog message or a stray English word is found.
    model = {"comments": [], "departments": [{"name": "Store 12"}], "organization_name": "Acme"}
    assert english_left("Store 12 : Ce que le service a dit. Trends compare like with like.", model, "fr")
    assert english_left("Le score de Store 12 est bas (higher is better).", model, "fr")
    assert english_left("Wo die Abteilungen stehen, and why.", model, "de")
    assert not english_left("Store 12 : Ce que le service a dit (Employee Net Promoter Score).", model, "fr")


def _noisy_model() -> dict[str, Any]:
    # Every round released under the default privacy budget, with seeded noise (so the test repeats).
    from tests.domain.test_trends import SeededLaplace

    data = simulated_report_input(DEPARTMENTS)

    def released(departments: Any, seed: int) -> Any:
        return release_round(departments, DEFAULT_BUDGET, min_group_size=5, noise=SeededLaplace(seed)).departments

    history = [
        RoundAggregates(r.label, r.opened_on, released(r.departments, n)) for n, r in enumerate(data.previous_rounds)
    ]
    noisy = dataclasses.replace(
        data, departments=released(data.departments, 99), previous_rounds=history, privacy=DEFAULT_BUDGET
    )
    return build_report(noisy).to_json()


@pytest.fixture(scope="module")
def variants() -> dict[str, dict[str, Any]]:
    """Reports that take the branches the demo report does not: privacy noise, a round of another scope
    and the round after it, no outcome statement asked, a main driver the answers cannot single out."""
    from tests.domain.test_trends import DEPARTMENTS as TREND_DEPARTMENTS
    from tests.domain.test_trends import DepartmentSpec, _report

    warehouse = [DepartmentSpec("Warehouse", 30, 0.9, {"fear": 20.0})]
    rounds = [
        ("Round 1", TREND_DEPARTMENTS + warehouse, 1),
        ("Round 2", TREND_DEPARTMENTS + warehouse, 2),
        ("Round 3", warehouse, 3),
        ("Round 4", TREND_DEPARTMENTS + warehouse, 4),
    ]
    scoped, after = (report.to_json() for report in _report(rounds, 5)[2:])  # type: ignore[attr-defined]
    data = simulated_report_input(DEPARTMENTS)
    unasked = build_report(dataclasses.replace(data, items_asked=[k for k in data.items_asked if k != OUTCOME_KEY]))
    report = build_report(data)
    assert report.drivers is not None and report.drivers.organization is not None
    weights = report.drivers.organization.weights
    unclear = dataclasses.replace(
        report.drivers.organization, weights=(dataclasses.replace(weights[0], first=0.55), *weights[1:])
    )
    undecided = report.to_json()
    undecided["drivers"]["headline_wording"] = [dataclasses.asdict(w) for w in headline_wording(unclear)]
    return {
        "noise": _noisy_model(),
        "scoped round": scoped,
        "after a scoped round": after,
        "outcome not asked": unasked.to_json(),
        "no clear main driver": undecided,
    }


#: The sentence each variant is there for.
BRANCHES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "noise": lambda m: m["methodology"]["wording"]["privacy"],
    "scoped round": lambda m: m["trends"]["scope_wording"],
    "after a scoped round": lambda m: m["trends"]["scope_wording"],
    "outcome not asked": lambda m: m["drivers"]["headline_wording"][0],
    "no clear main driver": lambda m: m["drivers"]["headline_wording"][0],
}


@pytest.mark.parametrize("locale", ["fr", "de", "es", "pt_BR"])
def test_every_branch_of_the_report_is_written_in_the_readers_language(
    locale: str, variants: dict[str, dict[str, Any]]
) -> None:
    for name, variant in variants.items():
        with i18n.use(locale):
            text = html_text(render_html(variant))
            sentence = i18n.wording_text(BRANCHES[name](variant))
        with i18n.use("en"):
            english = i18n.wording_text(BRANCHES[name](variant))
        assert sentence and sentence != english and " ".join(sentence.split()) in " ".join(text.split()), name
        assert not english_left(text, variant, locale), (name, english_left(text, variant, locale))

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.domain.aggregates import DepartmentAggregates, RoundAggregates
from pulse.domain.errors import InconsistentAggregates, InvalidAnswer, MinGroupSizeTooSmall
from pulse.domain.items import DIMENSION_KEYS, compose_pulse
from pulse.domain.report import Report, ReportInput, build_report
from pulse.domain.simulation import DepartmentSpec, simulate_round
from pulse.domain.stats import Moments

TOP_LEVEL_KEYS = {
    "participation",
    "min_group_size",
    "dimensions",
    "organization",
    "departments",
    "trends",
    "silo_network",
    "methodology",
    "findings",
    "comments",
    "enps",
    "round",
    "organization_name",
}
DIRECTORY = ["Anna Berg", "anna.berg@acme.example"]


def _input(
    departments: Sequence[DepartmentAggregates],
    *,
    asked: Sequence[str] = compose_pulse(3),
    previous: Sequence[RoundAggregates] = (),
    k: int = 5,
    closed: bool = True,
) -> ReportInput:
    return ReportInput(
        organization_name="Acme",
        organization_slug="acme",
        round_id="r-3",
        round_number=3,
        opened_on="2025-03-03",
        closes_on="2025-03-10",
        closed=closed,
        min_group_size=k,
        comment_threshold=10,
        items_asked=asked,
        departments=departments,
        previous_rounds=previous,
        directory_terms=DIRECTORY,
        round_label="March",
    )


SPECS = [DepartmentSpec(f"Team {i:02d}", 25, 0.8) for i in range(10)] + [
    DepartmentSpec("Warehouse", 20, 1.0, {"fear": 25}, isolated=True),
    DepartmentSpec("Legal", 3, 1.0),
    DepartmentSpec("Facilities", 8, 1.0),
]


@pytest.fixture(scope="module")
def report() -> Report:
    previous = [
        RoundAggregates(label, opened, simulate_round(SPECS, seed=seed, round_number=n).aggregates())
        for n, (label, opened, seed) in enumerate([("January", "2025-01-06", 11), ("February", "2025-02-03", 12)], 1)
    ]
    current = simulate_round(SPECS, seed=13, round_number=3, directory_names=DIRECTORY[:1], comment_rate=0.5)
    return build_report(_input(current.aggregates(), asked=current.asked, previous=previous))


def test_the_json_has_the_documented_keys_and_survives_json_dumps(report: Report) -> None:
    data = report.to_json()
    assert set(data) >= TOP_LEVEL_KEYS
    json.dumps(data, allow_nan=False)
    assert data["min_group_size"] == 5
    assert [d["key"] for d in data["dimensions"]] == list(DIMENSION_KEYS)
    assert data["dimensions"][0] == {
        "key": "fear",
        "label": "Fear of blame",
        "higher_is_better": False,
        "description": data["dimensions"][0]["description"],
    }
    assert set(data["participation"]) == {"invited", "responded", "rate"}
    assert set(data["organization"]) == set(DIMENSION_KEYS)
    assert data["round"]["number"] == 3 and data["organization_name"] == "Acme"
    for department in data["departments"]:
        assert {"name", "invited", "responded", "suppressed", "scores", "flags", "silo_index"} <= set(department)


def test_suppressed_departments_show_nothing_but_their_name(report: Report) -> None:
    data = {d["name"]: d for d in report.to_json()["departments"]}
    # Legal has 3 answers; hiding it alone would let Facilities' neighbour subtraction reveal it,
    # so the next smallest department (Facilities) is hidden too.
    for name, reason in (("Legal", "below_min_group_size"), ("Facilities", "complementary_suppression")):
        assert data[name]["suppressed"] is True
        assert data[name]["suppression_reason"] == reason
        assert data[name]["invited"] is None and data[name]["responded"] is None
        assert data[name]["scores"] == {} and data[name]["flags"] == [] and data[name]["silo_index"] is None
    assert data["Warehouse"]["suppressed"] is False and data["Warehouse"]["responded"] == 20


def test_a_planted_fear_problem_is_flagged_and_leads_the_findings(report: Report) -> None:
    warehouse = next(d for d in report.departments if d.name == "Warehouse")
    assert warehouse.flags == ("high_fear",)
    fear = warehouse.scores["fear"]
    assert fear.difference_from_rest is not None and fear.difference_from_rest > 8
    assert fear.shrunk_difference is not None and 5 <= fear.shrunk_difference < fear.difference_from_rest
    # Everyone in Warehouse answered, and its interval still has a width: answers vary from week to week
    # and no finite-population correction pretends otherwise; it is no wider than the comparison's.
    assert fear.ci_low < fear.mean < fear.ci_high
    assert fear.difference_ci_low is not None and fear.difference_ci_high is not None
    assert fear.ci_high - fear.ci_low <= fear.difference_ci_high - fear.difference_ci_low
    first = report.findings[0].text
    assert re.fullmatch(
        r"Warehouse reports markedly more fear of blame than the rest of the organisation "
        r"\(\+\d+ points, 95% CI \d+ to \d+\)\.",
        first,
    ), first
    assert 3 <= len(report.findings) <= 5
    fear_guidance = next(g for g in report.guidance if g.flag == "high_fear")
    assert fear_guidance.departments == ("Warehouse",) and fear_guidance.advice


def test_the_isolated_department_shows_in_the_silo_network(report: Report) -> None:
    network = report.to_json()["silo_network"]
    assert network["isolated"] == ["Warehouse"]
    shown = {d.name for d in report.departments if not d.suppressed}
    assert all(e["helper"] in shown and e["helped"] in shown for e in network["edges"])
    assert all(a in shown and b in shown for a, b in network["never_helping_pairs"])
    assert ["Team 00", "Warehouse"] in network["never_helping_pairs"]
    warehouse = next(d for d in report.departments if d.name == "Warehouse")
    assert warehouse.silo_index is not None and warehouse.silo_index >= 0.5
    assert warehouse.silo_low is not None and warehouse.silo_high is not None
    assert warehouse.silo_low <= warehouse.silo_index <= warehouse.silo_high
    assert any("Warehouse" in f.text and f.kind == "silo" for f in report.findings)


def test_trends_cover_the_rounds_and_departments_shown(report: Report) -> None:
    trends = report.to_json()["trends"]
    fear = trends["organization"]["fear"]
    assert [p["label"] for p in fear["points"]] == ["January", "February", "March"]
    assert fear["since_previous"]["from_label"] == "February"
    assert fear["over_window"]["from_label"] == "January"
    assert "Legal" not in trends["departments"] and "Facilities" not in trends["departments"]
    assert len(trends["departments"]["Warehouse"]["fear"]["points"]) == 3


def test_methodology_explains_items_thresholds_and_quality(report: Report) -> None:
    m = report.to_json()["methodology"]
    assert [i["key"] for i in m["items"]] == list(compose_pulse(3))
    assert all(i["text"] for i in m["items"])
    assert len(m["scale"]) == 5
    assert m["min_group_size"] == 5 and m["comment_threshold"] == 10
    assert m["min_difference"] == 5 and m["false_discovery_rate"] == 0.10
    for text in ("suppression_rules", "flag_rule", "silo_formula", "trend_method", "scoring", "uncertainty"):
        assert len(m[text]) > 80
    assert "5 responses" in m["suppression_rules"]
    for quality in m["quality"]:
        assert quality["cronbach_alpha"] is not None and 0 < quality["cronbach_alpha"] <= 1
        # Agreement and ICCs over every department with at least k answers, Facilities (hidden) included.
        assert 0 <= quality["rwg_median"] <= 1 and quality["rwg_departments"] == 12
        assert quality["icc1"] is not None and quality["icc2"] is not None and quality["icc_departments"] == 12


def test_the_driver_analysis_names_the_force_that_most_holds_back_initiative(report: Report) -> None:
    drivers = report.to_json()["drivers"]
    assert drivers["asked"] is True and drivers["min_respondents"] == 30
    organization = drivers["organization"]
    assert organization is not None and organization["n"] >= 200
    assert next(w["dimension"] for w in organization["weights"]) == "initiative"  # the simulation's main driver
    assert sum(w["share"] for w in organization["weights"]) == pytest.approx(1.0, abs=1e-3)
    assert "holds back initiative" in drivers["headline"] or "matter most" in drivers["headline"]
    # Departments of about 20 answers are below the minimum: no department analysis.
    assert drivers["departments"] == []


def test_comments_are_redacted_and_grouped(report: Report) -> None:
    comments = report.to_json()["comments"]
    assert comments
    text = json.dumps(comments)
    assert "Anna Berg" not in text and "[name removed]" in text
    removed = [c for group in comments for c in group["comments"] if "[name removed]" in c["text"]]
    assert removed and all(c["redactions"] >= 1 for c in removed)
    groups = [c["group"] for c in comments]
    assert "Legal" not in groups and "Facilities" not in groups


def test_enps_is_reported_for_the_organisation(report: Report) -> None:
    enps = report.to_json()["enps"]
    assert enps is not None and -100 <= enps["score"] <= 100
    assert enps["promoters"] + enps["passives"] + enps["detractors"] == enps["responses"]
    assert enps["ci_low"] < enps["score"] < enps["ci_high"] and enps["responses"] >= 30


def test_csv_rows_have_one_row_per_department_and_dimension(report: Report) -> None:
    rows = report.to_csv_rows()
    assert len(rows) == len(report.departments) * 4
    assert set(rows[0]) == {
        "department",
        "dimension",
        "score",
        "ci_low",
        "ci_high",
        "difference_from_rest",
        "n",
        "suppressed",
        "flag",
    }
    legal = [r for r in rows if r["department"] == "Legal"]
    assert all(r["score"] is None and r["n"] is None and r["suppressed"] == 1 for r in legal)
    assert [r["flag"] for r in rows if r["department"] == "Warehouse"] == ["high_fear", None, None, None]


# ---------------------------------------------------------------- edge cases and refusals


def _department(name: str, responded: int, invited: int | None = None, **dims: Sequence[float]) -> DepartmentAggregates:
    # Only anchor statements asked here: the trend (anchor) scores are the scores.
    moments = {k: Moments.from_values(v) for k, v in dims.items()}
    return DepartmentAggregates(name, invited if invited is not None else responded, responded, moments, moments)


def test_an_open_round_releases_no_comments_and_a_tiny_organisation_shows_nothing() -> None:
    report = build_report(_input([_department("Only", 2, 10, fear=[50, 60])], closed=False))
    data = report.to_json()
    assert data["comments"] == [] and data["enps"] is None
    assert data["organization"]["fear"]["mean"] is None and data["organization"]["fear"]["suppressed"] is True
    assert data["departments"][0]["suppressed"] is True
    # Organisation-wide figures pass the same gate as a department's: 2 answers are fewer than k.
    # (so the low-participation caution, which quotes the rate, has no rate to quote either).
    assert data["participation"] == {"invited": None, "responded": None, "rate": None}
    assert not any("%" in f["text"] for f in data["findings"])
    assert data["silo_network"]["edges"] == []


def test_participation_of_an_organisation_with_fewer_than_k_invited_is_hidden() -> None:
    report = build_report(_input([_department("Only", 2, 4, fear=[50, 60])]))
    assert report.to_json()["participation"] == {"invited": None, "responded": None, "rate": None}


def test_without_the_network_question_the_silo_index_comes_from_collaboration_alone() -> None:
    low = [20.0, 25.0, 30.0, 22.0, 28.0, 26.0]
    high = [70.0, 75.0, 80.0, 72.0, 78.0, 76.0]
    report = build_report(
        _input([_department("Low", 6, collaboration=low), _department("High", 6, collaboration=high)])
    )
    by_name = {d.name: d for d in report.departments}
    assert by_name["Low"].silo_index == 1.0 and by_name["High"].silo_index == 0.0
    assert report.to_json()["silo_network"]["departments"] == []


def test_a_report_refuses_bad_input() -> None:
    with pytest.raises(MinGroupSizeTooSmall):
        build_report(_input([], k=2))
    with pytest.raises(InconsistentAggregates, match="unique"):
        build_report(_input([_department("A", 5), _department("A", 5)]))
    with pytest.raises(InvalidAnswer, match="nope"):
        build_report(_input([], asked=["nope"]))
    with pytest.raises(InconsistentAggregates, match="6 responses but 5 invited"):
        _department("A", 6, 5)
    with pytest.raises(InconsistentAggregates, match="scores on 'fear'"):
        _department("A", 1, 5, fear=[1.0, 2.0])
    with pytest.raises(InconsistentAggregates, match="negative"):
        _department("A", -1, 5)
    with pytest.raises(InconsistentAggregates, match="network"):
        DepartmentAggregates("A", 5, 1, {}, network_respondents=2)


def test_trends_respect_suppression_in_every_round() -> None:
    def round_with(small: int, label: str) -> RoundAggregates:
        return RoundAggregates(
            label,
            "2025-01-01",
            [
                _department("Small", small, 12, fear=[40.0 + i for i in range(small)]),
                _department("Mid", 7, 12, fear=[50.0 + i for i in range(7)]),
                _department("Big", 30, 40, fear=[45.0 + i % 10 for i in range(30)]),
            ],
        )

    current = round_with(10, "now").departments
    # In "then", Small had 3 answers (hidden) and Mid was hidden with it to protect it.
    report = build_report(_input(current, previous=[round_with(3, "then")]))
    trends = report.trends.departments
    assert [p.label for p in trends["Small"]["fear"].points] == ["March"]
    assert [p.label for p in trends["Mid"]["fear"].points] == ["March"]
    assert trends["Small"]["fear"].since_previous is None and trends["Mid"]["fear"].since_previous is None
    assert [p.label for p in trends["Big"]["fear"].points] == ["then", "March"]
    assert trends["Big"]["fear"].since_previous is not None
    # A department absent from earlier rounds simply starts later.
    report = build_report(_input([*current, _department("New", 9, fear=[60.0] * 9)], previous=[round_with(10, "then")]))
    assert [p.label for p in report.trends.departments["New"]["fear"].points] == ["March"]


# ---------------------------------------------------------------- property: every released number is safe

department_strategy = st.tuples(
    st.integers(0, 25),
    st.integers(0, 5),
    st.lists(st.lists(st.integers(0, 100), max_size=25), min_size=4, max_size=4),
)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(department_strategy, min_size=1, max_size=8), st.integers(3, 8))
def test_no_released_number_reveals_a_hidden_group_smaller_than_k(
    raw: list[tuple[int, int, list[list[int]]]], k: int
) -> None:
    departments = [
        DepartmentAggregates(
            f"d{i}",
            responded + extra,
            responded,
            {dim: Moments.from_values(values[:responded]) for dim, values in zip(DIMENSION_KEYS, dims, strict=True)},
        )
        for i, (responded, extra, dims) in enumerate(raw)
    ]
    data = build_report(_input(departments, k=k)).to_json()
    shown = [d for d in data["departments"] if not d["suppressed"]]
    for d in data["departments"]:
        if d["suppressed"]:
            assert d["invited"] is None and d["responded"] is None and d["scores"] == {}
    assert all(d["responded"] >= k for d in shown)
    org_responded = sum(r for r, _, _ in raw)
    if shown:
        hidden = org_responded - sum(d["responded"] for d in shown)
        assert hidden == 0 or hidden >= k
    for dim in DIMENSION_KEYS:
        org = data["organization"][dim]
        cells = [d["scores"][dim] for d in shown if dim in d["scores"]]
        assert all(c["n"] >= k for c in cells)
        if org["n"] is None:
            assert not cells
            continue
        # Organisation mean x n minus every shown department's mean x n is the hidden groups' sum:
        # it must stand for no one (n = 0) or for at least k people.
        hidden_n = org["n"] - sum(c["n"] for c in cells)
        assert hidden_n == 0 or hidden_n >= k
        hidden_sum = org["mean"] * org["n"] - sum(c["mean"] * c["n"] for c in cells)
        if hidden_n == 0:
            # Means are released as whole numbers: each is off by at most half a point, so the
            # difference of sums is zero up to half a point per person on each side.
            assert isinstance(org["mean"], int) and all(isinstance(c["mean"], int) for c in cells)
            assert abs(hidden_sum) <= 0.5 * (org["n"] + sum(c["n"] for c in cells))

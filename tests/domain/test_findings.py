from __future__ import annotations

from pulse.domain.findings import (
    FlaggedDifference,
    OrganizationChange,
    change_sentence,
    flag_sentence,
    guidance_for,
    select_findings,
)


def test_a_flag_reads_as_a_plain_sentence_with_its_interval() -> None:
    sentence = flag_sentence(FlaggedDifference("Warehouse", "fear", 18.2, 9.4, 27.1))
    assert sentence == (
        "Warehouse reports markedly more fear of blame than the rest of the organisation (+18 points, 95% CI 9 to 27)."
    )
    low = flag_sentence(FlaggedDifference("Sales", "initiative", -12.0, -20.0, -0.2))
    assert "less freedom to act" in low and "(-12 points, 95% CI -20 to 0)" in low


def test_an_organisation_wide_change_says_whether_it_is_an_improvement() -> None:
    assert change_sentence(OrganizationChange("fear", "March", -6.2, -10.0, -2.0, "improvement")) == (
        "Across the organisation, fear of blame fell by 6 points since March on the statements asked in both rounds "
        "(95% CI -10 to -2), an improvement."
    )
    assert "a deterioration" in change_sentence(
        OrganizationChange("collaboration", "May", -7.0, -9.0, -5.0, "deterioration")
    )


def test_findings_are_ranked_capped_at_five_and_always_say_where_the_organisation_stands() -> None:
    flagged = [FlaggedDifference(f"D{i}", "fear", 10.0 + i, 5.0, 20.0) for i in range(6)]
    changes = [
        OrganizationChange("fear", "March", 6.0, 2.0, 10.0, "deterioration"),
        OrganizationChange("initiative", "March", 6.0, -1.0, 13.0, None),  # not claimed by the trend analysis
    ]
    findings = select_findings(
        flagged=flagged,
        changes=changes,
        isolated=[],
        participation_rate=0.9,
        hidden_departments=1,
        min_group_size=5,
        organization_means={"fear": 70.0, "initiative": 40.0},
    )
    assert len(findings) == 5
    assert findings[0].department == "D5"
    assert findings[-1].kind == "level" and findings[-1].dimension == "fear"
    few = select_findings(
        flagged=[],
        changes=changes,
        isolated=[],
        participation_rate=None,
        hidden_departments=2,
        min_group_size=5,
        organization_means={"fear": 30.0},
    )
    assert [f.kind for f in few] == ["trend", "flag", "disclosure", "level"]
    assert "2 departments are" in few[2].text


def test_guidance_lists_each_flag_once_with_its_departments() -> None:
    guidance = guidance_for({"A": ["silo", "high_fear"], "B": ["silo"], "C": []})
    assert [(g.flag, g.departments) for g in guidance] == [("high_fear", ("A",)), ("silo", ("A", "B"))]
    assert all(g.title and g.advice for g in guidance)


def test_a_sentence_about_a_count_carries_both_forms_and_reads_right_in_each_language() -> None:
    # The language's own plural rules choose the form (a catalog entry with plural forms), not English's.
    from dataclasses import asdict

    from pulse import i18n

    def hidden(count: int) -> dict[str, object]:
        found = select_findings(
            flagged=[],
            changes=[],
            isolated=[],
            participation_rate=None,
            hidden_departments=count,
            min_group_size=5,
            organization_means={"fear": 30.0},
        )
        return asdict(next(f for f in found if f.kind == "disclosure"))

    one, three = hidden(1), hidden(3)
    assert one["text"].startswith("1 department is not shown") and three["text"].startswith("3 departments are not")
    assert one["message"] == three["message"] and one["plural"] == three["plural"] and (one["n"], three["n"]) == (1, 3)
    with i18n.use("fr"):
        assert i18n.finding_text(one).startswith("1 service n'est pas présenté")
        assert i18n.finding_text(three).startswith("3 services ne sont pas présentés")
    with i18n.use("de"):
        assert i18n.finding_text(one).startswith("1 Abteilung wird")
        assert i18n.finding_text(three).startswith("3 Abteilungen werden")

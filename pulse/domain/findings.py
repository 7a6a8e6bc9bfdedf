"""Findings and guidance: the few plain sentences a leader reads first, and what to do about flags.

Findings are ranked: flagged departments first (largest difference first), then organisation-wide
changes since the previous round, isolated departments, low participation, and finally where the
organisation as a whole stands. Between 3 and 5 are kept (fewer only when there is almost nothing
to say, e.g. everything is hidden).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pulse.domain.flags import FLAG_BY_DIMENSION
from pulse.domain.items import DIMENSION_BY_KEY
from pulse.domain.trends import Verdict

MAX_FINDINGS = 5
MIN_FINDINGS = 3
LOW_PARTICIPATION = 0.5

# "<department> reports markedly <more/less ...> than the rest of the organisation"
_DIFFERENCE_PHRASE: Mapping[str, str] = {
    "fear": "more fear of blame",
    "initiative": "less freedom to act on their own judgment",
    "consistency": "less consistent leadership",
    "collaboration": "less help and information from other departments",
}
_TOPIC: Mapping[str, str] = {
    "fear": "fear of blame",
    "initiative": "permission to act",
    "consistency": "leadership consistency",
    "collaboration": "cross-department collaboration",
}


@dataclass(frozen=True)
class Finding:
    """One sentence for leaders, with what it is about (for linking and sorting in the UI)."""

    kind: str
    text: str
    department: str | None = None
    dimension: str | None = None


@dataclass(frozen=True)
class Guidance:
    """Short advice for one flag and the departments it applies to."""

    flag: str
    title: str
    advice: tuple[str, ...]
    departments: tuple[str, ...]


GUIDANCE: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "high_fear": (
        "Take the blame out of mistakes",
        (
            "When something goes wrong, ask first what made it easy to go wrong, not who did it.",
            "Thank the person who raises a problem in public, especially when the news is unwelcome.",
            "Say plainly which procedures may be set aside to help a customer, and back people who do.",
            "Stop using single bad numbers against individuals; talk about causes before consequences.",
        ),
    ),
    "low_initiative": (
        "Give explicit permission to act",
        (
            "Tell the team what they may decide for a customer without asking, with a concrete limit (time, money).",
            "When someone uses judgment and it goes well, say so in front of others; when it goes badly, fix the "
            "guidance, not the person.",
            "Remove one approval step this month that exists only out of habit.",
        ),
    ),
    "inconsistent_leadership": (
        "Keep your word, week after week",
        (
            "Write down the few priorities that will not change this quarter and refer back to them.",
            "Enforce each rule the same way for everyone, or drop the rule.",
            "When you must change direction, explain why before people find out from the consequences.",
            "Do not punish next week what you praised last week; if you changed your mind, say so.",
        ),
    ),
    "silo": (
        "Open information to other departments",
        (
            "Share what your department is working on with the departments that depend on it, regularly.",
            "Name one contact person per neighbouring department and let people call them directly.",
            "Measure and praise help given to other departments, not only your own department's numbers.",
        ),
    ),
}


@dataclass(frozen=True)
class FlaggedDifference:
    """A flagged department x dimension, as findings need it."""

    department: str
    dimension: str
    difference: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class OrganizationChange:
    """An organisation-wide change on one dimension since the previous round.

    `verdict` is what the trend analysis allows to be claimed (see `trends.claim_changes`); a change
    without one is never a headline.
    """

    dimension: str
    from_label: str
    difference: float
    ci_low: float
    ci_high: float
    verdict: Verdict | None = None


def _points(value: float) -> str:
    return f"{round(value):+d}"


def _number(value: float) -> str:
    # "-0" reads oddly in a sentence.
    rounded = round(value)
    return str(0 if rounded == 0 else rounded)


def flag_sentence(item: FlaggedDifference) -> str:
    """E.g. 'Warehouse reports markedly more fear of blame than the rest of the organisation (+18 points, ...)'."""
    return (
        f"{item.department} reports markedly {_DIFFERENCE_PHRASE[item.dimension]} than the rest of the "
        f"organisation ({_points(item.difference)} points, 95% CI {_number(item.ci_low)} to {_number(item.ci_high)})."
    )


def change_sentence(change: OrganizationChange) -> str:
    """E.g. 'Across the organisation, fear of blame fell by 6 points since March (95% CI -10 to -2).'."""
    direction = "rose" if change.difference > 0 else "fell"
    verdict = "an improvement" if change.verdict == "improvement" else "a deterioration"
    return (
        f"Across the organisation, {_TOPIC[change.dimension]} {direction} by {abs(round(change.difference))} points "
        f"since {change.from_label} on the statements asked in both rounds (95% CI {_number(change.ci_low)} to "
        f"{_number(change.ci_high)}), {verdict}."
    )


def level_sentence(dimension: str, mean: float) -> str:
    """Where the organisation stands on one dimension, with the direction spelled out."""
    info = DIMENSION_BY_KEY[dimension]
    direction = "higher is better" if info.higher_is_better else "higher means more fear"
    return f"Across the organisation, {_TOPIC[dimension]} scores {round(mean)} out of 100 ({direction})."


def _badness(dimension: str, mean: float) -> float:
    # Distance on the unhealthy side of the scale, so the most worrying dimension comes first.
    return mean if not DIMENSION_BY_KEY[dimension].higher_is_better else 100.0 - mean


def select_findings(
    *,
    flagged: Sequence[FlaggedDifference],
    changes: Sequence[OrganizationChange],
    isolated: Sequence[str],
    participation_rate: float | None,
    hidden_departments: int,
    min_group_size: int,
    organization_means: Mapping[str, float],
) -> tuple[Finding, ...]:
    """The 3-5 most important findings, as plain sentences."""
    findings: list[Finding] = []
    for item in sorted(flagged, key=lambda f: (-abs(f.difference), f.department, f.dimension)):
        findings.append(Finding("flag", flag_sentence(item), item.department, item.dimension))
    for change in sorted(changes, key=lambda c: -abs(c.difference)):
        if change.verdict is not None:
            findings.append(Finding("trend", change_sentence(change), None, change.dimension))
    if isolated:
        names = ", ".join(isolated)
        findings.append(
            Finding("silo", f"Hardly any help was reported between {names} and the other departments in this round.")
        )
    if participation_rate is not None and participation_rate < LOW_PARTICIPATION:
        findings.append(
            Finding(
                "participation",
                f"Only {round(participation_rate * 100)}% of invited people answered, so read the results with care.",
            )
        )
    if not flagged and organization_means:
        findings.append(
            Finding("flag", "No department differs markedly from the rest of the organisation on any dimension.")
        )
    if hidden_departments:
        plural = "departments are" if hidden_departments > 1 else "department is"
        findings.append(
            Finding(
                "disclosure",
                f"{hidden_departments} {plural} not shown separately to protect anonymity (groups need at least "
                f"{min_group_size} answers, and no hidden group may be deducible from the others).",
            )
        )
    levels = sorted(organization_means.items(), key=lambda kv: -_badness(kv[0], kv[1]))
    findings.extend(Finding("level", level_sentence(dim, mean), None, dim) for dim, mean in levels)
    # Keep the most important ones, but make sure at least one sentence says where the organisation stands.
    selected = findings[:MAX_FINDINGS]
    if levels and not any(f.kind == "level" for f in selected):
        selected[-1] = Finding("level", level_sentence(*levels[0]), None, levels[0][0])
    return tuple(selected)


def guidance_for(flags_by_department: Mapping[str, Sequence[str]]) -> tuple[Guidance, ...]:
    """Advice for each flag raised anywhere in the report, listing the departments concerned."""
    result: list[Guidance] = []
    for flag in FLAG_BY_DIMENSION.values():
        departments = tuple(sorted(name for name, flags in flags_by_department.items() if flag in flags))
        if departments:
            title, advice = GUIDANCE[flag]
            result.append(Guidance(flag, title, advice, departments))
    return tuple(result)

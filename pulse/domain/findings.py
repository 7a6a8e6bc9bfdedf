"""Findings and guidance: the few plain sentences a leader reads first, and what to do about flags.

Findings are ranked: flagged departments first (largest difference first), then organisation-wide
changes since the previous round, isolated departments, low participation, and finally where the
organisation as a whole stands. Between 3 and 5 are kept (fewer only when there is almost nothing
to say, e.g. everything is hidden).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pulse.domain.flags import FLAG_BY_DIMENSION
from pulse.domain.items import DIMENSION_BY_KEY
from pulse.domain.trends import Verdict
from pulse.domain.wording import N_, ngettext

MAX_FINDINGS = 5
MIN_FINDINGS = 3
LOW_PARTICIPATION = 0.5


@dataclass(frozen=True)
class Finding:
    """One sentence for leaders, with what it is about (for linking and sorting in the UI)."""

    kind: str
    text: str
    department: str | None = None
    dimension: str | None = None
    #: The English sentence with %(name)s placeholders and their values: ``text == message % params``,
    #: so a reader's language can word it (``_(message) % params``).
    message: str = ""
    params: Mapping[str, str | int] = field(default_factory=dict)
    #: For a sentence about a count: the English plural form and the count that chooses the form.
    plural: str = ""
    n: int | None = None


def _finding(
    kind: str,
    message: str,
    params: Mapping[str, str | int],
    department: str | None = None,
    dimension: str | None = None,
) -> Finding:
    return Finding(kind, message % params, department, dimension, message, dict(params))


def _counted_finding(kind: str, forms: tuple[str, str, int], params: Mapping[str, str | int]) -> Finding:
    singular, plural, n = forms
    text = (singular if n == 1 else plural) % params
    return Finding(kind, text, None, None, singular, dict(params), plural, n)


# One whole sentence per case, so every language can build it its own way.
_FLAG_MESSAGES: Mapping[str, str] = {
    "fear": N_(
        "%(department)s reports markedly more fear of blame than the rest of the organisation "
        "(%(points)s points, 95%% CI %(low)s to %(high)s)."
    ),
    "initiative": N_(
        "%(department)s reports markedly less freedom to act on their own judgment than the rest of the organisation "
        "(%(points)s points, 95%% CI %(low)s to %(high)s)."
    ),
    "consistency": N_(
        "%(department)s reports markedly less consistent leadership than the rest of the organisation "
        "(%(points)s points, 95%% CI %(low)s to %(high)s)."
    ),
    "collaboration": N_(
        "%(department)s reports markedly less help and information from other departments than the rest of the "
        "organisation (%(points)s points, 95%% CI %(low)s to %(high)s)."
    ),
}
# (dimension, rose) -> sentence; a rise is an improvement exactly when higher is healthier.
_CHANGE_MESSAGES: Mapping[tuple[str, bool], str] = {
    ("fear", True): N_(
        "Across the organisation, fear of blame rose by %(points)s points since %(since)s on the statements "
        "asked in both rounds (95%% CI %(low)s to %(high)s), a deterioration."
    ),
    ("fear", False): N_(
        "Across the organisation, fear of blame fell by %(points)s points since %(since)s on the statements "
        "asked in both rounds (95%% CI %(low)s to %(high)s), an improvement."
    ),
    ("initiative", True): N_(
        "Across the organisation, permission to act rose by %(points)s points since %(since)s on the statements "
        "asked in both rounds (95%% CI %(low)s to %(high)s), an improvement."
    ),
    ("initiative", False): N_(
        "Across the organisation, permission to act fell by %(points)s points since %(since)s on the statements "
        "asked in both rounds (95%% CI %(low)s to %(high)s), a deterioration."
    ),
    ("consistency", True): N_(
        "Across the organisation, leadership consistency rose by %(points)s points since %(since)s on the statements "
        "asked in both rounds (95%% CI %(low)s to %(high)s), an improvement."
    ),
    ("consistency", False): N_(
        "Across the organisation, leadership consistency fell by %(points)s points since %(since)s on the statements "
        "asked in both rounds (95%% CI %(low)s to %(high)s), a deterioration."
    ),
    ("collaboration", True): N_(
        "Across the organisation, cross-department collaboration rose by %(points)s points since %(since)s "
        "on the statements asked in both rounds (95%% CI %(low)s to %(high)s), an improvement."
    ),
    ("collaboration", False): N_(
        "Across the organisation, cross-department collaboration fell by %(points)s points since %(since)s "
        "on the statements asked in both rounds (95%% CI %(low)s to %(high)s), a deterioration."
    ),
}
_LEVEL_MESSAGES: Mapping[str, str] = {
    "fear": N_("Across the organisation, fear of blame scores %(score)s out of 100 (higher means more fear)."),
    "initiative": N_("Across the organisation, permission to act scores %(score)s out of 100 (higher is better)."),
    "consistency": N_(
        "Across the organisation, leadership consistency scores %(score)s out of 100 (higher is better)."
    ),
    "collaboration": N_(
        "Across the organisation, cross-department collaboration scores %(score)s out of 100 (higher is better)."
    ),
}


@dataclass(frozen=True)
class Guidance:
    """Short advice for one flag and the departments it applies to."""

    flag: str
    title: str
    advice: tuple[str, ...]
    departments: tuple[str, ...]


GUIDANCE: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "high_fear": (
        N_("Take the blame out of mistakes"),
        (
            N_("When something goes wrong, ask first what made it easy to go wrong, not who did it."),
            N_("Thank the person who raises a problem in public, especially when the news is unwelcome."),
            N_("Say plainly which procedures may be set aside to help a customer, and back people who do."),
            N_("Stop using single bad numbers against individuals; talk about causes before consequences."),
        ),
    ),
    "low_initiative": (
        N_("Give explicit permission to act"),
        (
            N_(
                "Tell the team what they may decide for a customer without asking, with a concrete limit (time, money)."
            ),
            N_(
                "When someone uses judgment and it goes well, say so in front of others; when it goes badly, fix the "
                "guidance, not the person."
            ),
            N_("Remove one approval step this month that exists only out of habit."),
        ),
    ),
    "inconsistent_leadership": (
        N_("Keep your word, week after week"),
        (
            N_("Write down the few priorities that will not change this quarter and refer back to them."),
            N_("Enforce each rule the same way for everyone, or drop the rule."),
            N_("When you must change direction, explain why before people find out from the consequences."),
            N_("Do not punish next week what you praised last week; if you changed your mind, say so."),
        ),
    ),
    "silo": (
        N_("Open information to other departments"),
        (
            N_("Share what your department is working on with the departments that depend on it, regularly."),
            N_("Name one contact person per neighbouring department and let people call them directly."),
            N_("Measure and praise help given to other departments, not only your own department's numbers."),
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


def _flag_finding(item: FlaggedDifference) -> Finding:
    params: dict[str, str | int] = {
        "department": item.department,
        "points": _points(item.difference),
        "low": _number(item.ci_low),
        "high": _number(item.ci_high),
    }
    return _finding("flag", _FLAG_MESSAGES[item.dimension], params, item.department, item.dimension)


def _change_finding(change: OrganizationChange) -> Finding:
    params: dict[str, str | int] = {
        "points": abs(round(change.difference)),
        "since": change.from_label,
        "low": _number(change.ci_low),
        "high": _number(change.ci_high),
    }
    message = _CHANGE_MESSAGES[(change.dimension, change.difference > 0)]
    return _finding("trend", message, params, None, change.dimension)


def _level_finding(dimension: str, mean: float) -> Finding:
    return _finding("level", _LEVEL_MESSAGES[dimension], {"score": round(mean)}, None, dimension)


def flag_sentence(item: FlaggedDifference) -> str:
    """E.g. 'Warehouse reports markedly more fear of blame than the rest of the organisation (+18 points, ...)'."""
    return _flag_finding(item).text


def change_sentence(change: OrganizationChange) -> str:
    """E.g. 'Across the organisation, fear of blame fell by 6 points since March (95% CI -10 to -2), ...'."""
    return _change_finding(change).text


def level_sentence(dimension: str, mean: float) -> str:
    """Where the organisation stands on one dimension, with the direction spelled out."""
    return _level_finding(dimension, mean).text


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
        findings.append(_flag_finding(item))
    for change in sorted(changes, key=lambda c: -abs(c.difference)):
        if change.verdict is not None:
            findings.append(_change_finding(change))
    if isolated:
        message = N_("Hardly any help was reported between %(names)s and the other departments in this round.")
        findings.append(_finding("silo", message, {"names": ", ".join(isolated)}))
    if participation_rate is not None and participation_rate < LOW_PARTICIPATION:
        message = N_("Only %(rate)s%% of invited people answered, so read the results with care.")
        findings.append(_finding("participation", message, {"rate": round(participation_rate * 100)}))
    if not flagged and organization_means:
        message = N_("No department differs markedly from the rest of the organisation on any dimension.")
        findings.append(_finding("flag", message, {}))
    if hidden_departments:
        forms = ngettext(
            "%(count)s department is not shown separately to protect anonymity (groups need at least %(k)s "
            "answers, and no hidden group may be deducible from the others).",
            "%(count)s departments are not shown separately to protect anonymity (groups need at least %(k)s "
            "answers, and no hidden group may be deducible from the others).",
            hidden_departments,
        )
        findings.append(_counted_finding("disclosure", forms, {"count": hidden_departments, "k": min_group_size}))
    levels = sorted(organization_means.items(), key=lambda kv: -_badness(kv[0], kv[1]))
    findings.extend(_level_finding(dim, mean) for dim, mean in levels)
    # Keep the most important ones, but make sure at least one sentence says where the organisation stands.
    selected = findings[:MAX_FINDINGS]
    if levels and not any(f.kind == "level" for f in selected):
        selected[-1] = _level_finding(*levels[0])
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

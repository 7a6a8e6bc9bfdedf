"""Disclosure control: the one gate every released number and comment passes through.

Rules (DESIGN.md, "Anonymity"):

* Minimum group size k (organisation setting, default 5, never below 3). A department with fewer
  than k responses is hidden entirely: no counts, no scores.
* Complementary suppression. The organisation total minus every shown department must be 0 or at
  least k, otherwise the hidden remainder could be recovered by subtraction; more departments are
  hidden, smallest first, until it is. The same rule is applied per dimension to the number of
  respondents with a score, because score sums (mean x n) subtract just like counts do, and a
  dimension can have fewer scored respondents than responses.
* Participation (invited / responded) is shown only for departments with at least k invited, and
  only when the department is shown at all.
* Comments: only after the round has closed, only for groups with at least the comment threshold
  (default 10, never below k) of responses, in alphabetical order (submission order could hint at
  who wrote what), with people's names (as whole names, see ``Redactor``), email addresses and phone
  numbers removed, and the number of removals released with each comment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType

from pulse.domain.errors import MinGroupSizeTooSmall
from pulse.domain.items import COMMENT_MAX_LENGTH
from pulse.domain.wording import N_, Wording

MIN_GROUP_SIZE_FLOOR = 3
DEFAULT_MIN_GROUP_SIZE = 5
DEFAULT_COMMENT_THRESHOLD = 10
#: What replaces a removed name, email address or phone number in a released comment. The released
#: text keeps these English markers; a report translates them when it prints the comment
#: (`REDACTION_MARKERS`), so a comment reads in the reader's language wherever it was removed from.
# TRANSLATORS: replaces a person's name removed from a comment, inside the quoted comment; keep the brackets.
NAME_REMOVED = N_("[name removed]")
# TRANSLATORS: replaces an email address removed from a comment, inside the quoted comment; keep the brackets.
EMAIL_REMOVED = N_("[email removed]")
# TRANSLATORS: replaces a phone number removed from a comment, inside the quoted comment; keep the brackets.
PHONE_REMOVED = N_("[phone removed]")
REDACTION_MARKERS: tuple[str, ...] = (NAME_REMOVED, EMAIL_REMOVED, PHONE_REMOVED)
# TRANSLATORS: the heading of the comments of departments too small to be shown on their own, pooled.
POOLED_COMMENT_GROUP = N_("Other departments")


class SuppressionReason(StrEnum):
    """Why a group or a cell is not shown."""

    BELOW_MIN_GROUP_SIZE = "below_min_group_size"
    COMPLEMENTARY = "complementary_suppression"
    QUARANTINE = "newcomer_quarantine"


SUPPRESSION_RULES = N_(
    "Groups with fewer than %(k)s responses are not shown. When hiding them would still let someone work out a "
    "hidden group by subtracting the shown departments from the organisation total, more departments are hidden "
    "(smallest first) until the hidden remainder is either empty or at least %(k)s responses; the same rule is "
    "applied to each dimension's score. Participation counts are shown only for departments that are shown and have "
    "at least %(k)s people invited. Comments appear only after the round closes, only for groups of at least "
    "%(comment_threshold)s responses, in alphabetical order, with names, email addresses and phone numbers removed."
)


def suppression_rules(k: int, comment_threshold: int) -> Wording:
    """The suppression rules with the round's thresholds, for the methodology appendix."""
    return Wording(SUPPRESSION_RULES, {"k": k, "comment_threshold": comment_threshold})


def check_min_group_size(k: int) -> int:
    """Validate the organisation's minimum group size; raise for anything below the floor of 3."""
    if isinstance(k, bool) or not isinstance(k, int) or k < MIN_GROUP_SIZE_FLOOR:
        raise MinGroupSizeTooSmall(
            f"minimum group size must be an integer of at least {MIN_GROUP_SIZE_FLOOR}, got {k!r}"
        )
    return k


def effective_comment_threshold(threshold: int, k: int) -> int:
    """The comment threshold actually applied: never below the minimum group size."""
    check_min_group_size(k)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < MIN_GROUP_SIZE_FLOOR:
        raise MinGroupSizeTooSmall(
            f"comment threshold must be an integer of at least {MIN_GROUP_SIZE_FLOOR}, got {threshold!r}"
        )
    return max(threshold, k)


def suppress_counts(
    counts: Mapping[str, int],
    k: int,
    forced: Mapping[str, SuppressionReason] | None = None,
    unattributed: int = 0,
) -> dict[str, SuppressionReason | None]:
    """Primary and complementary suppression of one partition of a total.

    `counts` maps each group to its count; `forced` groups are hidden whatever their count (for
    example departments already hidden at a coarser level). `unattributed` counts are part of the
    total but of no group: the newcomers in quarantine, who anyone might have padded with people they
    control, so they never count towards k. Returns group -> reason, None = shown. After this, the
    total minus the shown groups is either empty or holds at least k attributed (long-standing) counts.
    """
    check_min_group_size(k)
    status: dict[str, SuppressionReason | None] = {}
    for name, count in counts.items():
        if forced is not None and name in forced:
            status[name] = forced[name]
        elif count < k:
            status[name] = SuppressionReason.BELOW_MIN_GROUP_SIZE
        else:
            status[name] = None
    while True:
        hidden_total = sum(counts[name] for name, reason in status.items() if reason is not None)
        shown = [name for name, reason in status.items() if reason is None]
        if (hidden_total == 0 and unattributed == 0) or hidden_total >= k or not shown:
            return status
        # Hide the smallest shown group (name breaks ties, so the result is reproducible).
        status[min(shown, key=lambda name: (counts[name], name))] = SuppressionReason.COMPLEMENTARY


@dataclass(frozen=True)
class GroupCounts:
    """What disclosure needs to know about one department."""

    name: str
    invited: int
    responded: int
    dimension_counts: Mapping[str, int] = field(default_factory=dict)
    #: The round's newcomers: part of the organisation's totals, never shown, never counted towards k.
    quarantined: bool = False


@dataclass(frozen=True)
class GroupDisclosure:
    """The verdict for one department."""

    name: str
    reason: SuppressionReason | None
    participation_shown: bool
    hidden_dimensions: Mapping[str, SuppressionReason]

    @property
    def shown(self) -> bool:
        """Whether the department appears with any figure at all."""
        return self.reason is None

    def shows_score(self, dimension: str) -> bool:
        """Whether this department's score on `dimension` may be shown."""
        return self.shown and dimension not in self.hidden_dimensions


@dataclass(frozen=True)
class DisclosurePlan:
    """The verdicts for one round: per department, per department x dimension, and organisation-wide."""

    min_group_size: int
    groups: Mapping[str, GroupDisclosure]
    organization_dimensions: Mapping[str, bool]
    organization_participation_shown: bool

    def shows(self, name: str) -> bool:
        """Whether department `name` is shown (unknown names are not)."""
        group = self.groups.get(name)
        return group is not None and group.shown

    def shows_score(self, name: str, dimension: str) -> bool:
        """Whether department `name`'s score on `dimension` is shown."""
        group = self.groups.get(name)
        return group is not None and group.shows_score(dimension)

    def shows_organization_score(self, dimension: str) -> bool:
        """Whether the organisation-wide score on `dimension` is shown."""
        return self.organization_dimensions.get(dimension, False)


def plan_disclosure(groups: Sequence[GroupCounts], k: int, dimensions: Sequence[str]) -> DisclosurePlan:
    """Decide what may be shown for a round's departments, with minimum group size `k`.

    Quarantined groups (newcomers) are hidden, and organisation-wide figures need k long-standing
    respondents: padding with new people can neither lift a figure over the threshold nor, through
    the organisation total, isolate what the hidden long-standing people answered.
    """
    check_min_group_size(k)
    attributed = [g for g in groups if not g.quarantined]
    newcomers = [g for g in groups if g.quarantined]
    department_status = suppress_counts(
        {g.name: g.responded for g in attributed}, k, unattributed=sum(g.responded for g in newcomers)
    )
    department_status.update({g.name: SuppressionReason.QUARANTINE for g in newcomers})
    forced = {name: reason for name, reason in department_status.items() if reason is not None}
    hidden_cells: dict[str, dict[str, SuppressionReason]] = {g.name: {} for g in groups}
    organization: dict[str, bool] = {}
    for dimension in dimensions:
        counts = {g.name: g.dimension_counts.get(dimension, 0) for g in attributed}
        unscored = sum(g.dimension_counts.get(dimension, 0) for g in newcomers)
        organization[dimension] = sum(counts.values()) >= k
        for name, reason in suppress_counts(counts, k, forced, unattributed=unscored).items():
            if reason is not None and name not in forced:
                hidden_cells[name][dimension] = reason
    verdicts = {
        g.name: GroupDisclosure(
            g.name,
            department_status[g.name],
            department_status[g.name] is None and g.invited >= k,
            MappingProxyType(hidden_cells[g.name]),
        )
        for g in groups
    }
    return DisclosurePlan(
        k,
        MappingProxyType(verdicts),
        MappingProxyType(organization),
        sum(g.invited for g in attributed) >= k and sum(g.responded for g in attributed) >= k,
    )


# ---------------------------------------------------------------- comments

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, possibly split by spaces, dots, dashes, slashes or brackets, with an optional
# leading +. This also catches some non-phone numbers (e.g. "2023-2024"); over-redacting is the safe side.
_PHONE_CANDIDATE = re.compile(r"(?<![\w])\+?\(?\d[\d\s()./-]{5,}\d(?![\w])")


_WORD = re.compile(r"\w+")
# What may separate the words of a name: "Anna Berg", "Anna-Berg", "A. Berg", "O'Neil".
_NAME_GAP = re.compile(r"[\s.'’-]{1,3}")
# "Berg, Anna": the family name first, then a comma.
_COMMA_GAP = re.compile(r"\s*,\s*")


class Redactor:
    """Removes people's names, email addresses and phone numbers from comments, and counts what it removed.

    Names are removed as names, never as words. A person's name matches only whole, in any letter
    case: all its words in order ("Anna Maria Berg"), the first and last word ("Anna Berg"), or the
    last word, a comma and the first ("Berg, Anna"). A single word of a name is left alone, and so is
    a name of one word: otherwise whoever edits the directory could silence any word in every comment
    by adding a "person" called "Harassment Overtime" (or "Harassment"); now that costs them the whole
    phrase, and the redaction count printed beside the comment shows that something was removed.
    Every email address and phone number goes, whoever it belongs to.

    Matching is word by word against sets, not a regex alternation: a directory of thousands of
    people would make that slow.
    """

    def __init__(self, directory_terms: Sequence[str]) -> None:
        self._names: set[tuple[str, ...]] = set()
        self._reversed: set[tuple[str, str]] = set()
        for term in directory_terms:
            if "@" in term:
                continue  # emails: every address is removed by pattern anyway
            words = tuple(w.lower() for w in _WORD.findall(term))
            if len(words) < 2:
                continue
            self._names.add(words)
            self._names.add((words[0], words[-1]))
            self._reversed.add((words[-1], words[0]))
        self._lengths = sorted({len(name) for name in self._names}, reverse=True)
        # Most words of a comment start no name: one set look-up rules them out before any window is built.
        self._starts = {name[0] for name in self._names} | {last for last, _ in self._reversed}

    def _name_spans(self, text: str) -> list[tuple[int, int]]:
        tokens = list(_WORD.finditer(text))
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(tokens):
            if tokens[i].group(0).lower() not in self._starts:
                i += 1
                continue
            for length in self._lengths:
                window = tokens[i : i + length]
                if (
                    len(window) == length
                    and all(_NAME_GAP.fullmatch(text[a.end() : b.start()]) for a, b in pairwise(window))
                    and tuple(t.group(0).lower() for t in window) in self._names
                ):
                    break
            else:
                window = tokens[i : i + 2]
                if not (
                    len(window) == 2
                    and _COMMA_GAP.fullmatch(text[window[0].end() : window[1].start()])
                    and (window[0].group(0).lower(), window[1].group(0).lower()) in self._reversed
                ):
                    i += 1
                    continue
            spans.append((window[0].start(), window[-1].end()))
            i += len(window)
        return spans

    def redact(self, text: str) -> tuple[str, int]:
        """``text`` with names, emails and phone numbers replaced by markers, and how many were replaced."""
        text, emails = _EMAIL.subn(EMAIL_REMOVED, text)
        pieces: list[str] = []
        position = 0
        spans = self._name_spans(text)
        for start, end in spans:
            pieces.extend((text[position:start], NAME_REMOVED))
            position = end
        pieces.append(text[position:])
        phones = 0

        def phone(match: re.Match[str]) -> str:
            nonlocal phones
            if sum(ch.isdigit() for ch in match.group(0)) < 7:
                return match.group(0)
            phones += 1
            return PHONE_REMOVED

        text = _PHONE_CANDIDATE.sub(phone, "".join(pieces))
        return text, emails + len(spans) + phones

    def __call__(self, text: str) -> str:
        return self.redact(text)[0]


def redact(text: str, directory_terms: Sequence[str]) -> str:
    """Remove the directory's names, any email address and any phone number from `text`."""
    return Redactor(directory_terms)(text)


@dataclass(frozen=True)
class CommentSource:
    """The raw comments of one department and whether the department is shown."""

    name: str
    responded: int
    shown: bool
    comments: Sequence[str]
    #: False for the round's newcomers: they never count towards a comment threshold.
    long_standing: bool = True


@dataclass(frozen=True, order=True)
class ReleasedComment:
    """A comment as released: its redacted text, and how many names, emails and phone numbers were
    removed from it (shown beside it, so a removal is never silent)."""

    text: str
    redactions: int = 0


@dataclass(frozen=True)
class CommentGroup:
    """Released comments of one group (a department, or the pool of smaller departments)."""

    group: str
    comments: tuple[ReleasedComment, ...]
    #: "unit": the people of the department named; "remainder": the people of the unit named who are in
    #: no released group below it; "organization": the rest of the organisation (``pulse.domain.tree_comments``)
    kind: str = "unit"


def _clean(comments: Sequence[str], redactor: Redactor) -> list[ReleasedComment]:
    cleaned = (redactor.redact(c.strip()[:COMMENT_MAX_LENGTH]) for c in comments)
    return sorted(ReleasedComment(text.strip(), count) for text, count in cleaned if text.strip())


def disclose_comments(
    sources: Sequence[CommentSource],
    *,
    threshold: int,
    min_group_size: int,
    closed: bool,
    directory_terms: Sequence[str],
) -> tuple[CommentGroup, ...]:
    """Comments that may be released: nothing before the round closes; per shown department whose
    long-standing respondents reach the threshold; everything else pooled as one group.

    Free text cannot be noised, so a comment must never sit in a group where all other writers could
    be people an insider padded in. The pool (hidden departments and newcomers) is released only when
    its long-standing respondents reach the threshold; when they do not, the smallest attributed
    departments join the pool until they do, and when even the whole organisation does not, the pool
    is not released. The pool is one list in alphabetical order, which says nothing about which
    department, or when, a comment came from.
    """
    limit = effective_comment_threshold(threshold, min_group_size)
    if not closed:
        return ()
    redactor = Redactor(directory_terms)
    attributed = [s for s in sources if s.shown and s.long_standing and s.responded >= limit]
    pooled = [s for s in sources if s not in attributed]
    pool_long_standing = sum(s.responded for s in pooled if s.long_standing)
    attributed.sort(key=lambda s: (s.responded, s.name))
    while any(s.comments for s in pooled) and pool_long_standing < limit and attributed:
        joining = attributed.pop(0)
        pooled.append(joining)
        pool_long_standing += joining.responded
    released: list[CommentGroup] = []
    for source in sorted(attributed, key=lambda s: s.name):
        comments = _clean(source.comments, redactor)
        if comments:
            released.append(CommentGroup(source.name, tuple(comments)))
    if pool_long_standing >= limit:
        comments = _clean([c for s in pooled for c in s.comments], redactor)
        if comments:
            released.append(CommentGroup(POOLED_COMMENT_GROUP, tuple(comments), "organization"))
    return tuple(released)

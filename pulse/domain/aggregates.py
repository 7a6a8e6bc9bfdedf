"""Report input: per-department aggregates, and how to build them from individual responses.

The report service fills `DepartmentAggregates` with one GROUP BY per department (counts, sums and
sums of squares), so a report over a million answers never loads them into Python. The
`aggregate_department` helper does the same from in-memory responses, for tests, the demo and
small embedded installations; both paths must give the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from pulse.domain.drivers import DriverMoments
from pulse.domain.errors import InconsistentAggregates
from pulse.domain.items import DIMENSION_KEYS, ITEM_BY_KEY, OUTCOME_KEY
from pulse.domain.scoring import enps_category, item_score, score_response
from pulse.domain.stats import CrossMoments, Moments

#: One person's help marks add up to at most this many: someone who names more departments has
#: each mark weighted down (MAX_HELP_MARKS / marks), so no one person can move the network much.
MAX_HELP_MARKS = 3


def help_weight(marks: int) -> float:
    """The weight of each of one person's `marks` help marks (1 up to MAX_HELP_MARKS marks)."""
    return 1.0 if marks <= MAX_HELP_MARKS else MAX_HELP_MARKS / marks


@dataclass(frozen=True)
class DepartmentAggregates:
    """Everything the report needs about one department in one round, as sufficient statistics."""

    name: str
    invited: int
    responded: int
    # dimension key -> moments of respondents' 0-100 dimension scores
    dimension_moments: Mapping[str, Moments]
    # dimension key -> moments of respondents' 0-100 scores over the anchor items only (for trends)
    anchor_moments: Mapping[str, Moments] = field(default_factory=dict)
    # item key -> moments of raw 1-5 answers (before reverse-keying)
    item_moments: Mapping[str, Moments] = field(default_factory=dict)
    # (key_a, key_b) with key_a < key_b, same dimension only, raw answers
    item_cross: Mapping[tuple[str, str], CrossMoments] = field(default_factory=dict)
    enps_promoters: int = 0
    enps_passives: int = 0
    enps_detractors: int = 0
    # other department name -> how many respondents of THIS department said it helped them, each
    # respondent's marks weighted to add up to at most `MAX_HELP_MARKS` (a bound on one person's
    # contribution, which the privacy noise needs)
    helped_by: Mapping[str, float] = field(default_factory=dict)
    # respondents of this department who answered the network question
    network_respondents: int = 0
    # the units whose help marks are released for this department (the units its help question
    # offered, `pulse.domain.help_choices`); None: every other department of the round
    help_targets: tuple[str, ...] | None = None
    # raw comments (only for closed rounds; disclosure decides what is released)
    comments: Sequence[str] = ()
    # dimension key -> variance of the released mean due to privacy noise (empty: exact figures);
    # filled by `pulse.domain.privacy.release_round`, added to the sampling variance by every
    # interval, comparison and flag
    noise_variance: Mapping[str, float] = field(default_factory=dict)
    # dimension key -> scale of the one Laplace draw on the released mean (its variance, 2 x scale²,
    # is part of `noise_variance`): flags integrate over it exactly (`pulse.domain.flags`). Empty for
    # exact figures and for pooled units, whose noise sums several draws.
    noise_scale: Mapping[str, float] = field(default_factory=dict)
    # (responded, dimension key -> scored) as counted, for the disclosure gate's decisions, when the
    # figures above are released (noisy) ones; None: the figures above are exact and decide.
    gate_counts: tuple[int, Mapping[str, int]] | None = None
    # respondents who answered the help question as counted, beside a released (noisy) network count
    gate_network: int | None = None
    # dimension key -> (offset, variance of its noise): for privacy-released figures, the round's
    # organisation-wide score over every statement minus its noisy score over the anchor statements.
    # Subtracting it puts this round's scores on the anchor scale, so trends compare like with like
    # (mean equating through the anchors; `pulse.domain.privacy`, `pulse.domain.report._trend_moments`).
    anchor_offset: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    # the four dimension scores and the outcome score (0-100) of respondents who have all five
    driver_moments: DriverMoments = field(default_factory=DriverMoments.empty)
    # the newcomers of the round (people in quarantine): counted in the organisation's figures only
    quarantined: bool = False

    def __post_init__(self) -> None:
        if self.invited < 0 or self.responded < 0:
            raise InconsistentAggregates(f"{self.name!r}: negative counts ({self.invited}, {self.responded})")
        if self.responded > self.invited:
            raise InconsistentAggregates(f"{self.name!r}: {self.responded} responses but {self.invited} invited")
        for key, moments in (*self.dimension_moments.items(), *self.anchor_moments.items()):
            if moments.n > self.responded:
                raise InconsistentAggregates(
                    f"{self.name!r}: {moments.n} scores on {key!r} but {self.responded} responses"
                )
        if self.network_respondents > self.responded:
            raise InconsistentAggregates(
                f"{self.name!r}: {self.network_respondents} network answers but {self.responded} responses"
            )

    @property
    def enps_responses(self) -> int:
        """How many respondents answered the eNPS question."""
        return self.enps_promoters + self.enps_passives + self.enps_detractors


@dataclass(frozen=True)
class RoundAggregates:
    """One earlier round, for trends and the regression-to-the-mean note.

    Used: invited, responded, dimension moments (flags of that round) and anchor moments (trends).
    The departments listed with anyone invited are the round's population (see `trends.same_population`).
    """

    label: str
    opened_on: str  # ISO date
    departments: Sequence[DepartmentAggregates]


@dataclass(frozen=True)
class Response:
    """One person's answers, as stored (no person, no time): the shape the simulation produces."""

    department: str
    answers: Mapping[str, int]
    enps: int | None = None
    # None = the network question was not answered; () = answered, nobody helped.
    helped_by: Sequence[str] | None = None
    comment: str | None = None


def aggregate_department(
    name: str, invited: int, responses: Sequence[Response], asked: Sequence[str]
) -> DepartmentAggregates:
    """Sufficient statistics of one department's responses to the items in `asked`.

    Answers to items that were not asked are ignored, as in scoring. A department naming itself in
    the network question is ignored: the question is about other departments.
    """
    asked_keys = list(dict.fromkeys(asked))
    scores = [score_response(r.answers, asked_keys) for r in responses]
    dimensions = {d for s in scores for d, v in s.items() if v is not None}
    dimension_moments = {d: Moments.from_values(s[d] for s in scores) for d in sorted(dimensions)}
    anchors = [k for k in asked_keys if ITEM_BY_KEY[k].anchor]
    anchor_scores = [score_response(r.answers, anchors) for r in responses]
    anchor_moments = {
        d: Moments.from_values(s[d] for s in anchor_scores)
        for d in sorted({d for s in anchor_scores for d, v in s.items() if v is not None})
    }
    item_moments = {k: Moments.from_values(r.answers.get(k) for r in responses) for k in asked_keys}
    item_cross = {
        (a, b): CrossMoments.from_pairs((r.answers.get(a), r.answers.get(b)) for r in responses)
        for a, b in combinations(sorted(asked_keys), 2)
        if ITEM_BY_KEY[a].dimension == ITEM_BY_KEY[b].dimension
    }
    driver_rows = [
        [*(s[d] for d in DIMENSION_KEYS), item_score(OUTCOME_KEY, r.answers[OUTCOME_KEY])]
        for s, r in zip(scores, responses, strict=True)
        if OUTCOME_KEY in asked_keys and OUTCOME_KEY in r.answers
    ]
    categories = [enps_category(r.enps) for r in responses if r.enps is not None]
    helped_by: dict[str, float] = {}
    network_respondents = 0
    for r in responses:
        if r.helped_by is None:
            continue
        network_respondents += 1
        others = set(r.helped_by) - {name}
        weight = help_weight(len(others))
        for other in others:
            helped_by[other] = helped_by.get(other, 0) + weight
    return DepartmentAggregates(
        name=name,
        invited=invited,
        responded=len(responses),
        dimension_moments=dimension_moments,
        anchor_moments=anchor_moments,
        item_moments=item_moments,
        item_cross=item_cross,
        enps_promoters=categories.count("promoter"),
        enps_passives=categories.count("passive"),
        enps_detractors=categories.count("detractor"),
        helped_by=dict(sorted(helped_by.items())),
        network_respondents=network_respondents,
        comments=tuple(r.comment for r in responses if r.comment),
        driver_moments=DriverMoments.from_rows(driver_rows),
    )


def aggregate_responses(
    responses: Sequence[Response], invited: Mapping[str, int], asked: Sequence[str]
) -> list[DepartmentAggregates]:
    """Aggregates for every department in `invited` (departments nobody answered in get empty moments)."""
    by_department: dict[str, list[Response]] = {name: [] for name in invited}
    for r in responses:
        if r.department not in by_department:
            raise InconsistentAggregates(f"response from department {r.department!r}, which nobody was invited in")
        by_department[r.department].append(r)
    return [aggregate_department(name, invited[name], by_department[name], asked) for name in sorted(invited)]

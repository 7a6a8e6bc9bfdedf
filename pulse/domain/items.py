"""The item bank: the four dimensions, their items, and how a pulse is composed for a round.

Items are written for Pulse (not taken from a published scale) and describe behaviours people can
observe at work: blame after a mistake, permission to act for a customer, leaders keeping their
word, and help between departments. Every item is answered on a 5-point agreement scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pulse.domain.errors import InvalidPulseSize
from pulse.domain.wording import N_

SCALE_MIN = 1
SCALE_MAX = 5
SCALE_OPTIONS = SCALE_MAX - SCALE_MIN + 1
# TRANSLATORS: the five points of the agreement scale, from 1 (strongly disagree) to 5 (strongly agree). Use the
# usual wording of a Likert agreement scale in your language; the steps must read as evenly spaced.
SCALE_LABELS: tuple[str, str, str, str, str] = (
    N_("Strongly disagree"),
    N_("Disagree"),
    N_("Neither agree nor disagree"),
    N_("Agree"),
    N_("Strongly agree"),
)

ENPS_FIELD = "enps"
ENPS_MIN = 0
ENPS_MAX = 10
# TRANSLATORS: the employee Net Promoter question (answered 0-10). Keep "recommend ... as a place to work to a friend".
ENPS_QUESTION = N_("How likely is it that you would recommend this organisation as a place to work to a friend?")
HELP_FIELD = "helped_by"
# TRANSLATORS: a multiple-choice list of departments follows; "(choose any)" means several may be ticked.
HELP_QUESTION = N_("Which other departments gave you information or help in the last few weeks? (choose any)")
COMMENT_FIELD = "comment"
COMMENT_QUESTION = N_("Anything else you want leaders to know? (optional, shown only in groups, never with your name)")
COMMENT_MAX_LENGTH = 2000

DEFAULT_PULSE_SIZE = 10


@dataclass(frozen=True)
class Dimension:
    """One thing Pulse measures; `higher_is_better` tells readers which direction is healthy."""

    key: str
    label: str
    higher_is_better: bool
    description: str


@dataclass(frozen=True)
class Item:
    """One statement answered on the agreement scale.

    `reverse` means agreeing indicates *less* of the dimension, so the answer is flipped before
    scoring. `anchor` items are asked in every round so trends compare like with like.
    """

    key: str
    dimension: str
    text: str
    reverse: bool
    anchor: bool


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        "fear",
        N_("Fear of blame"),
        False,
        N_("Fear of blame, of stepping outside standard procedure, of raising a problem or a mistake."),
    ),
    Dimension(
        "initiative",
        N_("Permission to act"),
        True,
        N_("Perceived permission and encouragement to act on one's own judgment for the customer."),
    ),
    Dimension(
        "consistency",
        N_("Leadership consistency"),
        True,
        N_("Words match deeds; rules, praise and priorities hold the same way from week to week."),
    ),
    Dimension(
        "collaboration",
        N_("Cross-department collaboration"),
        True,
        N_("Getting information and help from other departments; low values point to silos."),
    ),
)
DIMENSION_BY_KEY: Mapping[str, Dimension] = MappingProxyType({d.key: d for d in DIMENSIONS})
DIMENSION_KEYS: tuple[str, ...] = tuple(d.key for d in DIMENSIONS)
#: Each dimension as a sentence names it ("Store 12, fear of blame: flagged in Round 3"), for the
#: report's sentences that name a dimension given as a value.
DIMENSION_TOPICS: Mapping[str, str] = MappingProxyType(
    {
        # TRANSLATORS: a dimension named inside a sentence of the report (lower case where your language allows).
        "fear": N_("fear of blame"),
        # TRANSLATORS: a dimension named inside a sentence of the report (lower case where your language allows).
        "initiative": N_("permission to act"),
        # TRANSLATORS: a dimension named inside a sentence of the report (lower case where your language allows).
        "consistency": N_("leadership consistency"),
        # TRANSLATORS: a dimension named inside a sentence of the report (lower case where your language allows).
        "collaboration": N_("cross-department collaboration"),
    }
)

# Two anchors per dimension, one of them reverse-keyed, so every round has a balanced core that
# resists agreeing-with-everything; the other four rotate.
ITEMS: tuple[Item, ...] = (
    # fear: higher agreement = more fear (after reverse-keying)
    Item(
        "fear_blame_mistake",
        "fear",
        # TRANSLATORS: Fear of blame (anchor). Agreeing = MORE fear. Must convey: after my own mistake I expect blame,
        # not help to fix it. Keep the contrast blamed vs. helped.
        N_("If I made a mistake at work, I would expect to be blamed for it rather than helped to put it right."),
        False,
        True,
    ),
    Item(
        "fear_raise_problem_safe",
        "fear",
        # TRANSLATORS: Fear of blame (anchor), REVERSE-KEYED: agreeing = LESS fear. Must convey: I can tell my manager
        # about a problem without worrying how it makes me look. Keep it positive (no negation), or the reverse-keying
        # flips.
        N_("I can point out a problem to my manager without worrying about how it will reflect on me."),
        True,
        True,
    ),
    Item(
        "fear_outside_procedure",
        "fear",
        # TRANSLATORS: Fear of blame. Agreeing = MORE fear. Must convey: stepping outside the standard procedure, even
        # for a customer's sake, could get me into trouble (sanctions, not just disapproval).
        N_("Doing something outside the standard procedure, even to help a customer, could get me into trouble."),
        False,
        False,
    ),
    Item(
        "fear_admit_error_safe",
        "fear",
        # TRANSLATORS: Fear of blame, REVERSE-KEYED: agreeing = LESS fear. Must convey: people can openly admit an
        # error and it is not held against them later. Keep it positive.
        N_("People here can own up to an error openly without it being held against them later."),
        True,
        False,
    ),
    Item(
        "fear_keep_head_down",
        "fear",
        # TRANSLATORS: Fear of blame. Agreeing = MORE fear. Must convey: staying quiet and unnoticed is safer than
        # speaking up. Use an everyday idiom for 'keep your head down' if the language has one.
        N_("Around here it is safer to keep your head down than to speak up."),
        False,
        False,
    ),
    Item(
        "fear_metrics_punish",
        "fear",
        # TRANSLATORS: Fear of blame. Agreeing = MORE fear. Must convey: I worry a bad figure on my targets/KPIs will
        # be used against me regardless of the reason for it.
        N_("I worry that a bad number on my targets will be used against me, whatever the reason behind it."),
        False,
        False,
    ),
    # initiative: higher = more permission to act
    Item(
        "initiative_act_for_customer",
        "initiative",
        # TRANSLATORS: Permission to act (anchor). Agreeing = MORE permission. Must convey: I can solve a customer's
        # need myself without asking for approval first.
        N_("When a customer needs something, I can sort it out myself without first asking for approval."),
        False,
        True,
    ),
    Item(
        "initiative_wait_for_permission",
        "initiative",
        # TRANSLATORS: Permission to act (anchor), REVERSE-KEYED: agreeing = LESS permission. Must convey: I prefer
        # waiting for permission over fixing something myself, even when the fix is obvious. Keep 'rather wait' as the
        # agreed-with option.
        N_("I would rather wait for permission than fix something myself, even when the fix is obvious."),
        True,
        True,
    ),
    Item(
        "initiative_rewarded",
        "initiative",
        # TRANSLATORS: Permission to act. Agreeing = MORE permission. Must convey: using your own judgment to solve a
        # problem is noticed and appreciated here.
        N_("When someone here uses their own judgment to solve a problem, it gets noticed and appreciated."),
        False,
        False,
    ),
    Item(
        "initiative_punished",
        "initiative",
        # TRANSLATORS: Permission to act, REVERSE-KEYED: agreeing = LESS permission. Must convey: people who take
        # initiative often end up criticised for it.
        N_("People who take the initiative here often end up being criticised for it."),
        True,
        False,
    ),
    Item(
        "initiative_backed_by_manager",
        "initiative",
        # TRANSLATORS: Permission to act. Agreeing = MORE permission. Must convey: my manager supports me when I
        # depart from routine to do the right thing for a customer.
        N_("My manager backs me when I step away from a routine to do the right thing for a customer."),
        False,
        False,
    ),
    Item(
        "initiative_know_limits",
        "initiative",
        # TRANSLATORS: Permission to act. Agreeing = MORE permission. Must convey: I know how far I may go on my own
        # to solve a customer's problem (clear limits of my authority).
        N_("I know how far I am allowed to go on my own to solve a customer's problem."),
        False,
        False,
    ),
    # consistency: higher = leaders are more consistent
    Item(
        "consistency_words_deeds",
        "consistency",
        # TRANSLATORS: Leadership consistency (anchor). Agreeing = MORE consistent. Must convey: our leaders do what
        # they say they will do (words match deeds).
        N_("Our leaders do what they say they will do."),
        False,
        True,
    ),
    Item(
        "consistency_praise_flips",
        "consistency",
        # TRANSLATORS: Leadership consistency (anchor), REVERSE-KEYED: agreeing = LESS consistent. Must convey: the
        # same thing can be praised one week and criticised the next.
        N_("Something that gets praised one week can get criticised the next."),
        True,
        True,
    ),
    Item(
        "consistency_rules_same_each_week",
        "consistency",
        # TRANSLATORS: Leadership consistency. Agreeing = MORE consistent. Must convey: rules are applied the same way
        # from one week to the next.
        N_("Rules here are enforced the same way from one week to the next."),
        False,
        False,
    ),
    Item(
        "consistency_priorities_stable",
        "consistency",
        # TRANSLATORS: Leadership consistency. Agreeing = MORE consistent. Must convey: I know which priorities will
        # still count next month (priorities are stable).
        N_("I know which priorities will still matter next month."),
        False,
        False,
    ),
    Item(
        "consistency_rules_depend_on_who",
        "consistency",
        # TRANSLATORS: Leadership consistency, REVERSE-KEYED: agreeing = LESS consistent. Must convey: whether a rule
        # is enforced depends on who broke it or who is watching.
        N_("Whether a rule is enforced depends on who broke it or who happens to be watching."),
        True,
        False,
    ),
    Item(
        "consistency_changes_explained",
        "consistency",
        # TRANSLATORS: Leadership consistency. Agreeing = MORE consistent. Must convey: when leaders change direction,
        # they explain the reasons.
        N_("When leaders change direction, they explain why."),
        False,
        False,
    ),
    # collaboration: higher = more help across departments
    Item(
        "collaboration_info_from_others",
        "collaboration",
        # TRANSLATORS: Cross-department collaboration (anchor). Agreeing = MORE cooperation. Must convey: I get the
        # information I need from other departments without having to chase it.
        N_("I get the information I need from other departments without having to chase it."),
        False,
        True,
    ),
    Item(
        "collaboration_departments_compete",
        "collaboration",
        # TRANSLATORS: Cross-department collaboration (anchor), REVERSE-KEYED: agreeing = LESS cooperation (silo).
        # Must convey: departments compete with each other more than they help each other.
        N_("Departments here compete with each other more than they help each other."),
        True,
        True,
    ),
    Item(
        "collaboration_help_when_asked",
        "collaboration",
        # TRANSLATORS: Cross-department collaboration. Agreeing = MORE cooperation. Must convey: when I ask another
        # department for help, I usually get it.
        N_("When I ask another department for help, I usually get it."),
        False,
        False,
    ),
    Item(
        "collaboration_know_others_work",
        "collaboration",
        # TRANSLATORS: Cross-department collaboration. Agreeing = MORE cooperation. Must convey: I know what other
        # departments are currently working on.
        N_("I know what the other departments are working on at the moment."),
        False,
        False,
    ),
    Item(
        "collaboration_info_kept_back",
        "collaboration",
        # TRANSLATORS: Cross-department collaboration, REVERSE-KEYED: agreeing = LESS cooperation (silo). Must convey:
        # other departments keep useful information to themselves.
        N_("Other departments keep useful information to themselves."),
        True,
        False,
    ),
    Item(
        "collaboration_shared_problems",
        "collaboration",
        # TRANSLATORS: Cross-department collaboration. Agreeing = MORE cooperation. Must convey: people in other
        # departments treat our problems as shared problems (theirs too).
        N_("People in other departments treat our problems as shared problems."),
        False,
        False,
    ),
)
#: The behavioural outcome asked every round, after the climate statements: not a dimension, but what
#: the four dimensions are supposed to drive (see pulse.domain.drivers). Same agreement scale.
OUTCOME_DIMENSION = "outcome"
OUTCOME_ITEM = Item(
    "outcome_fixed_customer_problem",
    OUTCOME_DIMENSION,
    # TRANSLATORS: Behavioural outcome, asked every round. Agreeing = the person DID act on their own for a customer
    # recently. Must convey: a concrete action in the last two weeks, done without being told or waiting for
    # approval. Keep it about behaviour, not attitude.
    N_("In the last two weeks I fixed a customer's problem myself, without waiting to be told."),
    False,
    False,
)
OUTCOME_KEY = OUTCOME_ITEM.key
#: Every statement a pulse can ask: the climate items, then the outcome.
BANK: tuple[Item, ...] = (*ITEMS, OUTCOME_ITEM)
ITEM_BY_KEY: Mapping[str, Item] = MappingProxyType({i.key: i for i in BANK})
ANCHOR_KEYS: tuple[str, ...] = tuple(i.key for i in ITEMS if i.anchor)


def items_of(dimension: str) -> tuple[Item, ...]:
    """The items of one dimension, in bank order."""
    return tuple(i for i in ITEMS if i.dimension == dimension)


def _rotation() -> tuple[str, ...]:
    # Interleave dimensions (fear 1, initiative 1, consistency 1, collaboration 1, fear 2, ...) so
    # any run of consecutive slots spreads the extra items over the dimensions.
    pools = [[i.key for i in items_of(d.key) if not i.anchor] for d in DIMENSIONS]
    depth = max(len(p) for p in pools)
    return tuple(p[j] for j in range(depth) for p in pools if j < len(p))


ROTATION: tuple[str, ...] = _rotation()
MIN_PULSE_SIZE = len(ANCHOR_KEYS)
MAX_PULSE_SIZE = len(ITEMS)


def compose_pulse(round_number: int, size: int = DEFAULT_PULSE_SIZE) -> tuple[str, ...]:
    """Item keys for the round with sequence number `round_number` (1 = the organisation's first round).

    `size` climate statements, then the outcome statement (so a default pulse asks 11). Every anchor
    item is included; the remaining `size - anchors` slots walk through the rotating
    items in a fixed cycle, continuing where the previous round stopped, so every item is asked
    regularly (at the default size of 10, each rotating item every 8 rounds). The result depends
    only on the arguments, so any round can be reproduced. Keys come back in bank order.
    """
    if round_number < 1:
        raise InvalidPulseSize(f"round_number must be 1 or more, got {round_number}")
    if not MIN_PULSE_SIZE <= size <= MAX_PULSE_SIZE:
        raise InvalidPulseSize(f"pulse size must be between {MIN_PULSE_SIZE} and {MAX_PULSE_SIZE}, got {size}")
    slots = size - len(ANCHOR_KEYS)
    start = (round_number - 1) * slots
    chosen = set(ANCHOR_KEYS)
    chosen.update(ROTATION[(start + j) % len(ROTATION)] for j in range(slots))
    return (*(i.key for i in ITEMS if i.key in chosen), OUTCOME_KEY)

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

SCALE_MIN = 1
SCALE_MAX = 5
SCALE_OPTIONS = SCALE_MAX - SCALE_MIN + 1
SCALE_LABELS: tuple[str, str, str, str, str] = (
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
)

ENPS_FIELD = "enps"
ENPS_MIN = 0
ENPS_MAX = 10
ENPS_QUESTION = "How likely is it that you would recommend this organisation as a place to work to a friend?"
HELP_FIELD = "helped_by"
HELP_QUESTION = "Which other departments gave you information or help in the last few weeks? (choose any)"
COMMENT_FIELD = "comment"
COMMENT_QUESTION = "Anything else you want leaders to know? (optional, shown only in groups, never with your name)"
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
        "Fear of blame",
        False,
        "Fear of blame, of stepping outside standard procedure, of raising a problem or a mistake.",
    ),
    Dimension(
        "initiative",
        "Permission to act",
        True,
        "Perceived permission and encouragement to act on one's own judgment for the customer.",
    ),
    Dimension(
        "consistency",
        "Leadership consistency",
        True,
        "Words match deeds; rules, praise and priorities hold the same way from week to week.",
    ),
    Dimension(
        "collaboration",
        "Cross-department collaboration",
        True,
        "Getting information and help from other departments; low values point to silos.",
    ),
)
DIMENSION_BY_KEY: Mapping[str, Dimension] = MappingProxyType({d.key: d for d in DIMENSIONS})
DIMENSION_KEYS: tuple[str, ...] = tuple(d.key for d in DIMENSIONS)

# Two anchors per dimension, one of them reverse-keyed, so every round has a balanced core that
# resists agreeing-with-everything; the other four rotate.
ITEMS: tuple[Item, ...] = (
    # fear: higher agreement = more fear (after reverse-keying)
    Item(
        "fear_blame_mistake",
        "fear",
        "If I made a mistake at work, I would expect to be blamed for it rather than helped to put it right.",
        False,
        True,
    ),
    Item(
        "fear_raise_problem_safe",
        "fear",
        "I can point out a problem to my manager without worrying about how it will reflect on me.",
        True,
        True,
    ),
    Item(
        "fear_outside_procedure",
        "fear",
        "Doing something outside the standard procedure, even to help a customer, could get me into trouble.",
        False,
        False,
    ),
    Item(
        "fear_admit_error_safe",
        "fear",
        "People here can own up to an error openly without it being held against them later.",
        True,
        False,
    ),
    Item(
        "fear_keep_head_down",
        "fear",
        "Around here it is safer to keep your head down than to speak up.",
        False,
        False,
    ),
    Item(
        "fear_metrics_punish",
        "fear",
        "I worry that a bad number on my targets will be used against me, whatever the reason behind it.",
        False,
        False,
    ),
    # initiative: higher = more permission to act
    Item(
        "initiative_act_for_customer",
        "initiative",
        "When a customer needs something, I can sort it out myself without first asking for approval.",
        False,
        True,
    ),
    Item(
        "initiative_wait_for_permission",
        "initiative",
        "I would rather wait for permission than fix something myself, even when the fix is obvious.",
        True,
        True,
    ),
    Item(
        "initiative_rewarded",
        "initiative",
        "When someone here uses their own judgment to solve a problem, it gets noticed and appreciated.",
        False,
        False,
    ),
    Item(
        "initiative_punished",
        "initiative",
        "People who take the initiative here often end up being criticised for it.",
        True,
        False,
    ),
    Item(
        "initiative_backed_by_manager",
        "initiative",
        "My manager backs me when I step away from a routine to do the right thing for a customer.",
        False,
        False,
    ),
    Item(
        "initiative_know_limits",
        "initiative",
        "I know how far I am allowed to go on my own to solve a customer's problem.",
        False,
        False,
    ),
    # consistency: higher = leaders are more consistent
    Item(
        "consistency_words_deeds",
        "consistency",
        "Our leaders do what they say they will do.",
        False,
        True,
    ),
    Item(
        "consistency_praise_flips",
        "consistency",
        "Something that gets praised one week can get criticised the next.",
        True,
        True,
    ),
    Item(
        "consistency_rules_same_each_week",
        "consistency",
        "Rules here are enforced the same way from one week to the next.",
        False,
        False,
    ),
    Item(
        "consistency_priorities_stable",
        "consistency",
        "I know which priorities will still matter next month.",
        False,
        False,
    ),
    Item(
        "consistency_rules_depend_on_who",
        "consistency",
        "Whether a rule is enforced depends on who broke it or who happens to be watching.",
        True,
        False,
    ),
    Item(
        "consistency_changes_explained",
        "consistency",
        "When leaders change direction, they explain why.",
        False,
        False,
    ),
    # collaboration: higher = more help across departments
    Item(
        "collaboration_info_from_others",
        "collaboration",
        "I get the information I need from other departments without having to chase it.",
        False,
        True,
    ),
    Item(
        "collaboration_departments_compete",
        "collaboration",
        "Departments here compete with each other more than they help each other.",
        True,
        True,
    ),
    Item(
        "collaboration_help_when_asked",
        "collaboration",
        "When I ask another department for help, I usually get it.",
        False,
        False,
    ),
    Item(
        "collaboration_know_others_work",
        "collaboration",
        "I know what the other departments are working on at the moment.",
        False,
        False,
    ),
    Item(
        "collaboration_info_kept_back",
        "collaboration",
        "Other departments keep useful information to themselves.",
        True,
        False,
    ),
    Item(
        "collaboration_shared_problems",
        "collaboration",
        "People in other departments treat our problems as shared problems.",
        False,
        False,
    ),
)
ITEM_BY_KEY: Mapping[str, Item] = MappingProxyType({i.key: i for i in ITEMS})
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

    Every anchor item is included; the remaining `size - anchors` slots walk through the rotating
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
    return tuple(i.key for i in ITEMS if i.key in chosen)

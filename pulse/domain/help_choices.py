"""The help question over the unit tree: which units it offers a respondent, and what a mark counts for.

"Which departments gave you information or help in the last weeks" cannot list 2,000 stores. It
offers each respondent the units *beside their own path*: at every level above them, the siblings of
the unit they belong to there (at the top level: every other top-level unit), and the units directly
below their own unit. For someone in ``Retail / Stores North / Store 12`` that is the other top-level
units (``Operations``, ``Service``, ``Finance``…), the other regions of Retail (``Retail / Stores
South``) and the other stores of their region (``Retail / Stores North / Store 11``): a few dozen units
even in a deep tree, and together they cover the whole organisation outside the respondent's own unit,
each person in exactly one of them (people sitting in an inner unit above the respondent aside: naming
a unit that holds oneself says nothing about crossing a boundary). A newcomer (no unit) is offered the
top-level units.

These are exactly the units the silo indicators need: between sibling units under every parent, a
mark of someone below one sibling naming another sibling; towards the rest of the organisation, the
marks of a subtree's people naming units outside it.

A mark naming a unit that was not offered (a page from before the tree changed, or a hand-made
request) counts for the offered unit that holds it, and not at all when none does (the respondent's
own unit or a unit above it). So each respondent's marks are released only over their offered units,
a set that depends on the tree alone, never on the answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from pulse.domain.units import UnitPath, UnitTree, is_within


def help_choices(tree: UnitTree, unit: UnitPath | None) -> tuple[UnitPath, ...]:
    """The units offered to someone sitting in `unit` (None: a newcomer), in path order."""
    if unit is None or unit not in tree:
        return tuple(sorted(tree.roots()))
    offered: list[UnitPath] = []
    for depth in range(len(unit)):
        offered += [sibling for sibling in tree.children(unit[:depth]) if sibling != unit[: depth + 1]]
    offered += tree.children(unit)
    return tuple(sorted(offered))


def counted_for(offered: tuple[UnitPath, ...], named: UnitPath) -> UnitPath | None:
    """The offered unit a mark naming `named` counts for, or None when no offered unit holds it."""
    return next((unit for unit in offered if is_within(named, unit)), None)


def marks_by_choice(tree: UnitTree, unit: UnitPath | None, marks: Mapping[UnitPath, float]) -> dict[UnitPath, float]:
    """One respondent group's help marks (named unit -> weighted marks), counted for their offered units.

    Each mark is `counted_for` its offered unit, found among the named unit's ancestors (and itself)
    instead of by a scan of every offered unit: a flat organisation of 500 departments offers 499, and
    its marks run to hundreds of thousands. When several ancestors are offered, the first in `offered`
    wins, as in `counted_for`."""
    offered = help_choices(tree, unit)
    position = {path: index for index, path in enumerate(offered)}
    result: dict[UnitPath, float] = {}
    for named, count in marks.items():
        found = [position[named[:depth]] for depth in range(1, len(named) + 1) if named[:depth] in position]
        if found:
            target = offered[min(found)]
            result[target] = result.get(target, 0.0) + count
    return result

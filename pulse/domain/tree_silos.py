"""Silo indicators at every level of the unit tree.

Two questions, for every unit (each with everything below it, ``pulse.domain.pooled``):

* **Between siblings.** Under every parent (the organisation's top level included), the units side by
  side form a help network: an edge from B to A is the marks of people in A naming B (the help
  question offers each person the siblings at every level of their path, ``pulse.domain.help_choices``).
  The silo index of each sibling is ``silos.compute_silos`` on that network, with its collaboration
  score's gap to the rest of the organisation, and its interval ``silos.silo_intervals``: exactly the
  index a flat organisation always had, which is this at the top level.
* **Towards the rest.** Whether a unit's people get information and help from outside it at all: the
  marks they give to units outside it, per person who answered the question, against the typical unit
  of the same level (an E-I style component, 0 at or above the typical unit, 1 when nobody outside is
  named), averaged with the collaboration gap like the silo index. Inside a leader's scope this says
  how cut off their whole subtree is from the rest, and each unit just below it likewise.

Only units whose help figures may be shown take part: their respondents who answered the help question
pass the round's plan for that count (``TreePlan.suppress``: at least ``k``, complementary suppression
over the tree), so the marks of no small group can be recovered by subtracting networks of different
levels. Everything here is computed from released (noisy) figures: no further privacy budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulse.domain.aggregates import DepartmentAggregates
from pulse.domain.silos import (
    ISOLATED_FRACTION,
    NetworkInput,
    SiloNetwork,
    collaboration_component,
    compute_silos,
    silo_intervals,
)
from pulse.domain.tree_disclosure import TreeSuppression
from pulse.domain.units import UnitPath, UnitTree, format_unit_path, is_within, name_path


@dataclass(frozen=True)
class SiblingSilos:
    """The help network of the units directly under one parent, and each one's silo index there."""

    parent: str | None  # the parent unit's name; None for the organisation's top level
    network: SiloNetwork | None
    silo_index: Mapping[str, float | None]
    intervals: Mapping[str, tuple[float, float]]


@dataclass(frozen=True)
class RestTies:
    """How much a unit's people name units outside it, against the typical unit of its level."""

    outside: float  # weighted marks naming units outside, per person who answered the help question
    typical: float
    index: float | None  # the silo index towards the rest (network part and collaboration gap)
    #: its people name units outside it at most a third as often as the typical unit of its level does
    isolated: bool = False


@dataclass(frozen=True)
class TreeSilos:
    levels: tuple[SiblingSilos, ...]
    rest: Mapping[str, RestTies]

    def sibling_index(self, name: str) -> tuple[float | None, float | None, float | None]:
        """(silo index, interval low, interval high) of a unit among its siblings."""
        for level in self.levels:
            if name in level.silo_index:
                return (level.silo_index[name], *level.intervals.get(name, (None, None)))
        return (None, None, None)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def tree_silos(
    tree: UnitTree,
    rows: Mapping[UnitPath, DepartmentAggregates],
    network_plan: TreeSuppression,
    collaboration_gap: Mapping[str, float | None],
    gap_standard_error: Mapping[str, float],
    k: int,
) -> TreeSilos:
    """Silo indicators between siblings under every parent and of every unit towards the rest.

    `rows` holds every unit of the tree with everything below it (a leaf: its department); the
    names in `collaboration_gap` and `gap_standard_error` are the rows' names.
    """

    def joins(path: UnitPath) -> bool:
        row = rows.get(path)
        return (
            row is not None
            and network_plan.units.get(path, "hidden") is None
            and network_plan.organization
            and row.network_respondents >= k
        )

    levels: list[SiblingSilos] = []
    for parent in ((), *(p for p in tree if tree.children(p))):
        siblings = [path for path in tree.children(parent) if path in rows]
        if not siblings:
            continue
        names = [rows[path].name for path in siblings]
        inputs = {
            rows[path].name: NetworkInput(
                rows[path].network_respondents,
                {name: rows[path].helped_by.get(name, 0.0) for name in names if name != rows[path].name},
            )
            for path in siblings
            if joins(path)
        }
        gaps = {name: collaboration_gap.get(name) for name in names}
        result = compute_silos(names, gaps, inputs)
        bands = silo_intervals(names, gaps, gap_standard_error, inputs)
        levels.append(
            SiblingSilos(format_unit_path(parent) if parent else None, result.network, result.silo_index, bands)
        )

    outside: dict[UnitPath, float] = {}
    for path, row in rows.items():
        if joins(path) and row.network_respondents > 0:
            marks = sum(count for name, count in row.helped_by.items() if not is_within(name_path(name), path))
            outside[path] = max(0.0, marks) / row.network_respondents
    rest: dict[str, RestTies] = {}
    for depth in {len(path) for path in outside}:
        level = [path for path in outside if len(path) == depth]
        typical = sum(outside[path] for path in level) / len(level)
        for path in level:
            ties = outside[path]
            network = 1.0 if ties + typical == 0 else _clamp(-(ties - typical) / (ties + typical))
            parts = [
                p for p in (network, collaboration_component(collaboration_gap.get(rows[path].name))) if p is not None
            ]
            rest[rows[path].name] = RestTies(
                ties, typical, sum(parts) / len(parts), ties <= ISOLATED_FRACTION * typical and typical > 0
            )
    return TreeSilos(tuple(levels), rest)

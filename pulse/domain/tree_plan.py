"""The disclosure plan of one round over the unit tree: which cells any report of the round may show.

A report of a round shows figures about *cells* (sets of respondents):

* a **department** cell: the people sitting in one unit itself, the rows of the organisation's table
  as before units had levels (for a leaf it is also the unit with everything below it);
* a **pooled** cell: an inner unit with everything below it (a region with its stores; a parent
  with its own people and its children): the rows of a scoped report;
* the organisation.

The organisation's report model holds every one of these cells, and every leader's report is cut from
it (``pulse.domain.scoped_report``), so planning them all at once, here, makes DESIGN.md's rule 6 hold
across every report of the round, whichever leaders exist now or are added later: no sum, difference or
multiple of released figures isolates fewer than ``k`` people.

The plan is ``tree_disclosure.suppress_tree`` over the round's tree in which every inner unit that has
people of its own gets a virtual leaf holding them (``OWN``). Then department cells are leaves, pooled
cells are subtrees, and the whole family is laminar, which is what makes ``suppress_tree`` exact. A
scope of several units gets no total of its own (the leader reads each unit), so no scope can straddle
a released cell and nothing depends on who the leaders are.

Each kind of count gets its own pass under the respondents' verdicts: each dimension's scored
respondents (score sums subtract like counts), the respondents who answered the help question (help
marks subtract too), and the long-standing respondents at the comment threshold (comment lists
subtract as sets). Thresholds decide on the counts as counted, never on noisy ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from pulse.domain.disclosure import (
    DisclosurePlan,
    GroupCounts,
    GroupDisclosure,
    SuppressionReason,
    check_min_group_size,
)
from pulse.domain.errors import InconsistentAggregates
from pulse.domain.tree_disclosure import TreeSuppression, suppress_tree
from pulse.domain.units import UnitPath, UnitTree, format_unit_path, name_path

#: The last segment of the virtual leaf that holds the people sitting in an inner unit itself. No
#: imported name can contain it (parse_unit_path keeps printable text only around separators).
OWN = "\x00own"

#: What a report row is: the people sitting in a leaf unit, the people sitting in an inner unit
#: itself (not below it), or an inner unit with everything below it.
KIND_UNIT = "unit"
KIND_OWN = "own"
KIND_POOLED = "pooled"


@dataclass(frozen=True)
class RoundTree:
    """The units of one round: its departments (units with people) and every unit above them."""

    tree: UnitTree
    #: ``tree`` with the virtual ``OWN`` leaf under every inner unit that is a department.
    cells: UnitTree
    #: department name -> its unit's path
    path_of: Mapping[str, UnitPath]
    #: department name -> its cell in ``cells`` (its path, or the path's ``OWN`` leaf for an inner unit)
    cell_of: Mapping[str, UnitPath]
    #: the units with at least one unit below them, parents first
    inner: tuple[UnitPath, ...]
    #: unit -> the departments in its subtree, in name order (every unit of ``tree``)
    below: Mapping[UnitPath, tuple[str, ...]]

    @classmethod
    def of(cls, names: Iterable[str]) -> RoundTree:
        """The round's tree from its department names (``Retail / Stores North / Store 12``)."""
        path_of = {name: name_path(name) for name in names}
        seen: dict[UnitPath, str] = {}
        for name, path in path_of.items():
            if path in seen:
                raise InconsistentAggregates(f"departments {seen[path]!r} and {name!r} are the same unit")
            seen[path] = name
        tree = UnitTree(path_of.values())
        inner = tuple(path for path in tree if tree.children(path))
        inner_set = set(inner)
        cell_of = {name: (*path, OWN) if path in inner_set else path for name, path in path_of.items()}
        below: dict[UnitPath, list[str]] = {}
        for name in sorted(path_of):
            path = path_of[name]
            for depth in range(1, len(path) + 1):
                below.setdefault(path[:depth], []).append(name)
        return cls(
            tree,
            UnitTree(cell_of.values()),
            MappingProxyType(path_of),
            MappingProxyType(cell_of),
            inner,
            MappingProxyType({unit: tuple(names) for unit, names in below.items()}),
        )

    def kind(self, name: str) -> str:
        """``KIND_OWN`` for a department that is an inner unit (its own people), else ``KIND_UNIT``."""
        return KIND_OWN if self.cell_of[name] != self.path_of[name] else KIND_UNIT

    def members(self, unit: UnitPath) -> list[str]:
        """The departments in `unit`'s subtree, in name order."""
        return list(self.below.get(unit, ()))


@dataclass(frozen=True)
class TreePlan:
    """The verdicts of one round: department cells, pooled cells and the organisation, per count."""

    min_group_size: int
    round_tree: RoundTree
    #: the department cells, as the flat plan always gave them (names as in the report)
    departments: DisclosurePlan
    #: the pooled cells, by unit name (``format_unit_path``)
    units: DisclosurePlan
    #: the respondents' verdicts over ``round_tree.cells`` (every later pass keeps its hidden cells hidden)
    respondents: TreeSuppression
    unattributed: int = 0

    def suppress(self, counts: Mapping[str, int], k: int, unattributed: int = 0) -> TreeSuppression:
        """Another count's verdicts over the same cells (network answers, comment writers' groups), at
        threshold `k`, keeping every cell the respondents' plan hides hidden."""
        cell_of = self.round_tree.cell_of
        own = {cell_of[name]: count for name, count in counts.items() if name in cell_of}
        forced = {cell: reason for cell, reason in self.respondents.units.items() if reason is not None}
        return suppress_tree(self.round_tree.cells, own, k, forced=forced, unattributed=unattributed)

    def unit_names(self) -> list[str]:
        return [format_unit_path(unit) for unit in self.round_tree.inner]


def plan_tree(groups: Sequence[GroupCounts], k: int, dimensions: Sequence[str]) -> TreePlan:
    """The round's verdicts over the tree (see the module docstring).

    On a flat organisation (no unit below another) the department verdicts are exactly
    ``disclosure.plan_disclosure``'s, and there is no pooled cell.
    """
    check_min_group_size(k)
    attributed = [g for g in groups if not g.quarantined]
    newcomers = [g for g in groups if g.quarantined]
    shape = RoundTree.of(g.name for g in attributed)
    cell_of = shape.cell_of

    def own(count: Mapping[str, int]) -> dict[UnitPath, int]:
        return {cell_of[g.name]: count[g.name] for g in attributed}

    respondents = suppress_tree(
        shape.cells,
        own({g.name: g.responded for g in attributed}),
        k,
        unattributed=sum(g.responded for g in newcomers),
    )
    forced = {cell: reason for cell, reason in respondents.units.items() if reason is not None}
    hidden: dict[UnitPath, dict[str, SuppressionReason]] = {cell: {} for cell in shape.cells}
    organization: dict[str, bool] = {}
    for dimension in dimensions:
        scored = suppress_tree(
            shape.cells,
            own({g.name: g.dimension_counts.get(dimension, 0) for g in attributed}),
            k,
            forced=forced,
            unattributed=sum(g.dimension_counts.get(dimension, 0) for g in newcomers),
        )
        organization[dimension] = scored.organization
        for cell, reason in scored.units.items():
            if reason is not None and cell not in forced:
                hidden[cell][dimension] = reason

    department_verdicts: dict[str, GroupDisclosure] = {}
    for g in groups:
        if g.quarantined:
            department_verdicts[g.name] = GroupDisclosure(g.name, SuppressionReason.QUARANTINE, False, {})
            continue
        cell = cell_of[g.name]
        reason = respondents.units[cell]
        department_verdicts[g.name] = GroupDisclosure(
            g.name, reason, reason is None and g.invited >= k, MappingProxyType(hidden[cell])
        )
    invited = {g.name: g.invited for g in attributed}
    unit_verdicts: dict[str, GroupDisclosure] = {}
    for unit in shape.inner:
        name = format_unit_path(unit)
        reason = respondents.units[unit]
        pooled_invited = sum(invited[member] for member in shape.members(unit))
        unit_verdicts[name] = GroupDisclosure(
            name, reason, reason is None and pooled_invited >= k, MappingProxyType(hidden[unit])
        )
    org_participation = sum(g.invited for g in attributed) >= k and sum(g.responded for g in attributed) >= k
    return TreePlan(
        k,
        shape,
        DisclosurePlan(k, MappingProxyType(department_verdicts), MappingProxyType(organization), org_participation),
        DisclosurePlan(k, MappingProxyType(unit_verdicts), MappingProxyType(organization), org_participation),
        respondents,
        sum(g.responded for g in newcomers),
    )

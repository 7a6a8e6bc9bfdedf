"""Disclosure control over the whole unit tree and over every report of a round.

A released *cell* is a set of people whose count (and score sums: a mean times its count) some
report shows: the organisation, a unit with everything below it, or the units of a leader's scope
taken together. Whoever reads every report of a round can add and subtract these figures, and
divide them: the group whose count or sum they can isolate is any 0/1 vector in the rational span of
the released cells' indicator vectors. Rule 6 of DESIGN.md: every such group is empty or holds at
least ``k`` respondents.

``suppress_tree`` chooses the released cells so that the rule holds by construction. The cells it
keeps always form a *laminar* family (any two are nested or disjoint): the units' subtrees are, and
a scope that spans several subtrees is released only when it crosses no other released cell. For a
laminar family the groups an attacker can isolate are exactly the unions of the *remainders* (a
released cell minus the largest released cells inside it: a parent minus its shown children, the
organisation minus the shown top-level units, a scope minus its shown units), so the rule becomes:
every remainder is 0 or at least ``k``. That is today's complementary suppression ("the total minus
the shown departments is 0 or at least k") applied at every node, top down; a node whose remainder
is too small gets its smallest shown child hidden, then the next, until it is not.

``disclosed_small_groups`` is the exact checker used by the tests: for any family of released cells
(laminar or not) it enumerates every group an attacker can isolate and returns those smaller than
``k``. It is exponential in the number of cells and meant for small trees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm
from types import MappingProxyType

from pulse.domain.disclosure import SuppressionReason, check_min_group_size
from pulse.domain.units import UnitPath, UnitTree, is_within, minimal_scope

#: A leader's scope: the units they read, none inside another, in path order (see ``minimal_scope``).
Scope = tuple[UnitPath, ...]
#: A released cell as a set of units: its people are those sitting in any of these units.
Cell = frozenset[UnitPath]


@dataclass
class _Node:
    """A candidate cell in the laminar forest of released cells."""

    order: tuple[int, tuple[UnitPath, ...]]  # (0, (unit,)) for a unit, (1, scope) for a scope, (-1, ()) for the root
    count: int
    size: int  # number of units it covers: strictly larger for a strictly larger cell
    children: list[_Node] = field(default_factory=list)
    released: bool = True

    def remainder(self) -> int:
        return self.count - sum(child.count for child in self.children)


@dataclass(frozen=True)
class TreeSuppression:
    """Which cells of one count (respondents, or respondents with a score on one dimension) are shown.

    ``units`` maps every unit to None (shown) or the reason it is hidden; ``scopes`` maps every
    scope given to ``suppress_tree`` (normalised) likewise: a one-unit scope is that unit's cell.
    ``organization`` says whether the organisation-wide figure is shown.
    """

    organization: bool
    units: Mapping[UnitPath, SuppressionReason | None]
    scopes: Mapping[Scope, SuppressionReason | None]

    def shows(self, path: UnitPath) -> bool:
        """Whether unit `path` (with everything below it) is shown; unknown units are not."""
        return self.units.get(path, SuppressionReason.BELOW_MIN_GROUP_SIZE) is None

    def shows_scope(self, scope: Iterable[UnitPath]) -> bool:
        """Whether the total of a scope is shown; scopes not planned for are not."""
        return self.scopes.get(minimal_scope(scope), SuppressionReason.BELOW_MIN_GROUP_SIZE) is None

    def released_cells(self, tree: UnitTree) -> list[Cell]:
        """Every shown cell as a set of units (the organisation first, when shown), for checking."""
        if not self.organization:
            return []
        cells: list[Cell] = [frozenset(tree)]
        cells += [frozenset(tree.subtree(path)) for path, reason in self.units.items() if reason is None]
        for scope, reason in self.scopes.items():
            if reason is None and len(scope) > 1:
                cells.append(frozenset(unit for root in scope for unit in tree.subtree(root)))
        return cells


def _crosses(scope: Scope, other: Scope) -> bool:
    """Whether two multi-unit scopes overlap without one containing the other."""

    def inside(a: Scope, b: Scope) -> bool:
        return all(any(is_within(unit, root) for root in b) for unit in a)

    overlap = any(is_within(a, b) or is_within(b, a) for a in scope for b in other)
    return overlap and not inside(scope, other) and not inside(other, scope)


def _crosses_unit(scope: Scope, unit: UnitPath) -> bool:
    """Whether a unit's subtree overlaps a multi-unit scope without either containing the other."""
    if any(is_within(unit, root) for root in scope):
        return False  # inside the scope
    above = [is_within(root, unit) for root in scope]
    return any(above) and not all(above)


def suppress_tree(
    tree: UnitTree,
    own: Mapping[UnitPath, int],
    k: int,
    scopes: Iterable[Iterable[UnitPath]] = (),
    *,
    forced: Mapping[UnitPath, SuppressionReason] | None = None,
    forced_scopes: Mapping[Scope, SuppressionReason] | None = None,
    unattributed: int = 0,
) -> TreeSuppression:
    """Primary and complementary suppression of one count over the whole tree and every scope.

    ``own`` counts the people sitting in each unit itself (not below it); ``scopes`` are the
    leaders' scopes whose reports are released (the organisation's report is always released);
    ``forced`` units and ``forced_scopes`` are hidden whatever their count (for example cells
    already hidden for the count of respondents, when this is one dimension's count).
    ``unattributed`` counts people in the organisation's total but in no unit (the round's newcomers,
    whom anyone may have padded): they never count towards ``k``, so the organisation minus its shown
    units must then hold at least ``k`` people of the units (as ``disclosure.suppress_counts`` does).
    After this, every group obtainable by adding, subtracting or scaling shown cells is empty or
    holds at least ``k`` (see the module docstring).
    """
    check_min_group_size(k)
    forced = forced or {}
    forced_scopes = forced_scopes or {}
    pooled = tree.pooled(own)
    sizes = tree.pooled(dict.fromkeys(tree, 1))
    normalised = {minimal_scope(scope) for scope in scopes}
    normalised.discard(())
    for scope in normalised:
        for root in scope:
            if root not in tree:
                raise ValueError(f"scope names unit {root!r} that is not in the tree")

    units: dict[UnitPath, SuppressionReason | None] = {}
    for path in tree:
        if path in forced:
            units[path] = forced[path]
        elif pooled[path] < k:
            units[path] = SuppressionReason.BELOW_MIN_GROUP_SIZE
        else:
            units[path] = None
    multi: dict[Scope, SuppressionReason | None] = {}
    for scope in sorted((s for s in normalised if len(s) > 1), key=lambda s: (-sum(sizes[r] for r in s), s)):
        if scope in forced_scopes:
            multi[scope] = forced_scopes[scope]
        elif sum(pooled[root] for root in scope) < k:
            multi[scope] = SuppressionReason.BELOW_MIN_GROUP_SIZE
        elif any(reason is None and _crosses_unit(scope, unit) for unit, reason in units.items()) or any(
            reason is None and _crosses(scope, other) for other, reason in multi.items()
        ):
            # Released next to a unit or a scope it straddles, it would make the family non-laminar and
            # open differences the remainder rule does not see; the leader reads its units one by one.
            multi[scope] = SuppressionReason.COMPLEMENTARY
        else:
            multi[scope] = None

    organization = pooled[()] >= k
    if not organization:
        units = {path: reason or SuppressionReason.BELOW_MIN_GROUP_SIZE for path, reason in units.items()}
        multi = {scope: reason or SuppressionReason.BELOW_MIN_GROUP_SIZE for scope, reason in multi.items()}
    else:
        _complementary(tree, pooled, sizes, k, units, multi, unattributed)

    scope_status: dict[Scope, SuppressionReason | None] = dict(multi)
    for scope in normalised:
        if len(scope) == 1:
            scope_status[scope] = units[scope[0]]
    return TreeSuppression(organization, MappingProxyType(units), MappingProxyType(scope_status))


def _complementary(
    tree: UnitTree,
    pooled: Mapping[UnitPath, int],
    sizes: Mapping[UnitPath, int],
    k: int,
    units: dict[UnitPath, SuppressionReason | None],
    multi: dict[Scope, SuppressionReason | None],
    unattributed: int = 0,
) -> None:
    """Hide more cells, top down, until every released cell's remainder is 0 or at least k (in place)."""
    # The organisation counts one more than its units: it strictly contains a lone top-level unit.
    root = _Node((-1, ()), pooled[()], sizes[()] + 1)
    nodes: dict[tuple[int, tuple[UnitPath, ...]], _Node] = {}
    for path, reason in units.items():
        if reason is None:
            nodes[(0, (path,))] = _Node((0, (path,)), pooled[path], sizes[path])
    for scope, reason in multi.items():
        if reason is None:
            nodes[(1, scope)] = _Node((1, scope), sum(pooled[r] for r in scope), sum(sizes[r] for r in scope))

    def contains(outer: _Node, inner: _Node) -> bool:
        # `outer` is a scope: it contains `inner` when every unit at the top of `inner` sits inside it.
        return outer.size > inner.size and all(
            any(is_within(unit, top) for top in outer.order[1]) for unit in inner.order[1]
        )

    # Each released cell's parent is the smallest released cell strictly containing it; the family is
    # laminar, so the cells containing one cell form a chain and the smallest is unique.
    scope_nodes = [node for key, node in nodes.items() if key[0] == 1]
    for node in nodes.values():
        candidates = [root]
        kind, members = node.order
        if kind == 0:
            candidates += [nodes[(0, (a,))] for a in tree.ancestors(members[0]) if (0, (a,)) in nodes]
        else:
            common = [a for a in tree.ancestors(members[0]) if all(is_within(m, a) for m in members)]
            candidates += [nodes[(0, (a,))] for a in common if (0, (a,)) in nodes]
        candidates += [s for s in scope_nodes if s is not node and contains(s, node)]
        min(candidates, key=lambda c: c.size).children.append(node)

    for node in [root, *sorted(nodes.values(), key=lambda n: (-n.size, n.order))]:
        if not node.released:
            continue
        # The organisation's remainder also holds the unattributed people, who never count towards k:
        # with any of them it must hold k people of the units, whatever it would be without them.
        extra = unattributed if node is root else 0
        while node.remainder() < k and (node.remainder() > 0 or extra > 0) and node.children:
            # Hiding a child with a positive remainder adds it to this one; a child whose remainder is
            # 0 adds nothing but exposes its own children, so it goes only when no other is left.
            positive = [c for c in node.children if c.remainder() > 0]
            child = min(positive or node.children, key=lambda c: (c.count, c.order))
            child.released = False
            node.children.remove(child)
            node.children.extend(child.children)
            kind, members = child.order
            if kind == 0:
                units[members[0]] = SuppressionReason.COMPLEMENTARY
            else:
                multi[members] = SuppressionReason.COMPLEMENTARY


@dataclass(frozen=True)
class DisclosedGroup:
    """A group an attacker can isolate from the released cells: its units and its size."""

    units: frozenset[UnitPath]
    size: int


def disclosed_small_groups(own: Mapping[UnitPath, int], released: Sequence[Cell], k: int) -> list[DisclosedGroup]:
    """Every nonempty group of fewer than `k` people that some rational combination of the released
    cells' counts isolates exactly. Empty list = the release is safe. Exact, and exponential in the
    rank of the released family: for tests on small trees.

    The people of one unit are indistinguishable to every cell, and so are those of units that all
    released cells treat alike: these *atoms* partition the respondents. A group is isolated when its
    indicator vector over the atoms is in the rational row space of the cells' indicator vectors. In
    reduced row echelon form a vector of the row space is fixed by its entries at the pivot columns,
    and a 0/1 vector has 0/1 entries there, so enumerating every subset of pivot rows enumerates
    every 0/1 vector of the span, exactly once.
    """
    cells = list(dict.fromkeys(released))
    atoms: dict[tuple[bool, ...], set[UnitPath]] = {}
    for unit, count in own.items():
        if count > 0:
            signature = tuple(unit in cell for cell in cells)
            if any(signature):  # a group no released cell touches is in no combination of them
                atoms.setdefault(signature, set()).add(unit)
    signatures = list(atoms)
    counts = [sum(own[u] for u in atoms[s]) for s in signatures]
    rows = [[Fraction(int(s[i])) for s in signatures] for i in range(len(cells))]
    basis = _reduced_row_echelon(rows, len(signatures))
    scale = lcm(1, *(value.denominator for row in basis for value in row))
    integer_rows = [[int(value * scale) for value in row] for row in basis]

    found: list[DisclosedGroup] = []
    vector = [0] * len(signatures)
    # Gray code: each step adds or removes one basis row, so the walk costs one row per subset.
    previous = 0
    for step in range(1, 2 ** len(integer_rows)):
        gray = step ^ (step >> 1)
        changed = gray ^ previous
        index = changed.bit_length() - 1
        sign = 1 if gray & changed else -1
        vector = [v + sign * r for v, r in zip(vector, integer_rows[index], strict=True)]
        previous = gray
        if all(v in (0, scale) for v in vector):
            size = sum(c for v, c in zip(vector, counts, strict=True) if v)
            if size < k:
                members = frozenset(u for v, s in zip(vector, signatures, strict=True) if v for u in atoms[s])
                found.append(DisclosedGroup(members, size))
    return found


def _reduced_row_echelon(rows: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    """The nonzero rows of the reduced row echelon form of `rows` (over the rationals)."""
    matrix = [row[:] for row in rows]
    pivot_row = 0
    for column in range(width):
        pivot = next((r for r in range(pivot_row, len(matrix)) if matrix[r][column] != 0), None)
        if pivot is None:
            continue
        matrix[pivot_row], matrix[pivot] = matrix[pivot], matrix[pivot_row]
        lead = matrix[pivot_row][column]
        matrix[pivot_row] = [value / lead for value in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][column] != 0:
                factor = matrix[r][column]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[pivot_row], strict=True)]
        pivot_row += 1
    return matrix[:pivot_row]

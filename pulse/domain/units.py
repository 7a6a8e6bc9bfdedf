"""Units: the organisation as a tree of departments within departments.

A unit is named by its path from the top, written with ``/`` between the levels:
``Retail / Stores North / Store 12``. Spaces around each segment are ignored, so ``Retail/Stores
North/Store 12`` is the same unit; a plain name (``Finance``) is a top-level unit, so files written
before units had levels keep working. Two segments are the same unit name when they differ only in
letter case or in runs of spaces, as department names always were.

People can sit in any unit, inner or leaf (the head of retail sits in ``Retail``). The figures of a
unit pool every answer below it: its own members' and those of every unit in its subtree.

Pure: no ORM, no I/O. Units are identified here by their path (a tuple of segments); the services
map database ids to paths.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from pulse.domain.errors import DomainError
from pulse.domain.wording import N_

#: The separator between the levels of a path, as written in files and shown on pages.
SEPARATOR = "/"
#: How a path is written back: one space on each side of the separator.
DISPLAY_SEPARATOR = " / "
#: The deepest a unit may sit: ``A / B / C / D / E / F / G / H``. Deeper trees are almost always a
#: mistake in the file (a separator inside a name).
MAX_UNIT_DEPTH = 8
#: The longest path as written back (``format_unit_path``), in characters: what a department name held
#: before units had levels, so a flat file that imported then imports now.
MAX_UNIT_PATH_LENGTH = 200

UnitPath = tuple[str, ...]


class InvalidUnitPath(DomainError):
    """A unit path is empty, has an empty level, is too long, or has too many levels."""


def unit_name_key(name: str) -> str:
    """The key under which two spellings of one unit name are the same unit."""
    return " ".join(name.split()).casefold()


def path_key(path: UnitPath) -> tuple[str, ...]:
    """The key under which two spellings of one path are the same unit."""
    return tuple(unit_name_key(segment) for segment in path)


def parse_unit_path(text: str) -> UnitPath:
    """Split ``Retail / Stores North / Store 12`` into its segments; raise InvalidUnitPath naming the problem.

    Each segment is trimmed and its inner runs of spaces become one space.
    """
    if not text.strip():
        raise InvalidUnitPath(N_("unit path is empty"))
    segments = tuple(" ".join(part.split()) for part in text.split(SEPARATOR))
    shown = text.strip()
    if any(not segment for segment in segments):
        position = next(i for i, segment in enumerate(segments, start=1) if not segment)
        raise InvalidUnitPath(
            N_(
                "unit path %(path)s has an empty level (level %(level)s); write levels as 'Retail / Stores North / "
                "Store 12'",
                path=repr(shown),
                level=position,
            )
        )
    if len(segments) > MAX_UNIT_DEPTH:
        raise InvalidUnitPath(
            N_(
                "unit path %(path)s has %(levels)s levels; at most %(max)s are allowed",
                path=repr(shown),
                levels=len(segments),
                max=MAX_UNIT_DEPTH,
            )
        )
    if len(format_unit_path(segments)) > MAX_UNIT_PATH_LENGTH:
        raise InvalidUnitPath(
            N_(
                "unit path %(path)s... is longer than %(max)s characters written as 'A / B / C'; shorten the names",
                path=repr(shown[:80]),
                max=MAX_UNIT_PATH_LENGTH,
            )
        )
    return segments


@functools.lru_cache(maxsize=65_536)
def name_path(name: str) -> UnitPath:
    """The unit path of a unit's stored or reported name. A name that is not a valid path (saved before
    units had levels; it cannot happen for names imported since) is a top-level unit of that name.

    Cached: the leaders of one round ask it for the same few thousand names, once per leader."""
    try:
        return parse_unit_path(name)
    except InvalidUnitPath:
        return (name,)


def format_unit_path(path: UnitPath) -> str:
    """The path as written in files and shown on pages: ``Retail / Stores North / Store 12``."""
    return DISPLAY_SEPARATOR.join(path)


def is_within(path: UnitPath, scope: UnitPath) -> bool:
    """Whether unit `path` is `scope` or sits anywhere below it."""
    return len(path) >= len(scope) and path[: len(scope)] == scope


def _sibling_order(path: UnitPath) -> tuple[str, str]:
    return (unit_name_key(path[-1]), path[-1])


class UnitTree:
    """A set of units closed under parents: adding ``A / B / C`` adds ``A`` and ``A / B`` too.

    Paths are compared exactly; callers resolve spellings (``unit_name_key``) before building a tree.
    Children are kept in name order so every walk of the tree is reproducible.
    """

    def __init__(self, paths: Iterable[UnitPath] = ()) -> None:
        self._children: dict[UnitPath, list[UnitPath]] = {(): []}
        for path in paths:
            self.add(path)

    def add(self, path: UnitPath) -> None:
        """Add a unit and its ancestors (adding one twice is a no-op)."""
        if not path:
            raise InvalidUnitPath(N_("unit path is empty"))
        for depth in range(1, len(path) + 1):
            node = path[:depth]
            if node in self._children:
                continue
            self._children[node] = []
            # Inserted in place (not the whole list sorted again: 2,000 siblings would be 2,000 sorts).
            bisect.insort(self._children[node[:-1]], node, key=_sibling_order)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, tuple) and bool(path) and path in self._children

    def __len__(self) -> int:
        return len(self._children) - 1

    def __iter__(self) -> Iterator[UnitPath]:
        """Every unit, depth first, parents before children, siblings in name order."""
        return self.descendants(())

    def _known(self, path: UnitPath) -> None:
        if path and path not in self._children:
            raise InvalidUnitPath(N_("no unit %(path)s", path=repr(format_unit_path(path))))

    def roots(self) -> tuple[UnitPath, ...]:
        """The top-level units."""
        return tuple(self._children[()])

    def children(self, path: UnitPath) -> tuple[UnitPath, ...]:
        """The units directly below `path` (``()`` = the top level)."""
        self._known(path)
        return tuple(self._children[path])

    @staticmethod
    def parent(path: UnitPath) -> UnitPath | None:
        """The unit directly above, or None for a top-level unit."""
        return path[:-1] or None

    @staticmethod
    def ancestors(path: UnitPath) -> tuple[UnitPath, ...]:
        """The units above `path`, nearest first."""
        return tuple(path[:depth] for depth in range(len(path) - 1, 0, -1))

    def descendants(self, path: UnitPath) -> Iterator[UnitPath]:
        """The units strictly below `path`, depth first (``()`` = every unit)."""
        self._known(path)
        stack = list(reversed(self._children[path]))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(self._children[node]))

    def subtree(self, path: UnitPath) -> tuple[UnitPath, ...]:
        """`path` and every unit below it."""
        return (path, *self.descendants(path))

    def leaves(self) -> tuple[UnitPath, ...]:
        """The units with no unit below them."""
        return tuple(p for p in self if not self._children[p])

    def level(self, depth: int) -> tuple[UnitPath, ...]:
        """The units `depth` levels down (1 = top level)."""
        return tuple(p for p in self if len(p) == depth)

    def depth(self) -> int:
        """The number of levels (0 for an empty tree)."""
        return max((len(p) for p in self._children), default=0)

    def pooled(self, own: Mapping[UnitPath, int]) -> Mapping[UnitPath, int]:
        """Every unit's count pooled over its subtree, from counts of each unit's own members.

        Every key of ``own`` must be a unit of the tree (InvalidUnitPath otherwise); units absent
        from ``own`` count 0. The key ``()`` holds the organisation's total.
        """
        for path in own:
            self._known(path)
        totals: dict[UnitPath, int] = {path: own.get(path, 0) for path in self._children}
        # Deepest first, so a unit's total is complete before it is added to its parent.
        for path in sorted(self._children, key=len, reverse=True):
            if path:
                totals[path[:-1]] += totals[path]
        return MappingProxyType(totals)


def minimal_scope(units: Iterable[UnitPath]) -> tuple[UnitPath, ...]:
    """The units of a scope without those already inside another unit of it, in path order."""
    unique = sorted(set(units))
    kept: list[UnitPath] = []
    seen: set[UnitPath] = set()
    for path in unique:
        # A unit above `path` sorts before it: look its prefixes up rather than compare with every unit
        # kept (2,000 units ticked in a form took a quarter of a second that way).
        if not any(path[:depth] in seen for depth in range(1, len(path))):
            kept.append(path)
            seen.add(path)
    return tuple(kept)


def within_scope(path: UnitPath, scope: Iterable[UnitPath]) -> bool:
    """Whether `path` sits in any subtree of `scope` (a leader's units)."""
    return any(is_within(path, unit) for unit in scope)

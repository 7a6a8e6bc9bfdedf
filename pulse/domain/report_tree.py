"""A released report model seen as a tree of units, one level at a time (the web app's drill-down).

It computes no figure. Every figure it hands out is one of the model's own entries, exactly as the
round's disclosure plan released it: a unit with units below it is the model's pooled entry (``units``:
everything below it), a unit with none is its department entry, and the people sitting in an inner
unit itself are its ``own`` department entry. A hidden entry stays hidden (it says so and carries no
scores), and nothing is derived from other entries: a figure averaged or subtracted here would be a
cell the plan never judged, and with a hidden unit beside it could give that unit away.

A model stored before units had levels has no pooled entries: an inner unit then has only its own
people's entry, and says so (``UnitRow.pooled`` is False).

The tree holds the units the model names (and the units above them), so it shows the organisation as
it was when the round was reported. Pure: no ORM, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulse.domain.units import UnitPath, UnitTree, name_path, path_key


@dataclass(frozen=True)
class UnitRow:
    """One unit at a level: the model's entry for it (None when the model has none) and how many units
    the model has below it (0: nothing to open). ``pooled``: the entry covers everything below the unit;
    otherwise it covers the people sitting in the unit itself."""

    path: UnitPath
    entry: Mapping[str, Any] | None
    units_below: int
    pooled: bool

    @property
    def name(self) -> str:
        return self.path[-1]


class ReportTree:
    """The units of one report model, with the model's entries for each."""

    def __init__(self, model: Mapping[str, Any]) -> None:
        self._spelling: dict[tuple[str, ...], UnitPath] = {}
        self._own = self._index(model.get("departments"))
        self._pooled = self._index(model.get("units"))
        #: Whether the model releases pooled figures at all (models built before units had levels do not).
        self.has_pooled = "units" in model
        self.tree = UnitTree([*self._own, *self._pooled])

    def _index(self, entries: Any) -> dict[UnitPath, Mapping[str, Any]]:
        found: dict[UnitPath, Mapping[str, Any]] = {}
        for entry in entries or ():
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                found.setdefault(self._canonical(name_path(entry["name"])), entry)
        return found

    def _canonical(self, path: UnitPath) -> UnitPath:
        """The first spelling seen of each level (two spellings of one unit are one unit)."""
        spelled: UnitPath = ()
        for depth in range(1, len(path) + 1):
            spelled = self._spelling.setdefault(path_key(path[:depth]), (*spelled, path[depth - 1]))
        return spelled

    def find(self, path: UnitPath) -> UnitPath | None:
        """The unit `path` names (ignoring case and repeated spaces), if the model has it."""
        return self._spelling.get(path_key(path))

    def row(self, path: UnitPath) -> UnitRow:
        """The unit as a whole: pooled when it has units below it (and the model pools), else its own entry."""
        below = sum(1 for _ in self.tree.descendants(path))
        if below and self.has_pooled:
            return UnitRow(path, self._pooled.get(path), below, pooled=True)
        return UnitRow(path, self._own.get(path), below, pooled=not below)

    def own(self, path: UnitPath) -> UnitRow | None:
        """The people sitting in an inner unit itself, when the model pools it and has an entry for them
        (a unit with nothing below it has no separate row: its row is its people)."""
        row = self.row(path)
        if not row.units_below or not self.has_pooled or path not in self._own:
            return None
        return UnitRow(path, self._own[path], row.units_below, pooled=False)

    def rows(self, paths: Sequence[UnitPath]) -> list[UnitRow]:
        return [self.row(path) for path in paths]

    def children(self, path: UnitPath) -> list[UnitRow]:
        """The units one level below `path` (``()``: the top level), in name order."""
        return self.rows(self.tree.children(path))

"""A released report model seen as a tree of units, one level at a time (the web app's drill-down).

It computes no figure. Every figure it hands out is the model's own entry for that unit, exactly as
the disclosure gate released it: a hidden unit stays hidden (its entry says so, and carries no
scores), and nothing is derived from other entries (a parent's score is never averaged from its
children's: that would publish a cell the gate never judged, and with a hidden child it could give
the hidden child away by difference).

The tree is built from the units the model names (and the units above them), so it shows the
organisation as it was when the round was reported, and a scoped model (``scope_model``) gives a
tree that holds its scope and nothing beside it.

Pure: no ORM, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulse.domain.scoped_report import unit_of
from pulse.domain.units import UnitPath, UnitTree, path_key


@dataclass(frozen=True)
class UnitRow:
    """One unit at a level: the model's entry for it (None when the model has none: nobody of the
    round sat in the unit itself) and how many units the model has below it (0: nothing to open)."""

    path: UnitPath
    entry: Mapping[str, Any] | None
    units_below: int

    @property
    def name(self) -> str:
        return self.path[-1]


class ReportTree:
    """The units of one report model, with the model's entry for each."""

    def __init__(self, model: Mapping[str, Any]) -> None:
        self._entries: dict[UnitPath, Mapping[str, Any]] = {}
        self._spelling: dict[tuple[str, ...], UnitPath] = {}
        for department in model.get("departments") or ():
            if not isinstance(department, Mapping) or not isinstance(department.get("name"), str):
                continue
            path = self._canonical(unit_of(department["name"]))
            self._entries.setdefault(path, department)
        self.tree = UnitTree(self._entries)
        for path in self.tree:
            self._spelling.setdefault(path_key(path), path)

    def _canonical(self, path: UnitPath) -> UnitPath:
        """The first spelling seen of each level (two spellings of one unit are one unit)."""
        spelled: UnitPath = ()
        for depth in range(1, len(path) + 1):
            key = path_key(path[:depth])
            spelled = self._spelling.setdefault(key, (*spelled, path[depth - 1]))
        return spelled

    def find(self, path: UnitPath) -> UnitPath | None:
        """The unit `path` names (ignoring case and repeated spaces), if the model has it."""
        return self._spelling.get(path_key(path))

    def row(self, path: UnitPath) -> UnitRow:
        return UnitRow(path, self._entries.get(path), sum(1 for _ in self.tree.descendants(path)))

    def rows(self, paths: Sequence[UnitPath]) -> list[UnitRow]:
        return [self.row(path) for path in paths]

    def children(self, path: UnitPath) -> list[UnitRow]:
        """The units one level below `path` (``()``: the top level), in name order."""
        return self.rows(self.tree.children(path))

    def entry(self, path: UnitPath) -> Mapping[str, Any] | None:
        """The model's entry for the people sitting in `path` itself, if it has one."""
        return self._entries.get(path)

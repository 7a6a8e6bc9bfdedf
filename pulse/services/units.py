"""The organisation's units as a tree: loading it, resolving a path a user typed, creating units.

A unit is a ``Department`` row whose name is its whole path (``Retail / Stores North / Store 12``)
and whose parent is the unit one level up. Units are created by the people import and never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from tortoise.backends.base.client import BaseDBAsyncClient

from pulse.domain.units import (
    InvalidUnitPath,
    UnitPath,
    UnitTree,
    format_unit_path,
    minimal_scope,
    name_path,
    parse_unit_path,
    path_key,
)
from pulse.domain.wording import N_
from pulse.errors import NotFound
from pulse.models import Department, Organization

CHUNK_SIZE = 1000


@dataclass(frozen=True)
class OrgUnits:
    """One organisation's units: the tree and the maps between database ids and paths."""

    organization_id: int
    tree: UnitTree
    paths: Mapping[int, UnitPath]
    ids: Mapping[UnitPath, int]
    keys: Mapping[tuple[str, ...], UnitPath]

    def find(self, path: UnitPath) -> UnitPath | None:
        """The stored spelling of `path` (compared ignoring case and repeated spaces), or None."""
        return self.keys.get(path_key(path))

    def lookup(self, text: str) -> UnitPath | None:
        """The stored spelling of the unit a user named, or None when there is no such unit or the text is
        not a path at all (for callers that list every unknown name in one error)."""
        try:
            return self.find(parse_unit_path(text))
        except InvalidUnitPath:
            return None

    def resolve(self, text: str, *, slug: str = "") -> UnitPath:
        """The unit a user named (``Retail / Stores North``); NotFound or InvalidUnitPath name it."""
        path = parse_unit_path(text)
        found = self.find(path)
        if found is None:
            unit = repr(format_unit_path(path))
            if slug:
                raise NotFound(N_("no unit %(unit)s in organisation %(org)s", unit=unit, org=repr(slug)))
            raise NotFound(N_("no unit %(unit)s", unit=unit))
        return found

    def subtree_ids(self, path: UnitPath) -> list[int]:
        """The ids of `path` and every unit below it."""
        return sorted(self.ids[p] for p in self.tree.subtree(path) if p in self.ids)

    def label(self, unit_id: int) -> str:
        return format_unit_path(self.paths[unit_id])


async def load_units(organization_id: int) -> OrgUnits:
    """Every unit of the organisation, as a tree (one query)."""
    rows = await Department.filter(organization_id=organization_id).order_by("id").values_list("id", "name")
    paths: dict[int, UnitPath] = {}
    ids: dict[UnitPath, int] = {}
    keys: dict[tuple[str, ...], UnitPath] = {}
    for unit_id, name in rows:
        path = name_path(str(name))
        key = path_key(path)
        path = keys.setdefault(key, path)
        paths[int(unit_id)] = path
        ids.setdefault(path, int(unit_id))
    for path in list(keys.values()):
        # A unit above a stored one exists in the tree even without a row of its own (rows written
        # before units had levels); it can be named, and it holds everything below it.
        for depth in range(1, len(path)):
            keys.setdefault(path_key(path[:depth]), path[:depth])
    return OrgUnits(
        organization_id,
        UnitTree(paths.values()),
        MappingProxyType(paths),
        MappingProxyType(ids),
        MappingProxyType(keys),
    )


async def ensure_units(
    organization: Organization, wanted: Iterable[UnitPath], connection: BaseDBAsyncClient | None = None
) -> tuple[OrgUnits, int]:
    """Create the units of `wanted` and their ancestors that do not exist yet, parents first, and put
    every unit's parent in line with its path. Returns the units (with the stored spellings: a unit
    that exists keeps how it was first written) and how many were created."""
    units = await load_units(organization.id)
    created = 0
    needed: dict[tuple[str, ...], UnitPath] = {}
    for path in wanted:
        for depth in range(1, len(path) + 1):
            needed.setdefault(path_key(path[:depth]), path[:depth])
    for depth in range(1, max((len(p) for p in needed.values()), default=0) + 1):
        missing = [p for p in needed.values() if len(p) == depth and units.ids.get(units.find(p) or ()) is None]
        if not missing:
            continue
        rows = []
        for path in missing:
            parent = units.find(path[:-1]) if depth > 1 else None
            spelled = units.find(path) or ((*parent, path[-1]) if parent else path)
            rows.append(
                Department(
                    organization_id=organization.id,
                    name=format_unit_path(spelled),
                    parent_id=units.ids[parent] if parent else None,
                )
            )
        await Department.bulk_create(rows, batch_size=CHUNK_SIZE, using_db=connection)
        created += len(rows)
        # Reload rather than trust bulk_create to fill in ids: not every backend returns them.
        units = await load_units(organization.id)
    await _repair_parents(units, connection)
    return units, created


async def _repair_parents(units: OrgUnits, connection: BaseDBAsyncClient | None) -> None:
    """Set the parent of units whose stored parent does not match their path (names stored before
    units had levels, or an interrupted write). Rare, so one UPDATE per unit is fine."""
    stored = dict(
        await Department.filter(organization_id=units.organization_id)
        .using_db(connection)
        .values_list("id", "parent_id")
    )
    for unit_id, path in units.paths.items():
        parent = units.ids.get(path[:-1]) if len(path) > 1 else None
        if stored.get(unit_id) != parent and (parent is not None or len(path) == 1):
            await Department.filter(id=unit_id).using_db(connection).update(parent_id=parent)


@dataclass(frozen=True)
class UnitSize:
    """One unit of the directory tree: its people (active) sitting in it and in its whole subtree."""

    path: UnitPath
    name: str
    depth: int
    active: int
    inactive: int
    active_below: int

    @property
    def label(self) -> str:
        return format_unit_path(self.path)


async def scope_ids(organization: Organization, paths: Sequence[str]) -> list[int] | None:
    """The ids of the units a user named for a scope (``--unit``), none inside another; None for no
    units (the whole organisation). NotFound or InvalidUnitPath name a unit that is not there."""
    if not paths:
        return None
    units = await load_units(organization.id)
    found = [units.resolve(text, slug=organization.slug) for text in paths]
    missing = [p for p in minimal_scope(found) if p not in units.ids]
    if missing:
        # A unit above stored ones that has no row of its own (names stored before units had levels).
        units, _ = await ensure_units(organization, missing)
    return sorted(units.ids[p] for p in minimal_scope(found))


def unit_sizes(
    units: OrgUnits, counts: Mapping[tuple[int, bool], int], *, within: Sequence[UnitPath] = ()
) -> list[UnitSize]:
    """The tree in display order (parents first, siblings by name) with people counts per unit.

    ``counts`` maps (unit id, active) to a number of people; ``within`` narrows the tree to subtrees.
    """
    own_active: dict[UnitPath, int] = {}
    own_inactive: dict[UnitPath, int] = {}
    for (unit_id, active), n in counts.items():
        target = own_active if active else own_inactive
        path = units.paths[unit_id]
        target[path] = target.get(path, 0) + n
    pooled = units.tree.pooled(own_active)
    roots = list(within) or list(units.tree.roots())
    result: list[UnitSize] = []
    for root in roots:
        for path in units.tree.subtree(root):
            result.append(
                UnitSize(
                    path=path,
                    name=path[-1],
                    depth=len(path),
                    active=own_active.get(path, 0),
                    inactive=own_inactive.get(path, 0),
                    active_below=pooled[path],
                )
            )
    return result

"""Reading the people directory a page at a time, for the web app and the API: search, pages, sizes.

Everything is done in SQL (filter, count, order, offset/limit, GROUP BY), so a page costs the same
with 50 people as with 50,000. These are directory figures (who is on the list), not answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.functions import Count

from pulse.errors import InvalidInput
from pulse.models import Department, Organization, Person
from pulse.services.people import PersonRecord
from pulse.services.units import UnitSize, load_units, unit_sizes

MAX_PER_PAGE = 500
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class PeoplePage:
    total: int
    page: int
    per_page: int
    pages: int
    people: list[PersonRecord]


@dataclass(frozen=True)
class DepartmentSize:
    name: str
    active: int
    inactive: int


async def people_page(organization: Organization, *, query: str = "", page: int = 1, per_page: int = 50) -> PeoplePage:
    """People whose email, name or department contains ``query`` (any case), by department then email.

    A page past the end gives the last page.
    """
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page {per_page} is not between 1 and {MAX_PER_PAGE}")
    needle = query.strip()
    if len(needle) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"the search is longer than {MAX_QUERY_LENGTH} characters")
    selection = Person.filter(organization_id=organization.id)
    if needle:
        selection = selection.filter(
            Q(email__icontains=needle) | Q(name__icontains=needle) | Q(department__name__icontains=needle)
        )
    total = await selection.count()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = (
        await selection.order_by("department__name", "email")
        .offset((page - 1) * per_page)
        .limit(per_page)
        .select_related("department")
    )
    people = [
        PersonRecord(
            email=p.email,
            name=p.name,
            department=p.department.name,
            role=str(p.role),
            locale=p.locale,
            manager_email=p.manager_email,
            active=p.active,
        )
        for p in rows
    ]
    return PeoplePage(total=total, page=page, per_page=per_page, pages=pages, people=people)


async def department_sizes(organization: Organization) -> list[DepartmentSize]:
    """Each department's number of active and inactive people, by name (one GROUP BY)."""
    counts: dict[tuple[int, bool], int] = {}
    grouped = (
        await Person.filter(organization_id=organization.id)
        .annotate(n=Count("id"))
        .group_by("department_id", "active")
        .values("department_id", "active", "n")
    )
    for row in grouped:
        counts[(int(row["department_id"]), bool(row["active"]))] = int(row["n"])
    return [
        DepartmentSize(d.name, counts.get((d.id, True), 0), counts.get((d.id, False), 0))
        for d in await Department.filter(organization_id=organization.id).order_by("name")
    ]


async def unit_tree(organization: Organization, *, unit: str | None = None) -> list[UnitSize]:
    """The organisation's units as a tree in display order, with the active and inactive people sitting
    in each and the active people in its whole subtree (one GROUP BY). ``unit`` narrows it to one subtree."""
    units = await load_units(organization.id)
    within = [units.resolve(unit, slug=organization.slug)] if unit is not None else []
    counts: dict[tuple[int, bool], int] = {}
    grouped = (
        await Person.filter(organization_id=organization.id)
        .annotate(n=Count("id"))
        .group_by("department_id", "active")
        .values("department_id", "active", "n")
    )
    for row in grouped:
        counts[(int(row["department_id"]), bool(row["active"]))] = int(row["n"])
    return unit_sizes(units, counts, within=within)

"""Participation: how many were invited and how many answered, per round and per department.

Counts only, never who: departments pass through the domain's disclosure gate, so a department's
counts appear only when the department may be shown at all (at least k responses, after
complementary suppression) and has at least k people invited. The organisation-wide figures appear
when at least k people were invited.
"""

from __future__ import annotations

from collections import Counter

from pulse.domain.disclosure import GroupCounts, plan_disclosure
from pulse.models import Department, Invitation, Organization
from pulse.services.rounds import get_round


def _rate(responded: int, invited: int) -> float | None:
    return round(responded / invited, 4) if invited else None


async def round_participation(round_id: int) -> dict[str, object]:
    """JSON-able participation of the round: totals and the departments the disclosure gate allows."""
    found = await get_round(round_id)
    organization = await Organization.get(id=found.organization_id)
    rows = await Invitation.filter(round_id=round_id).values_list("department_id", "answered")
    invited: Counter[int] = Counter()
    responded: Counter[int] = Counter()
    for department_id, answered in rows:
        invited[int(department_id)] += 1
        if answered:
            responded[int(department_id)] += 1
    names = dict(await Department.filter(id__in=list(invited)).values_list("id", "name"))
    groups = [GroupCounts(str(names[d]), invited[d], responded[d]) for d in sorted(invited, key=lambda d: names[d])]
    k = organization.min_group_size
    plan = plan_disclosure(groups, k, [])
    total_invited = sum(invited.values())
    total_responded = sum(responded.values())
    shown_totals = plan.organization_participation_shown
    departments = [
        {
            "name": group.name,
            "invited": group.invited,
            "responded": group.responded,
            "rate": _rate(group.responded, group.invited),
        }
        for group in groups
        if plan.groups[group.name].participation_shown
    ]
    return {
        "round_id": found.id,
        "number": found.number,
        "status": str(found.status),
        "opened_at": found.opened_at.isoformat(),
        "closes_at": found.closes_at.isoformat(),
        "closed_at": found.closed_at.isoformat() if found.closed_at else None,
        "min_group_size": k,
        "invited": total_invited if shown_totals else None,
        "responded": total_responded if shown_totals else None,
        "rate": _rate(total_responded, total_invited) if shown_totals else None,
        "departments": departments,
        "departments_hidden": len(groups) - len(departments),
    }

"""The directory audit: who was added, moved or removed, when, in counts per department.

Padding a department leaves a trace here that HR and leaders see alike: every import, deactivation,
reactivation and erasure, with its time, who made it, and how many people it added to, moved into or
out of, or removed from each department (never who), plus how many people are newcomers in each
department right now (the quarantine). Nothing here is about answers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from pulse import clock
from pulse.models import AuditEvent, Department, Organization, Person

ACTIONS = ("people.import", "people.deactivate", "people.reactivate", "people.erase", "organization.update")
KINDS = ("added", "moved_in", "moved_out", "reactivated", "removed")
#: How many events the page and the API list (newest first).
LIMIT = 200


@dataclass(frozen=True)
class DirectoryEvent:
    at: datetime
    actor: str
    action: str
    #: kind (added, moved_in, moved_out, reactivated, removed) -> department -> count
    departments: dict[str, dict[str, int]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DirectoryAudit:
    events: list[DirectoryEvent]
    #: department -> how many active people are newcomers now (counted in organisation figures only)
    newcomers: dict[str, int]
    quarantine_days: int


async def directory_audit(organization: Organization, *, limit: int = LIMIT) -> DirectoryAudit:
    """The organisation's directory changes, newest first, and its newcomers per department now."""
    rows = (
        await AuditEvent.filter(organization_id=organization.id, action__in=list(ACTIONS))
        .order_by("-at", "-id")
        .limit(limit)
    )
    events = []
    for row in rows:
        detail = dict(row.detail or {})
        departments = detail.pop("departments", None)
        events.append(
            DirectoryEvent(
                row.at,
                row.actor,
                row.action,
                {k: dict(v) for k, v in departments.items()} if isinstance(departments, dict) else {},
                detail,
            )
        )
    since = clock.now() - timedelta(days=organization.quarantine_days)
    names = dict(await Department.filter(organization_id=organization.id).values_list("id", "name"))
    recent = await Person.filter(
        Q(joined_at__gt=since) | Q(moved_at__gt=since), organization_id=organization.id, active=True
    ).values_list("department_id", flat=True)
    newcomers = Counter(str(names.get(d, "?")) for d in recent)
    return DirectoryAudit(events, dict(sorted(newcomers.items())), organization.quarantine_days)


def audit_json(audit: DirectoryAudit) -> dict[str, Any]:
    return {
        "quarantine_days": audit.quarantine_days,
        "newcomers": audit.newcomers,
        "events": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "departments": e.departments,
                "summary": e.summary,
            }
            for e in audit.events
        ],
    }

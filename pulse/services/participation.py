"""Participation: how many were invited and how many answered, per round and per department.

Counts only, never who. While a round is open, participation is a stored snapshot of coarse figures
(``pulse.domain.participation``), taken at most once an hour (``SNAPSHOT_EVERY``) and shown the same
to every poller until the next one, so polling every second while one person answers shows nothing
change. Once the round is closed, participation is what the round's report released: the same
gated counts, carrying the same stored privacy noise (``pulse.domain.privacy``), so no output gives
the exact number who answered beside the report's noisy one (the difference would undo the noise).
Until the report is built, a closed round shows its coarse figures. Newcomers (the quarantine)
count in the organisation's figures only.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from pulse import clock
from pulse.domain.disclosure import GroupCounts, plan_disclosure
from pulse.domain.participation import ParticipationCounts, coarse_participation
from pulse.models import (
    Department,
    Invitation,
    Organization,
    ParticipationSnapshot,
    Report,
    ReportStatus,
    Round,
    RoundStatus,
)
from pulse.services.reports import NEWCOMERS, NEWCOMERS_NAME
from pulse.services.rounds import get_round

#: How long one snapshot of an open round's participation is what everyone sees.
SNAPSHOT_EVERY = timedelta(hours=1)


def _rate(responded: int, invited: int) -> float | None:
    return round(responded / invited, 4) if invited else None


async def _counts(round_id: int) -> list[ParticipationCounts]:
    rows = await Invitation.filter(round_id=round_id).values_list("department_id", "answered")
    invited: Counter[int] = Counter()
    responded: Counter[int] = Counter()
    for department_id, answered in rows:
        # Newcomers (department None) count in the organisation's figures only.
        key = NEWCOMERS if department_id is None else int(department_id)
        invited[key] += 1
        if answered:
            responded[key] += 1
    names = dict(await Department.filter(id__in=list(invited)).values_list("id", "name"))
    names[NEWCOMERS] = NEWCOMERS_NAME
    return [
        ParticipationCounts(str(names[d]), invited[d], responded[d], quarantined=d == NEWCOMERS)
        for d in sorted(invited, key=lambda d: str(names[d]))
    ]


def _exact(groups: list[ParticipationCounts], k: int) -> dict[str, Any]:
    """Exact counts through the disclosure gate: never served (what the insider tests' controls show
    an attacker would get without the coarse snapshots)."""
    plan = plan_disclosure(
        [GroupCounts(g.name, g.invited, g.responded, quarantined=g.quarantined) for g in groups], k, []
    )
    total_invited = sum(g.invited for g in groups)
    total_responded = sum(g.responded for g in groups)
    shown_totals = plan.organization_participation_shown
    departments = [
        {
            "name": g.name,
            "invited": g.invited,
            "responded": g.responded,
            "responded_band": str(g.responded),
            "rate": _rate(g.responded, g.invited),
        }
        for g in groups
        if not g.quarantined and plan.groups[g.name].participation_shown
    ]
    return {
        "coarse": False,
        "invited": total_invited if shown_totals else None,
        "responded": total_responded if shown_totals else None,
        "responded_band": str(total_responded) if shown_totals else None,
        "rate": _rate(total_responded, total_invited) if shown_totals else None,
        "departments": departments,
        "departments_hidden": sum(1 for g in groups if not g.quarantined) - len(departments),
    }


async def _snapshot(found: Round, k: int) -> tuple[dict[str, Any], str]:
    """The current snapshot of an open round's coarse participation, taken now if the last is too old."""
    now = clock.now()
    latest = await ParticipationSnapshot.filter(round_id=found.id).order_by("-taken_at").first()
    if latest is not None and latest.taken_at > now - SNAPSHOT_EVERY:
        return dict(latest.figures), latest.taken_at.isoformat()
    figures = coarse_participation(await _counts(found.id), k)
    # Another process may take it at the same instant: theirs is as good.
    with contextlib.suppress(IntegrityError):
        await ParticipationSnapshot.create(round_id=found.id, taken_at=now, figures=figures)
    latest = await ParticipationSnapshot.filter(round_id=found.id).order_by("-taken_at").first()
    if latest is None:  # pragma: no cover - just written
        return figures, now.isoformat()
    return dict(latest.figures), latest.taken_at.isoformat()


async def _released(found: Round) -> dict[str, Any] | None:
    """A closed round's participation as its stored report released it; None before the report is built."""
    row = await Report.filter(round_id=found.id, status=ReportStatus.READY).first().values("model")
    model = row["model"] if row else None
    if not isinstance(model, dict):
        return None
    organization = model.get("participation") or {}
    departments = [
        {
            "name": d["name"],
            "invited": d["invited"],
            "responded": d["responded"],
            "responded_band": str(d["responded"]),
            "rate": d.get("participation_rate"),
        }
        for d in model.get("departments") or []
        if not d.get("suppressed") and d.get("invited") is not None and d.get("responded") is not None
    ]
    responded = organization.get("responded")
    return {
        "coarse": False,
        "invited": organization.get("invited"),
        "responded": responded,
        "responded_band": str(responded) if responded is not None else None,
        "rate": organization.get("rate"),
        "departments": departments,
        "departments_hidden": len(model.get("departments") or []) - len(departments),
    }


async def round_participation(round_id: int) -> dict[str, Any]:
    """JSON-able participation of the round: a coarse hourly snapshot while it is open, the counts its
    report released once it is closed and built, coarse figures in between (see the module docstring)."""
    found = await get_round(round_id)
    organization = await Organization.get(id=found.organization_id)
    k = organization.min_group_size
    if found.status == RoundStatus.OPEN:
        figures, taken_at = await _snapshot(found, k)
    else:
        released = await _released(found)
        figures = released if released is not None else coarse_participation(await _counts(found.id), k)
        taken_at = None
    return {
        "round_id": found.id,
        "number": found.number,
        "status": str(found.status),
        "opened_at": found.opened_at.isoformat(),
        "closes_at": found.closes_at.isoformat(),
        "closed_at": found.closed_at.isoformat() if found.closed_at else None,
        "min_group_size": k,
        "snapshot_at": taken_at,
        **figures,
    }

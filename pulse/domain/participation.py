"""Coarse participation of an open round: counts that cannot single anyone out, however often polled.

While a round is open, participation is released only as a snapshot (taken at most once an hour by
the service) of these coarse figures:

* counts are rounded down to a multiple of k, and never to "everyone": the count shown is at most the
  invited count minus one, rounded down, so no output ever says that every invited person answered;
* a department appears only once its rounded count reaches k (and it has at least k people invited);
  the others are counted as hidden, never shown as 0;
* a count below k is a band ("fewer than k"), not a number: 0 and k-1 answers look the same;
* newcomers (the quarantine) count in the organisation's figures only.

So one person answering changes an output only when their answer carries a rounded count over a
multiple of k, at the next snapshot, and then it says "k more people answered in some hour" about a
group that every not-yet-answered person in it could equally have moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pulse.domain.disclosure import check_min_group_size


@dataclass(frozen=True)
class ParticipationCounts:
    """Exact counts of one group (a department, or the round's newcomers)."""

    name: str
    invited: int
    responded: int
    quarantined: bool = False


def rounded(responded: int, invited: int, k: int) -> int:
    """``responded`` rounded down to a multiple of k, never as high as ``invited`` (see the module doc)."""
    return (min(responded, invited - 1) // k) * k if invited > 0 else 0


def band(count: int, k: int) -> str:
    """How a rounded count is written: 'fewer than k', or 'at least N'."""
    return f"fewer than {k}" if count < k else f"at least {count}"


def coarse_participation(groups: Sequence[ParticipationCounts], k: int) -> dict[str, Any]:
    """The released participation of an open round (JSON-able), from exact counts (see the module doc)."""
    check_min_group_size(k)
    invited = sum(g.invited for g in groups)
    responded = rounded(sum(g.responded for g in groups), invited, k)
    departments = []
    hidden = 0
    for group in sorted((g for g in groups if not g.quarantined), key=lambda g: g.name):
        count = rounded(group.responded, group.invited, k)
        if group.invited >= k and count >= k:
            departments.append(
                {
                    "name": group.name,
                    "invited": group.invited,
                    "responded": count,
                    "responded_band": band(count, k),
                    "rate": round(count / group.invited, 2),
                }
            )
        else:
            hidden += 1
    shown = invited >= k
    return {
        "coarse": True,
        "invited": invited if shown else None,
        "responded": responded if shown and responded >= k else None,
        "responded_band": band(responded, k) if shown else None,
        "rate": round(responded / invited, 2) if shown and responded >= k else None,
        "departments": departments,
        "departments_hidden": hidden,
    }

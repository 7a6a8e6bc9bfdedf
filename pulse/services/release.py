"""Release: nothing about a round's answers leaves Pulse before the round has closed.

Two builds of a report a few answers apart give the late respondents' exact figures by difference,
and a report of an open round is always "a few answers apart" from the final one. So every path that
computes, stores or serves figures or comments of a round (``pulse report``, the report pages and
downloads, the JSON API, the report job, leader emails) asks ``require_closed`` first; it refuses with
one line that says why. Participation while a round is open is a separate, coarse output
(``pulse.services.participation``).
"""

from __future__ import annotations

from pulse.errors import Conflict
from pulse.i18n import N_, Moment
from pulse.models import Organization, Round, RoundStatus


class RoundStillOpen(Conflict):
    """Figures or comments of an open round were asked for."""

    code = "round_open"


def is_released(round_: Round) -> bool:
    """Whether figures of ``round_`` may leave Pulse: only once it is closed."""
    return round_.status == RoundStatus.CLOSED


async def require_closed(round_: Round) -> None:
    """Raise RoundStillOpen unless ``round_`` is closed (see the module docstring)."""
    if is_released(round_):
        return
    organization = await Organization.get(id=round_.organization_id)
    raise RoundStillOpen(
        N_(
            "round %(id)s is open until %(until)s (%(zone)s): reports are built after it closes, so that no answer "
            "can be inferred by comparing two builds",
            id=round_.id,
            until=Moment(round_.closes_at, organization.timezone, "%Y-%m-%d %H:%M"),
            zone=organization.timezone,
        )
    )

"""The tick: everything the calendar asks for, done once a minute by whichever worker runs it.

One tick, in order:

1. **Open** the round of every active schedule whose ``next_run_at`` has come, queue its invitations,
   and advance ``next_run_at`` to the first occurrence after now. When several occurrences were
   missed (nothing ran for a while), only the most recent one is opened, and only if its planned
   close time is still ahead; older ones are skipped (logged), never opened in a burst.
2. **Remind**: queue ``send_reminders`` for open rounds whose reminder time has come.
3. **Close** open rounds whose close time has come and queue their reports; also finish closed rounds
   whose report was never queued or never finished (a process died in between).
4. **Recover**: invite people who joined an open round's scope since it opened, and queue
   ``send_invitations`` for open rounds with unsent invitations (e.g. after a crash).

Every step is idempotent, so two workers ticking at once, or a tick repeated after a crash, do no
harm: a schedule occurrence has at most one round (unique (schedule, occurrence_at); ``open_round``
raises Conflict for the second caller), ``next_run_at`` only moves forward through a compare-and-set
update, closing is idempotent, and every queued job carries a job id (``invite:ID``, ``remind:ID``,
``report:ID``) so a job already queued or running is not queued again.

A scheduled round closes ``open_days`` later on the organisation's local wall clock, and its reminder
comes ``remind_after_days`` later, also on the local clock, so both keep their local time of day
across daylight-saving changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.expressions import Q
from tortoise.functions import Max

from pulse import clock
from pulse.errors import Conflict, InvalidInput, NotFound
from pulse.models import Invitation, Person, ReportStatus, Response, Round, RoundStatus, Schedule
from pulse.services import rounds
from pulse.services.anonymity import shuffle_round_storage
from pulse.services.invitations import MAX_SEND_ATTEMPTS
from pulse.services.schedules import Cadence, to_local

log = logging.getLogger("pulse.cadence")


class Queue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_by: float = 0) -> bool: ...


@dataclass
class TickResult:
    """What one tick did (round ids), for logs and tests."""

    opened: list[int] = field(default_factory=list)
    #: (schedule id, occurrence) pairs skipped because their round would already have closed.
    missed: list[tuple[int, datetime]] = field(default_factory=list)
    reminders_queued: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    reports_queued: list[int] = field(default_factory=list)
    invitations_queued: list[int] = field(default_factory=list)
    late_joiners: int = 0
    #: Open rounds whose storage order was shuffled by this tick.
    shuffled: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "missed": [[schedule_id, at.isoformat()] for schedule_id, at in self.missed],
            "reminders_queued": self.reminders_queued,
            "closed": self.closed,
            "reports_queued": self.reports_queued,
            "invitations_queued": self.invitations_queued,
            "late_joiners": self.late_joiners,
            "shuffled": self.shuffled,
        }

    @property
    def idle(self) -> bool:
        return not any(
            (
                self.opened,
                self.missed,
                self.reminders_queued,
                self.closed,
                self.reports_queued,
                self.invitations_queued,
                self.late_joiners,
                self.shuffled,
            )
        )


async def _ids(query: Any) -> list[int]:
    """The ids a ``values_list(..., flat=True)`` query returns, as ints."""
    rows: list[Any] = await query
    return [int(value) for value in rows]


async def _enqueue(queue: Queue, name: str, round_id: int, prefix: str) -> bool:
    try:
        return await queue.enqueue(name, round_id, job_id=f"{prefix}:{round_id}")
    except KeyError:
        # The in-process queue refuses names it does not know (a job module not installed).
        log.error("job %s is not available: round %s waits", name, round_id, extra={"round_id": round_id})
        return False


async def tick(queue: Queue, now: datetime | None = None) -> TickResult:
    """Do everything that is due at ``now`` (default: the clock's now). Safe to run concurrently."""
    now = now or clock.now()
    result = TickResult()
    await _open_due_rounds(queue, now, result)
    await _queue_reminders(queue, now, result)
    await _close_due_rounds(queue, now, result)
    await _recover_invitations(queue, now, result)
    await _shuffle_open_rounds(now, result)
    return result


#: How often an open round's anonymous rows are rewritten in random order. A copy of the database
#: taken during a round (a nightly backup, a dump) then keeps the answer order only of the answers
#: since the last shuffle; closing the round shuffles everything once more.
SHUFFLE_OPEN_ROUNDS_EVERY = timedelta(hours=1)


async def _shuffle_open_rounds(now: datetime, result: TickResult) -> None:
    due = await _ids(
        Round.filter(
            Q(shuffled_at__isnull=True) | Q(shuffled_at__lte=now - SHUFFLE_OPEN_ROUNDS_EVERY),
            status=RoundStatus.OPEN,
            closes_at__gt=now,
        ).values_list("id", flat=True)
    )
    for round_id in due:
        if not await Response.exists(round_id=round_id):
            continue  # nothing to hide yet
        await shuffle_round_storage(round_id)
        result.shuffled.append(round_id)


async def _open_due_rounds(queue: Queue, now: datetime, result: TickResult) -> None:
    due = (
        await Schedule.filter(active=True, next_run_at__lte=now)
        .order_by("next_run_at")
        .prefetch_related("organization")
    )
    for schedule in due:
        handled = await _open_schedule(queue, schedule, now, result)
        if not handled:
            continue
        cadence = Cadence.of(schedule, schedule.organization.timezone)
        # Compare-and-set: if another worker advanced it already, this changes nothing.
        await Schedule.filter(id=schedule.id, next_run_at=schedule.next_run_at).update(
            next_run_at=cadence.next_after(now)
        )


async def _open_schedule(queue: Queue, schedule: Schedule, now: datetime, result: TickResult) -> bool:
    """Open the round of the schedule's latest due occurrence; False when the tick should try again later."""
    organization = schedule.organization
    cadence = Cadence.of(schedule, organization.timezone)
    occurrence = cadence.latest_at_or_before(now)
    if occurrence is None or schedule.next_run_at is None or occurrence < schedule.next_run_at:
        return True  # nothing of this rule is due (cannot normally happen); just advance
    closes_at = cadence.closes_at(occurrence)
    context = {
        "schedule_id": schedule.id,
        "organization": organization.slug,
        "occurrence_local": to_local(occurrence, cadence.tz).isoformat(),
    }
    if closes_at <= now:
        # Everything was down for longer than the round would have been open: opening it now would
        # close it at once. Skip it; the next occurrence opens on time.
        log.warning("schedule occurrence missed: its round would already have closed", extra=context)
        result.missed.append((schedule.id, occurrence))
        return True
    if occurrence > schedule.next_run_at:
        log.warning("schedule occurrences missed while nothing ran: opening only the latest", extra=context)
    try:
        opened = await rounds.open_round(
            organization,
            closes_in_days=cadence.open_days,
            departments=schedule.departments,
            schedule=schedule,
            occurrence_at=occurrence,
            remind_after_days=cadence.remind_after_days,
        )
    except Conflict:
        existing = await Round.get_or_none(schedule_id=schedule.id, occurrence_at=occurrence)
        if existing is None:
            return False  # round numbers collided with a concurrent opening: try again next tick
        # Opened by a concurrent tick (or by this one before a crash): make sure its times follow the
        # local clock (the same values: idempotent) and that it is being sent.
        await _follow_local_clock(existing.id, cadence, occurrence)
        await _enqueue(queue, "send_invitations", existing.id, "invite")
        return True
    except InvalidInput as error:
        # Nobody to invite, or a department was renamed since: nothing can open; say so and move on.
        log.error("scheduled round not opened: %s", error, extra=context)
        return True
    await _follow_local_clock(opened.id, cadence, occurrence)
    result.opened.append(opened.id)
    log.info("scheduled round opened", extra={**context, "round_id": opened.id})
    await _enqueue(queue, "send_invitations", opened.id, "invite")
    return True


async def _follow_local_clock(round_id: int, cadence: Cadence, occurrence: datetime) -> None:
    # The rounds service counts whole days from now in UTC; a scheduled round follows the local
    # wall clock instead (9:00 stays 9:00 across a DST change) and the occurrence, not the tick time.
    await Round.filter(id=round_id, status=RoundStatus.OPEN).update(
        closes_at=cadence.closes_at(occurrence), remind_at=cadence.remind_at(occurrence)
    )


async def _queue_reminders(queue: Queue, now: datetime, result: TickResult) -> None:
    due = await _ids(
        Round.filter(
            status=RoundStatus.OPEN, remind_at__lte=now, reminded_at__isnull=True, closes_at__gt=now
        ).values_list("id", flat=True)
    )
    for round_id in due:
        if await _enqueue(queue, "send_reminders", round_id, "remind"):
            result.reminders_queued.append(round_id)


async def _close_due_rounds(queue: Queue, now: datetime, result: TickResult) -> None:
    due = await _ids(
        Round.filter(status=RoundStatus.OPEN, closes_at__lte=now).order_by("closes_at").values_list("id", flat=True)
    )
    for round_id in due:
        try:
            await rounds.close_round(round_id)
        except NotFound:
            continue  # deleted meanwhile
        result.closed.append(round_id)
        log.info("round closed on schedule", extra={"round_id": round_id})
        if await _enqueue(queue, "build_report", round_id, "report"):
            result.reports_queued.append(round_id)
    # Closed rounds whose shuffle or report did not happen (the process died between the steps).
    unfinished = await _ids(
        Round.filter(
            Q(shuffled_at__isnull=True)
            | Q(report__id__isnull=True)
            | Q(report__status__in=[ReportStatus.PENDING, ReportStatus.BUILDING]),
            status=RoundStatus.CLOSED,
        ).values_list("id", flat=True)
    )
    for round_id in sorted(set(unfinished) - set(result.closed)):
        await rounds.close_round(round_id)  # idempotent: shuffles if that was missed
        if await _enqueue(queue, "build_report", round_id, "report"):
            result.reports_queued.append(round_id)


async def _recover_invitations(queue: Queue, now: datetime, result: TickResult) -> None:
    open_rounds = await Round.filter(status=RoundStatus.OPEN, closes_at__gt=now).values_list(
        "id", "organization_id", "opened_at"
    )
    # Late joiners are people added or reactivated (so updated) after the round opened: one query for
    # the latest change per organisation spares looking at everyone in every open round every minute.
    changed: dict[int, datetime] = {
        int(row["organization_id"]): row["last"]
        for row in await Person.filter(active=True, organization_id__in=list({r[1] for r in open_rounds}))
        .annotate(last=Max("updated_at"))
        .group_by("organization_id")
        .values("organization_id", "last")
    }
    for round_id, organization_id, opened_at in open_rounds:
        last = changed.get(int(organization_id))
        if last is None or last < opened_at:
            continue
        try:
            result.late_joiners += await rounds.invite_late_joiners(int(round_id))
        except (Conflict, InvalidInput, NotFound):
            continue  # another worker is inviting them, or the round closed meanwhile
    unsent = await _ids(
        Invitation.filter(
            round__status=RoundStatus.OPEN,
            round__closes_at__gt=now,
            sent_at__isnull=True,
            person_id__not_isnull=True,
            send_attempts__lt=MAX_SEND_ATTEMPTS,
        )
        .distinct()
        .values_list("round_id", flat=True)
    )
    for round_id in sorted(set(unsent)):
        if await _enqueue(queue, "send_invitations", round_id, "invite"):
            result.invitations_queued.append(round_id)

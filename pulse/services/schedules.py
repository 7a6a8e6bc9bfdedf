"""Schedules: survey cadences as iCalendar RRULEs evaluated in the organisation's time zone.

A rule is evaluated on *naive local wall-clock times* (``dtstart`` is stored naive, in the
organisation's zone) and each occurrence is converted to UTC on its own, so "every other Monday at
9:00" stays 9:00 local on both sides of a daylight-saving change. Two wall-clock oddities:

* a local time that does not exist (the spring-forward gap, e.g. 02:30 in Paris on the last Sunday of
  March) is shifted forward by the length of the gap (02:30 → 03:30);
* a local time that happens twice (the autumn fall-back hour) means its first, summer-time instance.

``Schedule.next_run_at`` is the next occurrence (UTC) the tick has not handled. When occurrences were
missed while nothing ran, the tick opens only the most recent one (see ``pulse.services.cadence``).
Rounds of one schedule never overlap: a rule whose next occurrence comes before the previous round
closes is refused when the schedule is created.

Evaluation is bounded. dateutil looks for the next occurrence period by period up to the year 9999,
so a rule with no occurrence at all (``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30``) used to take seconds to
say so, holding the event loop. Here the search for each next occurrence gets a budget of
``SEARCH_CALLS`` steps and ``SEARCH_SECONDS`` seconds (``_Budget``); a rule that finds nothing within
it has ended, as far as Pulse is concerned (its occurrences would be centuries apart). Day-of-month
combinations that never exist (30 February, 31 April) are refused before any search, and
``add_schedule`` and ``resume_schedule`` (the CLI, the web app and the API) search in a thread, off
the event loop.
"""

from __future__ import annotations

import asyncio
import calendar
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from types import FrameType
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr
from tortoise.transactions import in_transaction

from pulse import clock
from pulse.domain.units import format_unit_path
from pulse.errors import InvalidInput, NotFound
from pulse.i18n import N_, NP_, Moment, term
from pulse.models import AuditEvent, Organization, Schedule
from pulse.services import rounds
from pulse.services.organizations import get_organization
from pulse.services.units import load_units

#: A pulse is weekly at the most often; sub-daily frequencies are always a mistake.
SUPPORTED_FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
KNOWN_PARTS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "WKST",
}
DEFAULT_OPEN_DAYS = 7
#: The rounds service's limit: a round open longer is a survey, not a pulse.
MAX_OPEN_DAYS = 90
#: How far ahead a new schedule is checked for overlapping rounds.
OVERLAP_CHECK_OCCURRENCES = 60
#: When --start is not given: today, at this local time (BYHOUR/BYMINUTE in the rule override it).
DEFAULT_START_TIME = (9, 0)
_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
#: The search for one next occurrence stops after this many steps of dateutil (about 40 years of a
#: daily rule, or centuries of a monthly one) ...
SEARCH_CALLS = 20_000
#: ... or this many seconds, whichever comes first: then the rule counts as having ended.
SEARCH_SECONDS = 0.25
#: And one evaluation (a preview, the overlap check over the next occurrences) stops after this long
#: in all, keeping what it found: sparse rules (29 February on a Monday) would otherwise add up.
EVALUATION_SECONDS = 1.0

_P = ParamSpec("_P")
_T = TypeVar("_T")


class _SearchExhausted(Exception):
    """Raised inside dateutil by ``_Budget`` when one search ran out."""


class _Budget:
    """A trace function (this thread only) that stops dateutil's search for one next occurrence.

    It sees every Python-level call, so it can count dateutil's steps (one or more calls per period
    examined). A resumption of ``rrule._iter`` means the previous occurrence was consumed: the next
    search starts with a fresh budget, so a long preview of a dense rule is never cut short.
    """

    _RESUME = getattr(rrule, "_iter").__code__  # noqa: B009 - private in the stubs, stable in dateutil 2.x

    def __init__(self, calls: int, seconds: float, total_seconds: float) -> None:
        self.calls, self.seconds = calls, seconds
        self.end = time.monotonic() + total_seconds
        self._reset()

    def _reset(self) -> None:
        self.left = self.calls
        self.deadline = time.monotonic() + self.seconds

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            if frame.f_code is self._RESUME:
                self._reset()
            else:
                self.left -= 1
                if self.left < 0 or time.monotonic() > min(self.deadline, self.end):
                    raise _SearchExhausted
        return None


def _bounded(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> tuple[_T | None, bool]:
    """``function(*args)`` under a search budget: (its result, True) or (None, False) when it ran out."""
    previous = sys.gettrace()
    sys.settrace(_Budget(SEARCH_CALLS, SEARCH_SECONDS, EVALUATION_SECONDS))
    try:
        return function(*args, **kwargs), True
    except _SearchExhausted:
        return None, False
    finally:
        sys.settrace(previous)


def _month_days(parts: dict[str, str], text: str) -> None:
    """Refuse BYMONTHDAY values that no month of BYMONTH has (30 February, 31 April): no search needed."""
    if "BYMONTHDAY" not in parts or "BYMONTH" not in parts:
        return
    try:
        months = [int(m) for m in parts["BYMONTH"].split(",")]
        days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
    except ValueError:
        return  # dateutil names the bad value
    if not all(1 <= m <= 12 for m in months) or not all(1 <= abs(d) <= 31 for d in days):
        return
    longest = {m: calendar.monthrange(2024, m)[1] for m in months}  # 2024: a leap year, 29 February exists
    if not any(abs(d) <= longest[m] for m in months for d in days):
        raise InvalidInput(
            N_(
                "the rule %(rule)s never happens: there is no day %(days)s in %(months)s",
                rule=repr(text),
                days=parts["BYMONTHDAY"],
                months=_either([term(MONTH_NAMES[m - 1]) for m in months]),
            )
        )


MONTH_NAMES = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)


def _either(names: list[str]) -> str:
    """``A or B or C``, in words that pages translate."""
    if len(names) == 1:
        return names[0]
    return N_("%(some)s or %(other)s", some=_either(names[:-1]), other=names[-1])


def _invalid(rule: str, problem: str) -> InvalidInput:
    return InvalidInput(N_("invalid RRULE %(rule)s: %(problem)s", rule=repr(rule), problem=problem))


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo called ``name``, or InvalidInput naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            N_("unknown time zone %(zone)s (use an IANA name such as Europe/Paris)", zone=repr(name))
        ) from None


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of naive local wall-clock time ``local``; a time in a DST gap moves forward."""
    # fold=0 reads a repeated time as its first instance, and a nonexistent time (in the gap) with
    # the offset from before the gap, which lands as far past the gap: shifted forward by its length.
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    """Naive local wall-clock time of aware ``instant`` in ``tz``."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _normalise_rule(text: str, tz: ZoneInfo) -> str:
    rule = text.strip()
    if "\n" in rule or "\r" in rule:
        raise InvalidInput(N_("give one RRULE line only (no DTSTART, EXDATE or RDATE lines)"))
    if rule.upper().startswith("RRULE:"):
        rule = rule[len("RRULE:") :]
    if not rule:
        raise InvalidInput(N_("the RRULE is empty (e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9)"))
    parts: dict[str, str] = {}
    for piece in rule.split(";"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise _invalid(text, N_("%(piece)s is not NAME=VALUE", piece=repr(piece)))
        if name == "DTSTART":
            raise InvalidInput(N_("DTSTART does not belong in the RRULE: use --start LOCAL_DATETIME"))
        if name not in KNOWN_PARTS:
            raise _invalid(text, N_("unknown part %(name)s", name=repr(name)))
        if name in parts:
            raise _invalid(text, N_("%(name)s is given twice", name=name))
        parts[name] = value.strip().upper()
    frequency = parts.get("FREQ")
    if frequency is None:
        raise _invalid(text, N_("FREQ is missing (DAILY, WEEKLY, MONTHLY or YEARLY)"))
    if frequency not in SUPPORTED_FREQUENCIES:
        raise InvalidInput(
            N_(
                "FREQ=%(frequency)s is not supported: a pulse runs at most daily "
                "(use DAILY, WEEKLY, MONTHLY or YEARLY)",
                frequency=frequency,
            )
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise _invalid(text, N_("COUNT and UNTIL cannot both be given"))
    _month_days(parts, text)
    until = parts.get("UNTIL")
    if until is not None and until.endswith("Z"):
        # The rule runs on local wall-clock times, so a UTC UNTIL becomes the local time it denotes.
        match = _UNTIL_UTC.fullmatch(f"UNTIL={until}")
        if match is None:
            raise _invalid(text, N_("UNTIL=%(until)s is not YYYYMMDDTHHMMSSZ", until=until))
        instant = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        parts["UNTIL"] = to_local(instant, tz).strftime("%Y%m%dT%H%M%S")
    return ";".join(f"{name}={value}" for name, value in parts.items())


def _compile(rule: str, dtstart: datetime, original: str) -> rrule:
    try:
        compiled = rrulestr(rule, dtstart=dtstart, cache=True)
    except (ValueError, TypeError, KeyError) as error:
        raise _invalid(original, str(error)) from None
    if not isinstance(compiled, rrule):
        raise _invalid(original, N_("give a single rule"))
    return compiled


def parse_start(value: str | None, tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """``--start`` as a naive local datetime; default: today at 09:00 local."""
    if value is None:
        today = to_local(now or clock.now(), tz).date()
        return datetime(today.year, today.month, today.day, *DEFAULT_START_TIME)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            N_("start %(value)s is not a local date/time like 2026-03-02T09:00", value=repr(value))
        ) from None
    if parsed.tzinfo is not None:
        raise InvalidInput(
            N_(
                "start %(value)s has a UTC offset: give the local wall-clock time, the organisation's zone applies",
                value=repr(value),
            )
        )
    return parsed.replace(microsecond=0)


@dataclass(frozen=True)
class Cadence:
    """A rule bound to its start and zone: the arithmetic of occurrences, opening and closing."""

    rule: str
    dtstart: datetime
    tz: ZoneInfo
    open_days: int = DEFAULT_OPEN_DAYS
    remind_after_days: int | None = None

    @classmethod
    def build(
        cls,
        rule_text: str,
        *,
        timezone: str,
        start: datetime,
        open_days: int = DEFAULT_OPEN_DAYS,
        remind_after_days: int | None = None,
    ) -> Cadence:
        """Validate everything about a cadence; raises InvalidInput saying what is wrong."""
        tz = zone(timezone)
        rule = _normalise_rule(rule_text, tz)
        _compile(rule, start, rule_text)
        if not 1 <= open_days <= MAX_OPEN_DAYS:
            raise InvalidInput(
                N_(
                    "open days must be between 1 and %(max)s (got %(days)s)",
                    max=MAX_OPEN_DAYS,
                    days=open_days,
                )
            )
        if remind_after_days is not None:
            if remind_after_days < 1:
                raise InvalidInput(N_("remind-after-days must be at least 1 (got %(days)s)", days=remind_after_days))
            if remind_after_days >= open_days:
                raise InvalidInput(
                    N_(
                        "a reminder after %(days)s days comes when the round has closed (it is open %(open)s days): "
                        "remind after fewer days than the round is open",
                        days=remind_after_days,
                        open=open_days,
                    )
                )
        return cls(rule=rule, dtstart=start, tz=tz, open_days=open_days, remind_after_days=remind_after_days)

    @classmethod
    def of(cls, schedule: Schedule, timezone: str) -> Cadence:
        return cls(
            rule=schedule.rrule,
            dtstart=datetime.fromisoformat(schedule.dtstart),
            tz=zone(timezone),
            open_days=schedule.open_days,
            remind_after_days=schedule.remind_after_days,
        )

    @property
    def recurrence(self) -> rrule:
        return _compile(self.rule, self.dtstart, self.rule)

    def after(self, instant: datetime, *, count: int, inclusive: bool = False) -> list[datetime]:
        """Up to ``count`` occurrences (UTC) after ``instant`` (or at it, when inclusive), earliest first.

        Fewer when the rule ends, or when the search for the next one runs out (see ``_Budget``).
        """
        found: list[datetime] = []

        def search() -> None:
            # Start a day early in local time: the wall clock can jump around the instant near DST.
            for local in self.recurrence.xafter(to_local(instant, self.tz) - timedelta(days=1), inc=True):
                occurrence = to_utc(local, self.tz)
                if occurrence > instant or (inclusive and occurrence == instant):
                    found.append(occurrence)
                    if len(found) >= count:
                        break

        _bounded(search)
        return found

    def next_after(self, instant: datetime, *, inclusive: bool = False) -> datetime | None:
        """The first occurrence (UTC) after ``instant``; None when the rule has ended."""
        found = self.after(instant, count=1, inclusive=inclusive)
        return found[0] if found else None

    def latest_at_or_before(self, instant: datetime) -> datetime | None:
        """The last occurrence (UTC) at or before ``instant``; None when there is none."""
        recurrence = self.recurrence

        def search() -> datetime | None:
            cursor: datetime | None = recurrence.before(to_local(instant, self.tz) + timedelta(days=1), inc=True)
            while cursor is not None:
                occurrence = to_utc(cursor, self.tz)
                if occurrence <= instant:
                    return occurrence
                cursor = recurrence.before(cursor, inc=False)
            return None

        return _bounded(search)[0]

    def closes_at(self, occurrence: datetime) -> datetime:
        """When the round of ``occurrence`` closes: ``open_days`` later on the local wall clock."""
        return to_utc(to_local(occurrence, self.tz) + timedelta(days=self.open_days), self.tz)

    def remind_at(self, occurrence: datetime) -> datetime | None:
        if self.remind_after_days is None:
            return None
        return to_utc(to_local(occurrence, self.tz) + timedelta(days=self.remind_after_days), self.tz)

    def first_overlap(self, after: datetime) -> tuple[datetime, datetime] | None:
        """Two consecutive occurrences whose rounds would overlap, checked over the next occurrences."""
        upcoming = self.after(after, count=OVERLAP_CHECK_OCCURRENCES)
        for previous, following in pairwise(upcoming):
            if following < self.closes_at(previous):
                return previous, following
        return None


@dataclass(frozen=True)
class Occurrence:
    """One occurrence as people read it (local wall clock) and as it is stored (UTC)."""

    local: datetime
    utc: datetime
    closes_local: datetime
    remind_local: datetime | None

    def as_json(self) -> dict[str, str | None]:
        return {
            "local": self.local.isoformat(),
            "utc": self.utc.isoformat(),
            "closes_local": self.closes_local.isoformat(),
            "remind_local": self.remind_local.isoformat() if self.remind_local else None,
        }


def describe(cadence: Cadence, occurrences: list[datetime]) -> list[Occurrence]:
    result = []
    for occurrence in occurrences:
        remind = cadence.remind_at(occurrence)
        result.append(
            Occurrence(
                local=to_local(occurrence, cadence.tz),
                utc=occurrence,
                closes_local=to_local(cadence.closes_at(occurrence), cadence.tz),
                remind_local=to_local(remind, cadence.tz) if remind else None,
            )
        )
    return result


def preview(cadence: Cadence, *, count: int = 10, after: datetime | None = None) -> list[Occurrence]:
    """The next ``count`` occurrences after ``after`` (default now), with their close/remind times."""
    if count < 1:
        raise InvalidInput(N_("count must be at least 1 (got %(count)s)", count=count))
    return describe(cadence, cadence.after(after or clock.now(), count=count))


async def _department_names(organization: Organization, names: list[str] | None) -> list[str] | None:
    """The units a schedule's rounds cover, as their stored paths (``Retail / Stores North``; a plain name
    is a top-level unit), each covering everything below it when a round opens. Matched ignoring case
    and repeated spaces, as ``pulse round open --unit`` does; unknown or malformed ones are refused by name."""
    if not names:
        return None
    wanted = list(dict.fromkeys(name.strip() for name in names))
    units = await load_units(organization.id)
    found: list[str] = []
    unknown: list[str] = []
    for name in wanted:
        path = units.lookup(name)
        if path is None:
            unknown.append(name)
        else:
            found.append(format_unit_path(path))
    if unknown:
        raise InvalidInput(
            NP_(
                "unknown department in %(slug)s: %(names)s (import people first, or check the spelling)",
                "unknown departments in %(slug)s: %(names)s (import people first, or check the spelling)",
                len(unknown),
                slug=repr(organization.slug),
                names=", ".join(repr(n) for n in unknown),
            )
        )
    return list(dict.fromkeys(found))


def _first_and_overlap(cadence: Cadence, now: datetime) -> tuple[datetime | None, tuple[datetime, datetime] | None]:
    next_run = cadence.next_after(now, inclusive=True)
    return next_run, cadence.first_overlap(now - timedelta(seconds=1)) if next_run is not None else None


async def add_schedule(
    slug: str,
    rule: str,
    *,
    start: str | None = None,
    open_days: int = DEFAULT_OPEN_DAYS,
    remind_after_days: int | None = None,
    departments: list[str] | None = None,
    actor: str = "cli",
) -> Schedule:
    """Create a schedule for organisation ``slug``; validates everything before writing anything.

    Overlapping rounds (an occurrence before the previous round has closed) are refused, and so are
    ``departments`` (unit paths) whose rounds would fail the minimum-scope rule at the first date
    (``pulse.services.rounds.check_scope_at``).
    """
    organization = await get_organization(slug)
    tz = zone(organization.timezone)
    now = clock.now()
    dtstart = parse_start(start, tz, now)
    cadence = Cadence.build(
        rule,
        timezone=organization.timezone,
        start=dtstart,
        open_days=open_days,
        remind_after_days=remind_after_days,
    )
    names = await _department_names(organization, departments)
    # Up to a second or two of search for a sparse rule: in a thread, never on the event loop.
    next_run, overlap = await asyncio.to_thread(_first_and_overlap, cadence, now)
    if next_run is None:
        raise InvalidInput(
            N_(
                "the rule %(rule)s has no occurrence after now (none within the next decades): nothing would ever open",
                rule=repr(rule),
            )
        )
    if names is not None:
        await rounds.check_scope_at(organization, names, next_run)
    if overlap is not None:
        previous, following = overlap
        raise InvalidInput(
            N_(
                "rounds would overlap: the round opened %(previous)s is still open (%(days)s days) when the next one "
                "opens %(next)s; keep rounds open fewer days, or choose a sparser rule",
                previous=Moment(previous, organization.timezone, "%Y-%m-%d %H:%M"),
                days=open_days,
                next=Moment(following, organization.timezone, "%Y-%m-%d %H:%M"),
            )
        )
    async with in_transaction():
        schedule = await Schedule.create(
            organization=organization,
            rrule=cadence.rule,
            dtstart=dtstart.isoformat(),
            open_days=open_days,
            remind_after_days=remind_after_days,
            departments=names,
            active=True,
            next_run_at=next_run,
        )
        await AuditEvent.create(
            organization=organization,
            actor=actor,
            action="schedule.add",
            detail={"schedule_id": schedule.id, "rrule": cadence.rule, "dtstart": schedule.dtstart},
        )
    return schedule


async def get_schedule(schedule_id: int) -> Schedule:
    schedule = await Schedule.get_or_none(id=schedule_id).prefetch_related("organization")
    if schedule is None:
        raise NotFound(N_("no schedule with id %(id)s", id=schedule_id))
    return schedule


async def list_schedules(slug: str) -> list[Schedule]:
    organization = await get_organization(slug)
    return await Schedule.filter(organization_id=organization.id).order_by("id").prefetch_related("organization")


async def pause_schedule(schedule_id: int, *, actor: str = "cli") -> Schedule:
    """Stop opening rounds; rounds already open carry on (reminders, closing, reports)."""
    schedule = await get_schedule(schedule_id)
    async with in_transaction():
        await Schedule.filter(id=schedule.id).update(active=False)
        await AuditEvent.create(
            organization_id=schedule.organization_id,
            actor=actor,
            action="schedule.pause",
            detail={"schedule_id": schedule.id},
        )
    schedule.active = False
    return schedule


async def resume_schedule(schedule_id: int, *, actor: str = "cli") -> Schedule:
    """Start again from the next occurrence after now: occurrences while paused are not opened."""
    schedule = await get_schedule(schedule_id)
    cadence = Cadence.of(schedule, schedule.organization.timezone)
    next_run = await asyncio.to_thread(cadence.next_after, clock.now(), inclusive=True)
    async with in_transaction():
        await Schedule.filter(id=schedule.id).update(active=True, next_run_at=next_run)
        await AuditEvent.create(
            organization_id=schedule.organization_id,
            actor=actor,
            action="schedule.resume",
            detail={"schedule_id": schedule.id},
        )
    schedule.active, schedule.next_run_at = True, next_run
    return schedule


async def remove_schedule(schedule_id: int, *, actor: str = "cli") -> None:
    """Delete a schedule. Its rounds stay (open ones still close and report), unlinked from it."""
    schedule = await get_schedule(schedule_id)
    async with in_transaction():
        await AuditEvent.create(
            organization_id=schedule.organization_id,
            actor=actor,
            action="schedule.remove",
            detail={"schedule_id": schedule.id, "rrule": schedule.rrule},
        )
        await Schedule.filter(id=schedule.id).delete()


def schedule_json(schedule: Schedule, timezone: str) -> dict[str, object]:
    tz = zone(timezone)
    next_run = schedule.next_run_at
    return {
        "id": schedule.id,
        "rrule": schedule.rrule,
        "start": schedule.dtstart,
        "timezone": timezone,
        "open_days": schedule.open_days,
        "remind_after_days": schedule.remind_after_days,
        "departments": schedule.departments,
        "active": schedule.active,
        "next_run_at": next_run.astimezone(UTC).isoformat() if next_run else None,
        "next_run_local": to_local(next_run, tz).isoformat() if next_run else None,
    }

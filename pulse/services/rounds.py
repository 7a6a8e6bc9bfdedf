"""Rounds: opening one (items fixed, one invitation per person in scope), closing it, late joiners.

Opening a round never sends anything: callers enqueue the ``send_invitations`` job (job id
``invite:<round id>``) so that sending is batched, retried and never done twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pulse import clock
from pulse.domain.items import compose_pulse
from pulse.errors import Conflict, InvalidInput, NotFound
from pulse.i18n import N_, NP_, Count
from pulse.models import Invitation, Organization, Person, Round, RoundStatus, Schedule
from pulse.services import anonymity, language_reliability
from pulse.services.tokens import new_token_material
from pulse.services.units import load_units
from pulse.settings import get_settings

log = logging.getLogger("pulse.rounds")

MAX_OPEN_DAYS = 90
#: Invitations are inserted in chunks so one huge organisation does not build one giant statement.
INSERT_BATCH = 1000
#: Two callers may pick the same next round number at once; the unique constraint makes one retry.
NUMBER_ATTEMPTS = 5


async def get_round(round_id: int) -> Round:
    """The round with ``round_id``; NotFound names the id."""
    found = await Round.get_or_none(id=round_id)
    if found is None:
        raise NotFound(N_("no round with id %(id)s", id=round_id))
    return found


def is_open(found: Round) -> bool:
    """Whether the round's links still work: open, and its closing time not yet reached (the tick may
    not have closed it yet)."""
    return found.status == RoundStatus.OPEN and found.closes_at > clock.now()


def check_remindable(found: Round) -> None:
    """The one rule for reminders, used by the CLI, the web app and the API: only an open round is
    reminded (a closed round's links no longer work). Raises InvalidInput naming the round."""
    if not is_open(found):
        raise InvalidInput(N_("round %(id)s is closed: reminders go only to open rounds", id=found.id))


async def _scope(organization: Organization, departments: Sequence[str] | None) -> list[int] | None:
    """Department ids the round covers (None = all): each name is a unit path (``Retail / Stores North``,
    or a plain department name) and covers that unit and every unit below it. Refuses units the
    organisation does not have, naming them."""
    if departments is None:
        return None
    names = list(dict.fromkeys(name.strip() for name in departments if name.strip()))
    if not names:
        raise InvalidInput(N_("no department named: give at least one department, or none for the whole organisation"))
    units = await load_units(organization.id)
    covered: set[int] = set()
    unknown: list[str] = []
    for name in names:
        found = units.lookup(name)
        if found is None:
            unknown.append(name)
        else:
            covered.update(units.subtree_ids(found))
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise InvalidInput(
            NP_(
                "unknown department %(names)s in organisation %(slug)s",
                "unknown departments %(names)s in organisation %(slug)s",
                len(unknown),
                names=listed,
                slug=repr(organization.slug),
            )
        )
    return sorted(covered)


def check_scope(organization: Organization, departments: Sequence[str], invited: int, newcomers: int = 0) -> None:
    """Refuse a scoped round that would invite fewer than 2k long-standing people.

    Every organisation-wide figure of a round (eNPS, participation, scores) is a figure about its
    scope: a round opened for one small department would publish that department's answers as
    "the organisation's". Twice k leaves at least k people outside any one hidden group of the scope.
    Newcomers (the quarantine) do not count: padding must not lift a scope over the gate.
    """
    needed = 2 * organization.min_group_size
    if invited < needed:
        named = ", ".join(repr(d) for d in departments)
        people: str = NP_("%(count)s person", "%(count)s people", invited, count=Count(invited))
        if newcomers:
            people = NP_(
                "%(people)s to invite (and %(count)s newcomer, who count only in organisation figures)",
                "%(people)s to invite (and %(count)s newcomers, who count only in organisation figures)",
                newcomers,
                people=people,
                count=Count(newcomers),
            )
        else:
            people = N_("%(people)s to invite", people=people)
        raise InvalidInput(
            N_(
                "scope %(names)s has %(people)s: a round for part of the organisation needs at least %(needed)s "
                "(twice the minimum group size %(k)s), or its organisation-wide figures would be about a few people",
                names=named,
                people=people,
                needed=needed,
                k=organization.min_group_size,
            )
        )


def _check_people_in_scope(
    organization: Organization, departments: Sequence[str], people: Sequence[tuple[int, int | None]]
) -> None:
    newcomers = sum(1 for _, department_id in people if department_id is None)
    check_scope(organization, departments, len(people) - newcomers, newcomers)


async def check_scope_at(organization: Organization, departments: Sequence[str], moment: datetime) -> None:
    """The minimum-scope rule for units named for later rounds (a schedule's), with the directory as it
    stands now and the quarantine as it will be at ``moment`` (the first round's opening): a schedule
    whose rounds could not open is refused when it is made, not found out at its first date. Each round
    is checked again when it opens. Unknown units are refused by name, as when a round opens."""
    department_ids = await _scope(organization, departments)
    _check_people_in_scope(organization, departments, await _people_in_scope(organization, department_ids, moment))


async def _people_in_scope(
    organization: Organization, department_ids: Sequence[int] | None, moment: datetime
) -> list[tuple[int, int | None]]:
    """(person id, department id) of every active person in scope; the department is None for a
    newcomer in quarantine (joined, or changed department, within the organisation's quarantine days
    before ``moment``): their answers count in the organisation's figures only."""
    query = Person.filter(organization_id=organization.id, active=True)
    if department_ids is not None:
        query = query.filter(department_id__in=list(department_ids))
    since = moment - timedelta(days=organization.quarantine_days)
    rows = await query.order_by("id").values_list("id", "department_id", "joined_at", "moved_at")
    return [
        (int(person_id), None if _recent(joined_at, since) or _recent(moved_at, since) else int(department_id))
        for person_id, department_id, joined_at, moved_at in rows
    ]


def _recent(moment: datetime | None, since: datetime) -> bool:
    return moment is not None and moment > since


def _invitations(round_id: int, people: Sequence[tuple[int, int | None]], secret_key: str) -> list[Invitation]:
    result = []
    for person_id, department_id in people:
        material = new_token_material(secret_key)
        result.append(
            Invitation(
                round_id=round_id,
                person_id=person_id,
                department_id=department_id,
                token_salt=material.salt,
                token_hash=material.token_hash,
            )
        )
    return result


async def open_round(
    organization: Organization,
    *,
    closes_in_days: int = 7,
    departments: Sequence[str] | None = None,
    schedule: Schedule | None = None,
    occurrence_at: datetime | None = None,
    remind_after_days: int | None = None,
) -> Round:
    """Open the organisation's next round and create one invitation per active person in scope.

    Items come from the engine's pulse composition for the round's number. Everything is written in
    one transaction. Nothing is sent: enqueue ``send_invitations`` for that. Raises InvalidInput when
    nobody is in scope or a department is unknown, and Conflict when the schedule occurrence already
    has a round (so the scheduler can call this idempotently).
    """
    if isinstance(closes_in_days, bool) or not 1 <= closes_in_days <= MAX_OPEN_DAYS:
        raise InvalidInput(
            N_(
                "closes in %(days)s days: a round stays open 1 to %(max)s days",
                days=closes_in_days,
                max=MAX_OPEN_DAYS,
            )
        )
    if remind_after_days is not None and not 0 < remind_after_days < closes_in_days:
        raise InvalidInput(
            N_(
                "reminder after %(days)s days: it must come after opening and before the round closes (%(open)s days)",
                days=remind_after_days,
                open=closes_in_days,
            )
        )
    if (schedule is None) != (occurrence_at is None):
        raise InvalidInput("a scheduled round needs both its schedule and its occurrence time")
    department_ids = await _scope(organization, departments)
    people = await _people_in_scope(organization, department_ids, clock.now())
    if not people:
        if departments is None:
            raise InvalidInput(
                N_("nobody to invite: organisation %(slug)s has no active people", slug=repr(organization.slug))
            )
        raise InvalidInput(
            N_(
                "nobody to invite: organisation %(slug)s has no active people in %(names)s",
                slug=repr(organization.slug),
                names=", ".join(repr(d) for d in departments),
            )
        )
    if departments is not None:
        _check_people_in_scope(organization, departments, people)

    secret_key = get_settings().secret_key
    for _ in range(NUMBER_ATTEMPTS):
        if schedule is not None and await Round.exists(schedule_id=schedule.id, occurrence_at=occurrence_at):
            raise Conflict(f"schedule {schedule.id} already has a round for {occurrence_at}")
        latest = await Round.filter(organization_id=organization.id).order_by("-number").first()
        number = 1 if latest is None else latest.number + 1
        opened_at = clock.now()
        try:
            async with in_transaction() as connection:
                created = await Round.create(
                    organization_id=organization.id,
                    schedule_id=schedule.id if schedule is not None else None,
                    occurrence_at=occurrence_at,
                    number=number,
                    status=RoundStatus.OPEN,
                    item_keys=list(compose_pulse(number)),
                    department_ids=department_ids,
                    opened_at=opened_at,
                    closes_at=opened_at + timedelta(days=closes_in_days),
                    remind_at=opened_at + timedelta(days=remind_after_days) if remind_after_days else None,
                    using_db=connection,
                )
                invitations = _invitations(created.id, people, secret_key)
                await Invitation.bulk_create(invitations, batch_size=INSERT_BATCH, using_db=connection)
        except IntegrityError:
            # Either the schedule occurrence (checked again at the top of the loop) or the round
            # number was taken by a concurrent caller: try the next number.
            continue
        await language_reliability.prepare(created.id, created.item_keys)
        log.info(
            "round opened",
            extra={"round_id": created.id, "organization": organization.slug, "invited": len(people)},
        )
        return created
    raise Conflict(
        N_(
            "could not open a round for %(slug)s: round numbers kept colliding, try again",
            slug=repr(organization.slug),
        )
    )


async def close_round(round_id: int) -> Round:
    """Close the round (links stop working) and shuffle its storage order. Idempotent."""
    found = await get_round(round_id)
    if found.status == RoundStatus.OPEN:
        async with in_transaction() as connection:
            if connection.capabilities.dialect == "postgres":
                # Waits for submissions in flight (they hold a key-share lock on the row) and makes later
                # ones wait and then see the round closed: nothing is stored after the shuffle below.
                await connection.execute_query('SELECT "id" FROM "round" WHERE "id" = $1 FOR UPDATE', [round_id])
            await (
                Round.filter(id=round_id, status=RoundStatus.OPEN)
                .using_db(connection)
                .update(status=RoundStatus.CLOSED, closed_at=clock.now())
            )
        found = await get_round(round_id)
        log.info("round closed", extra={"round_id": round_id})
    if found.shuffled_at is None or (found.closed_at is not None and found.shuffled_at < found.closed_at):
        await anonymity.shuffle_round_storage(round_id)
        found = await get_round(round_id)
    return found


async def invite_late_joiners(round_id: int) -> int:
    """Create invitations for active people in the round's scope who have none yet (people added or
    reactivated after the round opened). Returns how many were created; nothing is sent."""
    found = await get_round(round_id)
    if found.status != RoundStatus.OPEN or found.closes_at <= clock.now():
        raise InvalidInput(N_("round %(id)s is closed: late joiners can only be invited to an open round", id=round_id))
    organization = await Organization.get(id=found.organization_id)
    people = await _people_in_scope(organization, found.department_ids, found.opened_at)
    invited_rows = await Invitation.filter(round_id=round_id, person_id__not_isnull=True).values_list("person_id")
    invited = {int(row[0]) for row in invited_rows}
    missing = [(person_id, department_id) for person_id, department_id in people if person_id not in invited]
    if not missing:
        return 0
    try:
        async with in_transaction() as connection:
            await Invitation.bulk_create(
                _invitations(round_id, missing, get_settings().secret_key),
                batch_size=INSERT_BATCH,
                using_db=connection,
            )
    except IntegrityError:
        raise Conflict(
            N_("late joiners of round %(id)s are being invited by someone else right now", id=round_id)
        ) from None
    log.info("late joiners invited", extra={"round_id": round_id, "invited": len(missing)})
    return len(missing)

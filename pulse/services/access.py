"""Who may see which organisation, and do what in it.

* ``admin`` users: every organisation, everything.
* ``hr`` users and API keys: their own organisation, everything.
* ``leader`` users: their own organisation's reports, nothing else. A leader scoped to units (and a
  scoped API key, which reads like one) reads the reports of those units' subtrees, with the
  organisation's figures for context; a round that covers none of their units is NotFound to them,
  exactly like a round that does not exist.

Anything of another organisation is answered exactly like something that does not exist
(NotFound), so ids and slugs cannot be probed to learn what other organisations have. A leader who
asks for a management page of their own organisation gets PermissionDenied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pulse.domain.units import UnitPath, minimal_scope
from pulse.errors import NotFound, PermissionDenied
from pulse.i18n import N_
from pulse.models import Organization, Report, ReportStatus, Round, RoundStatus, Schedule, UserRole
from pulse.services.release import require_closed
from pulse.services.units import load_units


class Need(StrEnum):
    """What a request wants to do."""

    MANAGE = "manage"  # people, schedules, rounds, participation, keys
    REPORTS = "reports"  # read reports


@dataclass(frozen=True)
class Principal:
    """Whoever makes a request: a signed-in user or an API key."""

    #: Recorded in audit events: the user's email, or ``apikey:<prefix>``.
    actor: str
    role: UserRole
    #: None only for admins.
    organization_id: int | None
    user_id: int | None = None
    api_key_id: int | None = None
    #: The units (department ids) whose subtrees a scoped leader or key reads; None = the whole organisation.
    unit_ids: tuple[int, ...] | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is UserRole.ADMIN

    def may(self, organization_id: int, need: Need) -> bool:
        """Whether this principal may do ``need`` in organisation ``organization_id``."""
        if self.is_admin:
            return True
        if self.organization_id != organization_id:
            return False
        return need is Need.REPORTS or self.role is UserRole.HR

    def may_manage_anything(self) -> bool:
        return self.role in (UserRole.ADMIN, UserRole.HR)


#: Ids in URLs are database integers; anything outside this range cannot exist (and must not reach SQL).
MAX_ID = 2**31 - 1


def _valid_id(value: int) -> bool:
    return isinstance(value, int) and 1 <= value <= MAX_ID


def check(principal: Principal, organization_id: int, need: Need, *, missing: str) -> None:
    """Raise NotFound (other organisation: ``missing`` says what was not found) or PermissionDenied (own
    organisation, wrong role)."""
    if principal.may(organization_id, need):
        return
    if principal.is_admin or principal.organization_id == organization_id:
        raise PermissionDenied(N_("your account can read reports only"))
    raise NotFound(missing)


async def organization_for(principal: Principal, slug: str, need: Need) -> Organization:
    """The organisation ``slug`` if the principal may do ``need`` in it."""
    organization = await Organization.get_or_none(slug=slug)
    if organization is None or not (principal.is_admin or principal.organization_id == organization.id):
        raise NotFound(N_("no organisation with slug %(slug)s", slug=repr(slug)))
    check(principal, organization.id, need, missing=N_("no organisation with slug %(slug)s", slug=repr(slug)))
    return organization


async def organization_by_id(principal: Principal, organization_id: int, need: Need) -> Organization:
    """The organisation with this id if the principal may do ``need`` in it (API keys know only the id)."""
    organization = await Organization.get_or_none(id=organization_id) if _valid_id(organization_id) else None
    if organization is None or not (principal.is_admin or principal.organization_id == organization.id):
        raise NotFound(N_("no organisation with id %(id)s", id=organization_id))
    check(principal, organization.id, need, missing=N_("no organisation with id %(id)s", id=organization_id))
    return organization


async def round_for(principal: Principal, round_id: int, need: Need) -> Round:
    """The round ``round_id`` (its organisation loaded) if the principal may do ``need`` in its organisation."""
    found = await Round.get_or_none(id=round_id).select_related("organization") if _valid_id(round_id) else None
    if found is None or not (principal.is_admin or principal.organization_id == found.organization_id):
        raise NotFound(N_("no round with id %(id)s", id=round_id))
    check(principal, found.organization_id, need, missing=N_("no round with id %(id)s", id=round_id))
    if not await round_in_scope(principal, found):
        raise NotFound(N_("no round with id %(id)s", id=round_id))
    return found


async def scope_of(principal: Principal) -> list[UnitPath] | None:
    """The unit paths a scoped principal reads (none inside another); None for the whole organisation."""
    if principal.unit_ids is None or principal.organization_id is None:
        return None
    units = await load_units(principal.organization_id)
    return list(minimal_scope(units.paths[i] for i in principal.unit_ids if i in units.paths))


async def round_in_scope(principal: Principal, round_: Round) -> bool:
    """Whether a round covers any unit of the principal's scope (a round of the whole organisation does)."""
    if principal.unit_ids is None or round_.department_ids is None:
        return True
    scope = await scope_of(principal) or []
    units = await load_units(round_.organization_id)
    covered = {i for path in scope for i in units.subtree_ids(path)}
    return bool(covered.intersection(round_.department_ids))


async def report_for(principal: Principal, round_id: int) -> Report:
    """The stored report of round ``round_id`` if the principal may read its organisation's reports and
    the round is closed (RoundStillOpen otherwise: see ``pulse.services.release``)."""
    found = await round_for(principal, round_id, Need.REPORTS)
    await require_closed(found)
    report = await Report.get_or_none(round_id=found.id)
    if report is None:
        raise NotFound(N_("round %(id)s has no report yet", id=round_id))
    return report


async def latest_report_round(principal: Principal, organization_id: int) -> int | None:
    """The id of the latest closed round with a ready report that the principal may read, if any."""
    candidates = (
        await Round.filter(
            organization_id=organization_id, status=RoundStatus.CLOSED, report__status=ReportStatus.READY
        )
        .order_by("-number")
        .limit(50)
    )
    for found in candidates:
        if await round_in_scope(principal, found):
            return found.id
    return None


async def visible_organizations(principal: Principal) -> list[Organization]:
    """The organisations the principal can see at all, by name."""
    if principal.is_admin:
        return await Organization.all().order_by("name", "id")
    if principal.organization_id is None:
        return []
    return await Organization.filter(id=principal.organization_id)


async def schedule_for(principal: Principal, schedule_id: int, organization: Organization) -> Schedule:
    """The schedule ``schedule_id`` of ``organization`` (already checked) for management."""
    missing = N_("no schedule with id %(id)s", id=schedule_id)
    check(principal, organization.id, Need.MANAGE, missing=missing)
    schedule = (
        await Schedule.get_or_none(id=schedule_id, organization_id=organization.id) if _valid_id(schedule_id) else None
    )
    if schedule is None:
        raise NotFound(missing)
    return schedule

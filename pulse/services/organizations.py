"""Organisations: creating them and finding them by slug."""

from __future__ import annotations

import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError

from pulse import i18n
from pulse.domain.mailbox import domain_of, normalize_domain
from pulse.errors import Conflict, InvalidInput, NotFound
from pulse.models import AuditEvent, Organization, Person

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
#: Below three, a "group" figure is one or two people's answers: never allowed (DESIGN.md, rule 3).
MIN_GROUP_SIZE_FLOOR = 3
DEFAULT_MIN_GROUP_SIZE = 5
DEFAULT_COMMENT_THRESHOLD = 10
#: The newcomer quarantine (days before a round opens); below two weeks a patient insider would barely wait.
DEFAULT_QUARANTINE_DAYS = 28
QUARANTINE_DAYS_FLOOR = 14
QUARANTINE_DAYS_MAX = 365


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from None
    return name


def validate_min_group_size(k: int) -> int:
    if k < MIN_GROUP_SIZE_FLOOR:
        raise InvalidInput(f"minimum group size {k} is below {MIN_GROUP_SIZE_FLOOR}: answers could be identified")
    return k


def validate_quarantine_days(days: int) -> int:
    if isinstance(days, bool) or not QUARANTINE_DAYS_FLOOR <= days <= QUARANTINE_DAYS_MAX:
        raise InvalidInput(
            f"quarantine of {days} days: newcomers count only in organisation figures for "
            f"{QUARANTINE_DAYS_FLOOR} to {QUARANTINE_DAYS_MAX} days"
        )
    return days


def validate_email_domains(domains: Sequence[str]) -> list[str] | None:
    """Normalised, de-duplicated domains (None for an empty list: any domain)."""
    result: list[str] = []
    for value in domains:
        domain = normalize_domain(value)
        if domain is None:
            raise InvalidInput(f"malformed email domain {value!r} (use a domain such as acme.example)")
        if domain not in result:
            result.append(domain)
    return result or None


async def create_organization(
    slug: str,
    name: str,
    *,
    timezone: str = "UTC",
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    comment_threshold: int = DEFAULT_COMMENT_THRESHOLD,
    email_domains: Sequence[str] = (),
    quarantine_days: int = DEFAULT_QUARANTINE_DAYS,
    locale: str = i18n.SOURCE_LOCALE,
) -> Organization:
    """Create an organisation; its slug is how the CLI and URLs name it."""
    validate_locale(locale)
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(f"slug {slug!r} must be lowercase letters, digits and dashes (at most 64)")
    if not name.strip():
        raise InvalidInput("organisation name must not be empty")
    validate_timezone(timezone)
    validate_min_group_size(min_group_size)
    if comment_threshold < min_group_size:
        raise InvalidInput(f"comment threshold {comment_threshold} is below the minimum group size {min_group_size}")
    domains = validate_email_domains(email_domains)
    validate_quarantine_days(quarantine_days)
    if await Organization.exists(slug=slug):
        raise Conflict(f"organisation {slug!r} already exists")
    try:
        return await Organization.create(
            slug=slug,
            name=name.strip(),
            timezone=timezone,
            min_group_size=min_group_size,
            comment_threshold=comment_threshold,
            email_domains=domains,
            quarantine_days=quarantine_days,
            locale=locale,
        )
    except IntegrityError:  # created by someone else since the check above
        raise Conflict(f"organisation {slug!r} already exists") from None


def validate_locale(locale: str) -> str:
    """A language Pulse has a catalog for (``pt_BR`` style), or InvalidInput naming the choices."""
    if locale not in i18n.available_locales():
        raise InvalidInput(f"language {locale!r} is not one of {', '.join(i18n.available_locales())}")
    return locale


async def set_default_language(organization: Organization, locale: str, *, actor: str = "cli") -> None:
    """The language of people and users who have none of their own (new imports, new accounts)."""
    organization.locale = validate_locale(locale)
    await organization.save(update_fields=["locale"])
    await AuditEvent.create(
        organization=organization, actor=actor, action="organization.language", detail={"locale": locale}
    )


async def get_organization(slug: str) -> Organization:
    organization = await Organization.get_or_none(slug=slug)
    if organization is None:
        raise NotFound(i18n.N_("no organisation with slug %(slug)s", slug=repr(slug)))
    return organization


async def update_organization(
    slug: str,
    *,
    email_domains: Sequence[str] | None = None,
    quarantine_days: int | None = None,
    actor: str = "cli",
) -> Organization:
    """Change the padding defences of an organisation. ``email_domains=[]`` allows any domain again.

    Restricting domains is refused while active people have addresses outside them (named), so the
    directory never holds someone the setting would not let in.
    """
    organization = await get_organization(slug)
    changes: dict[str, object] = {}
    if email_domains is not None:
        domains = validate_email_domains(email_domains)
        if domains:
            emails = await Person.filter(organization_id=organization.id, active=True).values_list("email", flat=True)
            outside = sorted(str(e) for e in emails if domain_of(str(e)) not in domains)
            if outside:
                shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
                raise InvalidInput(
                    f"{len(outside)} active {'person has an address' if len(outside) == 1 else 'people have addresses'}"
                    f" outside {', '.join(domains)}: {shown}; deactivate or correct them first"
                )
        organization.email_domains = domains
        changes["email_domains"] = domains
    if quarantine_days is not None:
        organization.quarantine_days = validate_quarantine_days(quarantine_days)
        changes["quarantine_days"] = quarantine_days
    if changes:
        await organization.save(update_fields=list(changes))
        await AuditEvent.create(organization=organization, actor=actor, action="organization.update", detail=changes)
    return organization

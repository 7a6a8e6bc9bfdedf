"""Organisations: creating them and finding them by slug."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError

from pulse.errors import Conflict, InvalidInput, NotFound
from pulse.models import Organization

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
#: Below three, a "group" figure is one or two people's answers: never allowed (DESIGN.md, rule 3).
MIN_GROUP_SIZE_FLOOR = 3
DEFAULT_MIN_GROUP_SIZE = 5
DEFAULT_COMMENT_THRESHOLD = 10


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


async def create_organization(
    slug: str,
    name: str,
    *,
    timezone: str = "UTC",
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    comment_threshold: int = DEFAULT_COMMENT_THRESHOLD,
) -> Organization:
    """Create an organisation; its slug is how the CLI and URLs name it."""
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(f"slug {slug!r} must be lowercase letters, digits and dashes (at most 64)")
    if not name.strip():
        raise InvalidInput("organisation name must not be empty")
    validate_timezone(timezone)
    validate_min_group_size(min_group_size)
    if comment_threshold < min_group_size:
        raise InvalidInput(f"comment threshold {comment_threshold} is below the minimum group size {min_group_size}")
    if await Organization.exists(slug=slug):
        raise Conflict(f"organisation {slug!r} already exists")
    try:
        return await Organization.create(
            slug=slug,
            name=name.strip(),
            timezone=timezone,
            min_group_size=min_group_size,
            comment_threshold=comment_threshold,
        )
    except IntegrityError:  # created by someone else since the check above
        raise Conflict(f"organisation {slug!r} already exists") from None


async def get_organization(slug: str) -> Organization:
    organization = await Organization.get_or_none(slug=slug)
    if organization is None:
        raise NotFound(f"no organisation with slug {slug!r}")
    return organization

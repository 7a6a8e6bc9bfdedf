from __future__ import annotations

import pytest

from pulse.errors import Conflict, InvalidInput
from pulse.models import Organization
from pulse.services.organizations import create_organization


async def test_an_organisation_is_created_with_safe_defaults(db: object) -> None:
    org = await create_organization("acme", "Acme Retail", timezone="Europe/Paris")
    stored = await Organization.get(slug="acme")
    assert (stored.id, stored.name, stored.timezone) == (org.id, "Acme Retail", "Europe/Paris")
    assert (stored.min_group_size, stored.comment_threshold) == (5, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_group_size": 2}, "below 3"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"slug": "Not A Slug"}, "slug 'Not A Slug'"),
        ({"min_group_size": 8, "comment_threshold": 6}, "comment threshold 6"),
    ],
)
async def test_bad_organisation_settings_are_refused_and_nothing_is_written(
    db: object, kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"slug": "acme", **kwargs}
    slug = str(arguments.pop("slug"))
    with pytest.raises(InvalidInput, match=message):
        await create_organization(slug, "Acme", **arguments)  # type: ignore[arg-type]
    assert await Organization.all().count() == 0


async def test_a_slug_cannot_be_taken_twice(db: object) -> None:
    await create_organization("acme", "Acme")
    with pytest.raises(Conflict, match="'acme' already exists"):
        await create_organization("acme", "Other")
    assert await Organization.all().count() == 1

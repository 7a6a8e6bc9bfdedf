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
        ({"quarantine_days": 13}, "quarantine of 13 days: newcomers count only in organisation figures for 14 to"),
        ({"email_domains": ["not a domain"]}, "malformed email domain 'not a domain'"),
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


async def test_restricting_email_domains_names_the_active_people_outside_them(db: object) -> None:
    from pulse.models import AuditEvent
    from pulse.services.organizations import update_organization
    from pulse.services.people import import_people

    org = await create_organization("acme", "Acme Retail")
    await import_people(org, "email,name,department\na@acme.test,A,X\nb@gmail.com,B,X\n")
    with pytest.raises(InvalidInput) as refused:
        await update_organization("acme", email_domains=["ACME.test"])
    assert str(refused.value) == (
        "1 active person has an address outside acme.test: b@gmail.com; deactivate or correct them first"
    )
    updated = await update_organization("acme", email_domains=["acme.test", "gmail.com"], quarantine_days=30)
    assert (updated.email_domains, updated.quarantine_days) == (["acme.test", "gmail.com"], 30)
    assert (await update_organization("acme", email_domains=[])).email_domains is None
    assert await AuditEvent.filter(action="organization.update").count() == 2

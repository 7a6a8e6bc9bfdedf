"""Deactivating one person from the web app: no more invitations, nothing deleted.

(The people import deactivates in bulk with ``deactivate_missing``; erasure is ``people.erase_person``.)
Rounds already open keep the person's invitation, so the link in their inbox still works and the
round's participation counts do not change under HR's feet.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from pulse import clock
from pulse.errors import NotFound
from pulse.i18n import N_
from pulse.models import AuditEvent, Department, Organization, Person
from pulse.services.people import normalize_email


async def set_person_active(organization: Organization, email: str, active: bool, *, actor: str = "web") -> Person:
    """Deactivate (or reactivate) the person with ``email`` in ``organization``; idempotent."""
    address = normalize_email(email)
    person = await Person.get_or_none(organization_id=organization.id, email=address)
    if person is None:
        raise NotFound(
            N_(
                "no person with email %(email)s in organisation %(slug)s",
                email=repr(address),
                slug=repr(organization.slug),
            )
        )
    if person.active != active:
        now = clock.now()
        department = await Department.get(id=person.department_id)
        async with in_transaction():
            if active:
                # Back in the directory counts as joining: the newcomer quarantine starts again.
                await Person.filter(id=person.id).update(active=True, updated_at=now, joined_at=now)
            else:
                await Person.filter(id=person.id).update(active=False, updated_at=now)
            # Counts only, like the import's audit record: the audit log names nobody.
            action = "people.reactivate" if active else "people.deactivate"
            kind = "reactivated" if active else "removed"
            await AuditEvent.create(
                organization=organization,
                actor=actor,
                action=action,
                detail={"people": 1, "departments": {kind: {department.name: 1}}},
            )
        person.active = active
    return person

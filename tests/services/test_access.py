from __future__ import annotations

import pytest

from pulse import clock
from pulse.errors import NotFound, PermissionDenied
from pulse.models import Organization, Report, Round, RoundStatus, UserRole
from pulse.services.access import Need, Principal, organization_for, report_for, round_for, visible_organizations
from pulse.services.organizations import create_organization
from pulse.services.release import RoundStillOpen


async def _round(organization: Organization) -> Round:
    now = clock.now()
    return await Round.create(organization=organization, number=1, item_keys=[], opened_at=now, closes_at=now)


async def test_hr_manages_only_their_own_organisation_and_others_look_absent(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    globex = await create_organization("globex", "Globex")
    globex_round = await _round(globex)
    hr = Principal("alice@acme.test", UserRole.HR, acme.id)
    assert (await organization_for(hr, "acme", Need.MANAGE)).id == acme.id
    with pytest.raises(NotFound, match="'globex'"):
        await organization_for(hr, "globex", Need.MANAGE)
    with pytest.raises(NotFound, match=f"no round with id {globex_round.id}"):
        await round_for(hr, globex_round.id, Need.REPORTS)
    # Another organisation's round and a round that does not exist answer the same way.
    with pytest.raises(NotFound, match="no round with id 999999"):
        await round_for(hr, 999999, Need.REPORTS)
    assert [o.slug for o in await visible_organizations(hr)] == ["acme"]


async def test_a_leader_reads_reports_only(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    acme_round = await _round(acme)
    await Report.create(round=acme_round)
    leader = Principal("bob@acme.test", UserRole.LEADER, acme.id)
    # Nothing of an open round leaves Pulse, not even to a reader of reports.
    with pytest.raises(RoundStillOpen):
        await report_for(leader, acme_round.id)
    acme_round.status = RoundStatus.CLOSED
    await acme_round.save()
    with pytest.raises(PermissionDenied):
        await organization_for(leader, "acme", Need.MANAGE)
    with pytest.raises(PermissionDenied):
        await round_for(leader, acme_round.id, Need.MANAGE)
    assert (await report_for(leader, acme_round.id)).round_id == acme_round.id


async def test_an_admin_sees_every_organisation(db: object) -> None:
    await create_organization("acme", "Acme")
    globex = await create_organization("globex", "Globex")
    admin = Principal("root@pulse.test", UserRole.ADMIN, None)
    assert (await organization_for(admin, "globex", Need.MANAGE)).id == globex.id
    assert [o.slug for o in await visible_organizations(admin)] == ["acme", "globex"]

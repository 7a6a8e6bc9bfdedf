from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pulse.domain.aggregates import Response as SimulatedResponse
from pulse.domain.items import DIMENSION_KEYS
from pulse.domain.scoring import score_response
from pulse.domain.simulation import DepartmentSpec, simulate_round
from pulse.models import (
    Answer,
    Department,
    HelpMark,
    Invitation,
    Organization,
    Person,
    PersonRole,
    ReportStatus,
    Response,
    Round,
    RoundStatus,
)
from pulse.services import reports
from pulse.settings import Settings

SPECS = [
    DepartmentSpec("Customer Service", 30, 0.8, {"fear": 22.0}),
    DepartmentSpec("Finance", 14, 0.8),
    DepartmentSpec("Logistics", 24, 0.85, isolated=True),
    DepartmentSpec("Sales", 26, 0.8, {"initiative": 18.0}),
    DepartmentSpec("Tiny Lab", 3, 1.0),  # below k: hidden; forces one complementary suppression
]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def seed_round(
    organization: Organization,
    departments: dict[str, Department],
    number: int,
    *,
    seed: int,
    closed: bool = True,
    specs: Sequence[DepartmentSpec] = SPECS,
) -> tuple[Round, list[SimulatedResponse]]:
    """A round with invitations and simulated answers stored as the answering service stores them."""
    simulated = simulate_round(specs, seed=seed, round_number=number, directory_names=["Jane Roe"], comment_rate=0.5)
    opened = START + timedelta(days=14 * (number - 1))
    round_ = await Round.create(
        organization=organization,
        number=number,
        status=RoundStatus.CLOSED if closed else RoundStatus.OPEN,
        item_keys=list(simulated.asked),
        opened_at=opened,
        closes_at=opened + timedelta(days=7),
        closed_at=opened + timedelta(days=7) if closed else None,
    )
    invitations = [
        Invitation(
            round=round_,
            department=departments[spec.name],
            token_salt=secrets.token_hex(8),
            token_hash=secrets.token_hex(32),
        )
        for spec in specs
        for _ in range(spec.invited)
    ]
    await Invitation.bulk_create(invitations)
    responses: list[Response] = []
    answers: list[Answer] = []
    marks: list[HelpMark] = []
    for sim in simulated.responses:
        scores = score_response(sim.answers, simulated.asked)
        response = Response(
            id=uuid.uuid4(),
            round_id=round_.id,
            department_id=departments[sim.department].id,
            enps=sim.enps,
            answered_network=sim.helped_by is not None,
            comment=sim.comment,
            **{f"score_{d}": scores.get(d) for d in DIMENSION_KEYS},
        )
        responses.append(response)
        answers.extend(
            Answer(
                response_id=response.id,
                round_id=round_.id,
                department_id=departments[sim.department].id,
                item_key=k,
                value=v,
            )
            for k, v in sim.answers.items()
        )
        marks.extend(
            HelpMark(
                response_id=response.id,
                round_id=round_.id,
                department_id=departments[sim.department].id,
                helper_id=departments[h].id,
            )
            for h in sim.helped_by or ()
            if h != sim.department
        )
    await Response.bulk_create(responses)
    await Answer.bulk_create(answers)
    await HelpMark.bulk_create(marks)
    return round_, list(simulated.responses)


async def seed_organization() -> tuple[Organization, dict[str, Department]]:
    organization = await Organization.create(slug="acme", name="Acme Retail")
    departments = {s.name: await Department.create(organization=organization, name=s.name) for s in SPECS}
    await Person.create(
        organization=organization,
        email="jane.roe@acme.test",
        name="Jane Roe",
        department=departments["Finance"],
        role=PersonRole.LEADER,
    )
    return organization, departments


async def test_smoke(db: Settings) -> None:
    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=1)
    report = await reports.build_report(round_.id, db)
    assert report.status == ReportStatus.READY
    assert report.pdf is not None and report.pdf.startswith(b"%PDF")

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from pulse import clock
from pulse.errors import Conflict, ImportRejected, NotFound
from pulse.models import (
    Answer,
    AuditEvent,
    Department,
    Invitation,
    Organization,
    Person,
    PersonRole,
    Response,
    Round,
)
from pulse.services import people as people_service
from pulse.services.organizations import create_organization
from pulse.services.people import erase_person, import_people, list_people, parse_people_csv

HEADER = "email,name,department,manager_email,role,locale\n"
BASE = (
    HEADER
    + "ada@example.org,Ada Lovelace,Engineering,,leader,en\n"
    + "bob@example.org,Bob Stone,Sales,ada@example.org,manager,fr\n"
    + "cy@example.org,Cy Young,Sales,bob@example.org,,\n"
)


async def _org(slug: str = "acme") -> Organization:
    return await create_organization(slug, slug.title())


async def _snapshot(org: Organization) -> tuple[int, int, tuple[object, ...]]:
    ada = await Person.get(organization=org, email="ada@example.org").prefetch_related("department")
    return (
        await Person.filter(organization=org).count(),
        await Department.filter(organization=org).count(),
        (ada.name, ada.department.name, ada.role, ada.locale, ada.manager_email, ada.active),
    )


async def test_an_import_creates_people_and_their_departments(db: object) -> None:
    org = await _org()
    summary = await import_people(org, BASE.encode())
    assert (summary.created, summary.updated, summary.unchanged, summary.departments_created) == (3, 0, 0, 2)
    bob = await Person.get(organization=org, email="bob@example.org").prefetch_related("department")
    assert (bob.name, bob.department.name, bob.manager_email, bob.role, bob.locale, bob.active) == (
        "Bob Stone",
        "Sales",
        "ada@example.org",
        PersonRole.MANAGER,
        "fr",
        True,
    )
    cy = await Person.get(organization=org, email="cy@example.org")
    assert (cy.role, cy.locale) == (PersonRole.EMPLOYEE, "en")
    assert sorted(d.name for d in await Department.filter(organization=org)) == [
        "Engineering",
        "Sales",
    ]


async def test_reimporting_the_same_file_changes_nothing(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    before = await Person.filter(organization=org).order_by("id").values()
    summary = await import_people(org, BASE.encode())
    assert str(summary) == "0 created, 0 updated, 3 unchanged"
    assert await Person.filter(organization=org).order_by("id").values() == before
    assert await Department.filter(organization=org).count() == 2


async def test_emails_are_normalised_and_headers_and_departments_are_forgiving(db: object) -> None:
    org = await _org()
    text = "\ufeff Email ,NAME,Department\n  Ada@Example.ORG ,Ada,  Sales  \nbob@example.org,Bob,sales\n"
    summary = await import_people(org, text.encode())
    assert (summary.created, summary.departments_created) == (2, 1)
    assert await Person.filter(organization=org, email="ada@example.org").exists()
    again = await import_people(org, b"email,name,department\nADA@example.org,Ada,SALES\n")
    assert (again.created, again.unchanged) == (0, 1)


async def test_windows_line_ends_and_semicolon_separated_files_are_read(db: object) -> None:
    org = await _org()
    semicolons = "email;name;department;role\r\nada@example.org;Lovelace, Ada;Engineering;leader\r\n"
    summary = await import_people(org, semicolons.encode())
    assert summary.created == 1
    ada = await Person.get(organization=org, email="ada@example.org")
    assert (ada.name, ada.role) == ("Lovelace, Ada", PersonRole.LEADER)
    commas = 'email,name,department,role\r\nada@example.org,"Lovelace, Ada",Engineering,leader\r\n'
    assert str(await import_people(org, commas.encode())) == "0 created, 0 updated, 1 unchanged"


async def test_a_changed_file_moves_and_updates_people(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    changed = BASE.replace(
        "bob@example.org,Bob Stone,Sales,ada@example.org,manager,fr", "bob@example.org,Bob Stone,Support,,leader,de-at"
    )
    summary = await import_people(org, changed.encode())
    assert (summary.created, summary.updated, summary.unchanged, summary.departments_created) == (0, 1, 2, 1)
    bob = await Person.get(organization=org, email="bob@example.org").prefetch_related("department")
    assert (bob.department.name, bob.manager_email, bob.role, bob.locale) == (
        "Support",
        None,
        PersonRole.LEADER,
        "de-AT",
    )
    # The old department stays: past invitations and answers refer to it.
    assert await Department.filter(organization=org, name="Sales").exists()


async def test_deactivate_missing_deactivates_and_a_later_import_reactivates(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    only_ada = HEADER + "ada@example.org,Ada Lovelace,Engineering,,leader,en\n"
    kept = await import_people(org, only_ada.encode())
    assert kept.deactivated == 0 and await Person.filter(organization=org, active=True).count() == 3
    summary = await import_people(org, only_ada.encode(), deactivate_missing=True)
    assert (summary.deactivated, summary.unchanged) == (2, 1)
    assert sorted(p.email for p in await Person.filter(organization=org, active=False)) == [
        "bob@example.org",
        "cy@example.org",
    ]
    assert await Person.filter(organization=org).count() == 3  # never deleted
    again = await import_people(org, BASE.encode(), deactivate_missing=True)
    assert (again.reactivated, again.updated, again.unchanged, again.deactivated) == (2, 0, 1, 0)
    assert await Person.filter(organization=org, active=True).count() == 3


async def test_an_import_only_touches_its_own_organisation(db: object) -> None:
    acme, other = await _org("acme"), await _org("other")
    await import_people(other, (HEADER + "zed@example.org,Zed,Sales,,,\n").encode())
    await import_people(acme, BASE.encode(), deactivate_missing=True)
    zed = await Person.get(email="zed@example.org").prefetch_related("department")
    assert zed.active and zed.department.organization_id == other.id
    assert await Department.filter(organization=other).count() == 1


async def test_an_import_is_audited_with_counts_only(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode(), actor="hr@example.org")
    event = await AuditEvent.get(organization=org, action="people.import")
    assert event.actor == "hr@example.org"
    assert event.detail == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "deactivated": 0,
        "reactivated": 0,
        "departments_created": 2,
        # The directory audit: per department, how many were added (never who).
        "departments": {"added": {"Engineering": 1, "Sales": 2}},
    }


async def test_the_progress_callback_reaches_the_total(db: object) -> None:
    org = await _org()
    rows = "".join(f"p{i}@example.org,P {i},D{i % 7}\n" for i in range(2500))
    calls: list[tuple[int, int]] = []
    await import_people(org, ("email,name,department\n" + rows).encode(), progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (2500, 2500) and len(calls) >= 3
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert await Person.filter(organization=org).count() == 2500


async def test_text_and_file_objects_are_accepted_like_bytes() -> None:
    assert parse_people_csv(io.BytesIO(BASE.encode())) == parse_people_csv(BASE) == parse_people_csv(BASE.encode())
    assert [row.row for row in parse_people_csv(io.StringIO(BASE))] == [2, 3, 4]


LONG = "x" * 201
BAD_FILES: list[tuple[str, bytes, list[str]]] = [
    ("missing email", b"email,name,department\n,Eve,Sales\n", ["row 2: email is empty"]),
    ("malformed email", b"email,name,department\nnot-an-email,Eve,Sales\n", ["row 2: malformed email 'not-an-email'"]),
    (
        "duplicate email",
        b"email,name,department\neve@example.org,Eve,Sales\nx@example.org,X,Ops\nEVE@example.org,Eve 2,Ops\n",
        ["row 4: duplicate email eve@example.org (already on row 2)"],
    ),
    ("unknown role", b"email,name,department,role\neve@example.org,Eve,Sales,boss\n", ["row 2: unknown role 'boss'"]),
    ("empty department", b"email,name,department\neve@example.org,Eve,  \n", ["row 2: department is empty"]),
    ("empty name", b"email,name,department\neve@example.org,,Sales\n", ["row 2: name is empty"]),
    (
        "missing header",
        b"eve@example.org,Eve,Sales\n",
        ["row 1: unknown columns 'eve@example.org', 'eve', 'sales'", "row 1: missing columns email, name, department"],
    ),
    ("missing column", b"email,name\neve@example.org,Eve\n", ["row 1: missing column department"]),
    (
        "unknown column",
        b"email,name,department,phone\neve@example.org,Eve,Sales,1\n",
        ["row 1: unknown column 'phone'"],
    ),
    (
        "duplicate column",
        b"email,name,department,Name\ne@example.org,E,S,F\n",
        ["row 1: column name given more than once"],
    ),
    (
        "not utf-8",
        b"email,name,department\neve@example.org,Eve,Sales\nzoe@example.org,Zo\xe9,Sales\n",
        ["row 3: bytes"],
    ),
    ("empty file", b"", ["row 1: expected the header"]),
    ("blank file", b"\n\n", ["row 1: expected the header"]),
    ("header only", b"email,name,department\n", ["row 2: no data rows"]),
    (
        "too long name",
        f"email,name,department\neve@example.org,{LONG},Sales\n".encode(),
        ["row 2: name is longer than 200"],
    ),
    (
        "too long department",
        f"email,name,department\ne@example.org,E,{LONG}\n".encode(),
        ["row 2: department is longer"],
    ),
    ("too long email", f"email,name,department\n{'e' * 250}@example.org,E,S\n".encode(), ["row 2: email is longer"]),
    (
        "malformed manager email",
        b"email,name,department,manager_email\neve@example.org,Eve,Sales,boss at example\n",
        ["row 2: malformed manager_email 'boss at example'"],
    ),
    ("bad locale", b"email,name,department,locale\neve@example.org,Eve,Sales,english!\n", ["row 2: malformed locale"]),
    (
        "wrong field count",
        b"email,name,department\neve@example.org,Eve,Sales,extra\n",
        ["row 2: expected 3 fields, found 4"],
    ),
    (
        "unbalanced quote",
        b'email,name,department\nx@example.org,X,Ops\neve@example.org,"Eve,Sales\nzed@example.org,Zed,Ops\n',
        ["row 3: malformed CSV"],
    ),
    (
        "control character",
        b"email,name,department\neve@example.org,Eve\x00,Sales\n",
        ["row 2: control characters in name"],
    ),
    (
        "several problems at once",
        b"email,name,department,role\n,Eve,Sales,\nok@example.org,Ok,Sales,\nzed@example.org,,,chief\n",
        ["row 2: email is empty", "row 4: name is empty", "row 4: department is empty", "row 4: unknown role 'chief'"],
    ),
]


@pytest.mark.parametrize(("data", "expected"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
async def test_a_bad_file_is_rejected_whole_with_every_problem_by_row_and_nothing_written(
    db: object, data: bytes, expected: list[str]
) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    before = await _snapshot(org)
    audit_before = await AuditEvent.all().count()
    with pytest.raises(ImportRejected) as rejected:
        await import_people(org, data, deactivate_missing=True)
    problems = rejected.value.problems
    assert len(problems) == len(expected), problems
    for wanted, problem in zip(expected, problems, strict=True):
        assert wanted in problem
    assert rejected.value.summary.startswith("people import rejected")
    assert await _snapshot(org) == before
    assert await AuditEvent.all().count() == audit_before


async def test_a_rejected_file_with_valid_rows_applies_none_of_them(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    before = await _snapshot(org)
    text = HEADER + "ada@example.org,Ada Moved,Research,,hr,de\nnew@example.org,New,Research,,,\nbad,Bad,Research,,,\n"
    with pytest.raises(ImportRejected) as rejected:
        await import_people(org, text.encode(), deactivate_missing=True)
    assert rejected.value.problems == ["row 4: malformed email 'bad'"]
    assert await _snapshot(org) == before
    assert not await Department.filter(name="Research").exists()


async def _round_with_participation(org: Organization) -> Round:
    """A round where Ada and Bob were invited and answered (two anonymous responses), Cy did not."""
    now = clock.now()
    round_ = await Round.create(
        organization=org, number=1, item_keys=["fear_blame_mistake"], opened_at=now, closes_at=now + timedelta(days=7)
    )
    for index, email in enumerate(["ada@example.org", "bob@example.org", "cy@example.org"]):
        person = await Person.get(organization=org, email=email)
        answered = email != "cy@example.org"
        await Invitation.create(
            round=round_,
            person=person,
            department_id=person.department_id,
            token_salt=f"salt{index}",
            token_hash=f"{index:064x}",
            sent_at=now,
            answered=answered,
        )
        if answered:
            response = await Response.create(round=round_, department_id=person.department_id, score_fear=50.0)
            await Answer.create(
                response=response,
                round=round_,
                department_id=person.department_id,
                item_key="fear_blame_mistake",
                value=3,
            )
    return round_


async def test_erasing_a_person_keeps_invitation_and_answer_counts(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    round_ = await _round_with_participation(org)
    ada_id = (await Person.get(email="ada@example.org")).id
    await erase_person(org, "  ADA@example.org ")
    assert not await Person.filter(email="ada@example.org").exists()
    assert await Invitation.filter(round=round_).count() == 3
    assert await Invitation.filter(round=round_, answered=True).count() == 2
    assert await Invitation.filter(round=round_, person_id=None).count() == 1
    assert not await Invitation.filter(person_id=ada_id).exists()
    assert await Response.filter(round=round_).count() == 2
    assert await Answer.filter(round=round_).count() == 2


async def test_erasing_removes_the_address_from_managers_and_audit_records(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    await AuditEvent.create(
        organization=org, actor="ada@example.org", action="test", detail={"who": ["Ada@Example.org"]}
    )
    await erase_person(org, "ada@example.org")
    bob = await Person.get(email="bob@example.org")
    assert bob.manager_email is None
    events = await AuditEvent.filter(organization=org).order_by("id")
    assert all("ada@example.org" not in f"{e.actor} {e.detail}".lower() for e in events)
    assert [e.actor for e in events if e.action == "test"] == ["[erased]"]
    assert {"who": ["[erased]"]} in [e.detail for e in events]
    assert events[-1].action == "people.erase" and events[-1].detail is None


async def test_erasing_an_unknown_person_is_a_clear_error(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    with pytest.raises(NotFound, match=re.escape("no person with email 'nobody@example.org' in organisation 'acme'")):
        await erase_person(org, "nobody@example.org")
    assert await Person.filter(organization=org).count() == 3


async def test_people_are_listed_by_department_with_their_active_flag(db: object) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    await import_people(
        org, (HEADER + "ada@example.org,Ada Lovelace,Engineering,,leader,en\n").encode(), deactivate_missing=True
    )
    records = await list_people(org)
    assert [(r.email, r.department, r.active) for r in records] == [
        ("ada@example.org", "Engineering", True),
        ("bob@example.org", "Sales", False),
        ("cy@example.org", "Sales", False),
    ]
    assert [r.email for r in await list_people(org, department="sales")] == ["bob@example.org", "cy@example.org"]
    with pytest.raises(NotFound, match="no department 'Nowhere'"):
        await list_people(org, department="Nowhere")


async def test_a_concurrent_import_of_the_same_people_is_a_conflict_and_rolls_back(
    db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await _org()
    await import_people(org, BASE.encode())
    before = await _snapshot(org)

    async def nobody_yet(organization: Organization, connection: object = None) -> dict[str, Person]:
        return {}  # as if another import inserted everyone after this one read the directory

    monkeypatch.setattr(people_service, "_existing_people", nobody_yet)
    with pytest.raises(Conflict, match="another import"):
        await import_people(org, (BASE + "new@example.org,New,Research,,,\n").encode())
    assert await _snapshot(org) == before
    assert not await Department.filter(name="Research").exists()


async def test_another_spelling_of_a_mailbox_is_refused_in_the_file_and_against_the_directory(db: object) -> None:
    organization = await create_organization("mbx", "Mailbox Test")
    body = "email,name,department\nhr@acme.test,H R,HR\nHR+pad@acme.test,Pad,Legal\n"
    with pytest.raises(ImportRejected) as refused:
        await people_service.import_people(organization, body)
    assert refused.value.problems == [
        "row 3: hr+pad@acme.test is the same mailbox as hr@acme.test (row 2): one mailbox, one person"
    ]
    await people_service.import_people(organization, "email,name,department\nhr@acme.test,H R,HR\n")
    with pytest.raises(ImportRejected) as refused:
        await people_service.import_people(organization, "email,name,department\nhr+1@acme.test,Pad,Legal\n")
    assert refused.value.problems == [
        "row 2: hr+1@acme.test is the same mailbox as hr@acme.test, already in the directory: one mailbox, one person"
    ]
    assert await Person.filter(organization=organization).count() == 1

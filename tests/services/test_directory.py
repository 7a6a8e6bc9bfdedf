from __future__ import annotations

import pytest

from pulse.errors import InvalidInput
from pulse.services.deactivation import set_person_active
from pulse.services.directory import department_sizes, people_page
from pulse.services.organizations import create_organization
from pulse.services.people import import_people

CSV = (
    b"email,name,department\n"
    + b"".join(f"s{i}@acme.test,Sales Person {i},Sales\n".encode() for i in range(7))
    + b"".join(f"t{i}@acme.test,Store Person {i},Stores\n".encode() for i in range(5))
)


async def test_people_are_searched_in_any_case_and_paged_in_sql(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    other = await create_organization("other", "Other")
    await import_people(acme, CSV)
    await import_people(other, b"email,name,department\nsales@other.test,Sales Outsider,Sales\n")
    first = await people_page(acme, query="SALES", per_page=3)
    assert (first.total, first.pages, first.page) == (7, 3, 1)
    assert [p.email for p in first.people] == ["s0@acme.test", "s1@acme.test", "s2@acme.test"]
    last = await people_page(acme, query="sales", page=99, per_page=3)
    assert (last.page, [p.email for p in last.people]) == (3, ["s6@acme.test"])
    by_email = await people_page(acme, query="t4@")
    assert [p.name for p in by_email.people] == ["Store Person 4"]
    assert (await people_page(acme, query="outsider")).total == 0


async def test_department_sizes_count_active_and_inactive_people(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    await import_people(acme, CSV)
    await set_person_active(acme, "T0@acme.test", False)
    sizes = [(d.name, d.active, d.inactive) for d in await department_sizes(acme)]
    assert sizes == [("Sales", 7, 0), ("Stores", 4, 1)]


async def test_bad_page_sizes_are_refused(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    with pytest.raises(InvalidInput, match="per_page 0"):
        await people_page(acme, per_page=0)

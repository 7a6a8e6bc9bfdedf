from __future__ import annotations

import pytest

from pulse.errors import ImportRejected, InvalidInput, NotFound
from pulse.models import Department, Organization, Person
from pulse.services.directory import unit_tree
from pulse.services.organizations import create_organization
from pulse.services.people import import_people, list_people
from pulse.services.units import load_units

HEADER = "email,name,department\n"
TREE = (
    HEADER
    + "chief@example.org,Chief,Retail\n"
    + "north@example.org,North Lead,Retail / Stores North\n"
    + "s12a@example.org,A,Retail / Stores North / Store 12\n"
    + "s12b@example.org,B,retail/stores north/Store 12\n"
    + "s3@example.org,C,Retail/Stores North/Store 3\n"
    + "wh@example.org,D,Operations / Warehouse\n"
    + "fin@example.org,E,Finance\n"
)


async def _org() -> Organization:
    return await create_organization("acme", "Acme")


async def _parents(org: Organization) -> dict[str, str | None]:
    units = await Department.filter(organization=org).prefetch_related("parent")
    return {u.name: (u.parent.name if u.parent else None) for u in units}


async def test_a_department_path_creates_the_unit_and_every_unit_above_it(db: object) -> None:
    org = await _org()
    summary = await import_people(org, TREE.encode())
    assert (summary.created, summary.departments_created) == (7, 7)
    assert await _parents(org) == {
        "Retail": None,
        "Retail / Stores North": "Retail",
        "Retail / Stores North / Store 12": "Retail / Stores North",
        "Retail / Stores North / Store 3": "Retail / Stores North",
        "Operations": None,
        "Operations / Warehouse": "Operations",
        "Finance": None,
    }
    # Two spellings of one path are one unit; people sit in inner units as well as in leaves.
    b = await Person.get(email="s12b@example.org").prefetch_related("department")
    chief = await Person.get(email="chief@example.org").prefetch_related("department")
    assert (b.department.name, chief.department.name) == ("Retail / Stores North / Store 12", "Retail")
    again = await import_people(org, TREE.encode())
    assert (again.unchanged, again.departments_created) == (7, 0)


async def test_a_flat_file_still_imports_as_top_level_units(db: object) -> None:
    org = await _org()
    await import_people(org, (HEADER + "a@example.org,A,Sales\nb@example.org,B,Customer  Service\n").encode())
    assert await _parents(org) == {"Sales": None, "Customer Service": None}


async def test_reimporting_moves_people_and_a_whole_subtree(db: object) -> None:
    org = await _org()
    await import_people(org, TREE.encode())
    store_12 = await Department.get(organization=org, name="Retail / Stores North / Store 12")
    # Stores North moves under a new region level: every person below it moves with it.
    moved = TREE.replace("Retail / Stores North", "Retail / Regions / North").replace(
        "retail/stores north", "Retail/Regions/North"
    )
    moved = moved.replace("Retail/Stores North", "Retail/Regions/North")
    summary = await import_people(org, moved.encode())
    assert (summary.updated, summary.departments_created) == (4, 4)
    parents = await _parents(org)
    assert parents["Retail / Regions"] == "Retail"
    assert parents["Retail / Regions / North / Store 12"] == "Retail / Regions / North"
    b = await Person.get(email="s12b@example.org").prefetch_related("department")
    assert b.department.name == "Retail / Regions / North / Store 12"
    # The old units stay (past rounds refer to them) but nobody sits in them any more.
    assert await Department.exists(id=store_12.id)
    assert not await Person.filter(department_id=store_12.id).exists()
    names = [s.label for s in await unit_tree(org) if s.active_below]
    assert "Retail / Stores North" not in names and "Retail / Regions / North / Store 12" in names


@pytest.mark.parametrize(
    ("department", "message"),
    [
        ("Retail / / Store 12", "row 2: department: unit path 'Retail / / Store 12' has an empty level (level 2)"),
        ("Retail /", "row 2: department: unit path 'Retail /' has an empty level (level 2)"),
        ("A/B/C/D/E/F/G/H/I", "row 2: department: unit path 'A/B/C/D/E/F/G/H/I' has 9 levels; at most 8"),
    ],
)
async def test_a_bad_department_path_is_refused_naming_the_row(db: object, department: str, message: str) -> None:
    org = await _org()
    with pytest.raises(ImportRejected) as rejected:
        await import_people(org, f"{HEADER}a@example.org,A,{department}\n".encode())
    assert rejected.value.problems[0].startswith(message)
    assert not await Department.filter(organization=org).exists()


async def test_listing_a_unit_lists_everyone_in_its_subtree_in_tree_order(db: object) -> None:
    org = await _org()
    await import_people(org, TREE.encode())
    north = await list_people(org, department="retail / stores north")
    assert [r.email for r in north] == ["north@example.org", "s12a@example.org", "s12b@example.org", "s3@example.org"]
    everyone = await list_people(org)
    assert [r.department for r in everyone][:2] == ["Finance", "Operations / Warehouse"]
    with pytest.raises(NotFound, match="Retail / Nowhere"):
        await list_people(org, department="Retail / Nowhere")


async def test_the_directory_tree_counts_people_in_each_unit_and_below_it(db: object) -> None:
    org = await _org()
    await import_people(org, TREE.encode())
    tree = {s.label: (s.depth, s.active, s.active_below) for s in await unit_tree(org)}
    assert tree == {
        "Finance": (1, 1, 1),
        "Operations": (1, 0, 1),
        "Operations / Warehouse": (2, 1, 1),
        "Retail": (1, 1, 5),
        "Retail / Stores North": (2, 1, 4),
        "Retail / Stores North / Store 12": (3, 2, 2),
        "Retail / Stores North / Store 3": (3, 1, 1),
    }
    assert [s.label for s in await unit_tree(org, unit="Retail / Stores North")] == [
        "Retail / Stores North",
        "Retail / Stores North / Store 12",
        "Retail / Stores North / Store 3",
    ]


async def test_a_name_stored_before_units_had_levels_gets_its_parent_at_the_next_import(db: object) -> None:
    org = await _org()
    legacy = await Department.create(organization=org, name="Sales / Inside")
    await import_people(org, (HEADER + "a@example.org,A,Sales/Inside\n").encode())
    legacy = await Department.get(id=legacy.id).prefetch_related("parent")
    assert legacy.parent is not None and legacy.parent.name == "Sales"
    units = await load_units(org.id)
    assert units.subtree_ids(("Sales",)) == sorted([legacy.id, legacy.parent.id])


async def test_a_round_for_a_unit_invites_everyone_in_its_subtree(db: object) -> None:
    from pulse.models import Invitation
    from pulse.services.rounds import open_round

    org = await _org()
    extra = "".join(f"x{i}@example.org,X{i},Retail / Stores South / Store 40\n" for i in range(6))
    await import_people(org, (TREE + extra).encode())
    opened = await open_round(org, departments=["retail / stores north", "Retail/Stores South"])
    invited = await Invitation.filter(round_id=opened.id).prefetch_related("department")
    assert sorted({i.department.name for i in invited}) == [
        "Retail / Stores North",
        "Retail / Stores North / Store 12",
        "Retail / Stores North / Store 3",
        "Retail / Stores South / Store 40",
    ]
    assert len(invited) == 10
    with pytest.raises(InvalidInput, match="unknown department 'Retail / West'"):
        await open_round(org, departments=["Retail / West"])

"""Leaders and API keys scoped to units: their subtrees' figures and the organisation's, nothing else;
404 for a round that covers none of their units, on every page and API route that serves a report."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from pulse.errors import InvalidInput, NotFound
from pulse.models import Organization, User, UserRole
from pulse.services.api_keys import create_api_key
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.reports import build_report
from pulse.services.rounds import close_round, open_round
from pulse.services.users import create_user
from pulse.settings import Settings
from tests.web.conftest import PASSWORD, ApiFor, ClientFor, answer

UNITS = ["Retail / North / Store 1", "Retail / North / Store 2", "Retail / South / Store 3", "Operations / Warehouse"]
OUTSIDE_NORTH = ("Store 3", "South", "Warehouse", "Operations")


@dataclass
class Tree:
    org: Organization
    whole: int  # a round of the whole organisation
    warehouse: int  # a round of Operations / Warehouse only
    store_1: int  # a round of Retail / North / Store 1 only
    north: User  # leader scoped to Retail / North
    chief: User  # leader of the whole organisation
    north_key: str


async def _round(org: Organization, settings: Settings, units: list[str] | None, answers: int) -> int:
    opened = await open_round(org, departments=units)
    await answer(opened.id, settings.secret_key, answers)
    await close_round(opened.id)
    await build_report(opened.id, settings)
    return opened.id


@pytest.fixture
async def tree(db: Settings, quick_pdf: None) -> Tree:
    org = await create_organization("treeco", "Tree Co")
    lines = ["email,name,department"]
    lines += [f"p{u}-{i}@treeco.test,P {u} {i},{unit}" for u, unit in enumerate(UNITS) for i in range(10)]
    await import_people(org, ("\n".join(lines) + "\n").encode())
    return Tree(
        org=org,
        whole=await _round(org, db, None, 40),
        warehouse=await _round(org, db, ["Operations / Warehouse"], 10),
        store_1=await _round(org, db, ["Retail / North / Store 1"], 10),
        north=await create_user(
            "north@treeco.test", PASSWORD, role=UserRole.LEADER, organization=org, units=["retail/north"]
        ),
        chief=await create_user("chief@treeco.test", PASSWORD, role=UserRole.LEADER, organization=org),
        north_key=(await create_api_key(org, "north dashboard", units=["Retail / North"]))[1],
    )


async def test_a_scoped_leader_reads_their_subtree_and_the_organisation_and_nothing_else(
    tree: Tree, client_for: ClientFor
) -> None:
    client = await client_for(tree.north)
    page = await client.get(f"/reports/{tree.whole}")
    assert page.status_code == 200
    assert "Your scope: Retail / North" in page.text
    assert [name for name in OUTSIDE_NORTH if name in page.text] == []
    model = (await client.get(f"/reports/{tree.whole}/download/json")).json()
    assert [d["name"] for d in model["departments"]] == UNITS[:2]
    assert model["participation"]["invited"] == 40  # the organisation's figures, for context
    assert [name for name in OUTSIDE_NORTH if name in json.dumps(model)] == []
    csv_text = (await client.get(f"/reports/{tree.whole}/download/csv")).text
    assert "Store 1" in csv_text and [name for name in OUTSIDE_NORTH if name in csv_text] == []
    assert (await client.get(f"/reports/{tree.store_1}")).status_code == 200


async def test_a_scoped_leader_lands_on_the_latest_report_of_their_scope(tree: Tree, client_for: ClientFor) -> None:
    client = await client_for(tree.north)
    home = await client.get("/")
    # The latest round (Store 1 only) covers their units; the Warehouse round before it does not.
    assert home.headers["location"] == f"/reports/{tree.store_1}"
    assert "Your scope: Retail / North" in (await client.get(home.headers["location"])).text
    assert (await (await client_for(tree.chief)).get("/")).headers["location"] == "/orgs/treeco/reports"


async def test_a_round_outside_a_scoped_leaders_units_is_404_on_every_route(tree: Tree, client_for: ClientFor) -> None:
    client = await client_for(tree.north)
    for path in (
        f"/reports/{tree.warehouse}",
        *(f"/reports/{tree.warehouse}/download/{f}" for f in ("pdf", "json", "csv")),
    ):
        assert (await client.get(path)).status_code == 404, path
    listing = (await client.get("/orgs/treeco/reports")).text
    assert f"/reports/{tree.whole}" in listing and f"/reports/{tree.warehouse}" not in listing
    # The unscoped leader reads every round, the whole organisation.
    chief = await client_for(tree.chief)
    assert (await chief.get(f"/reports/{tree.warehouse}")).status_code == 200
    whole = (await chief.get(f"/reports/{tree.whole}/download/json")).json()
    assert "Your scope" not in (await chief.get(f"/reports/{tree.whole}")).text
    assert {d["name"] for d in whole["departments"]} == set(UNITS)


async def test_a_scoped_api_key_reads_like_a_scoped_leader(tree: Tree, api_for: ApiFor) -> None:
    api = api_for(tree.north_key)
    model = (await api.get(f"/api/v1/rounds/{tree.whole}/report")).json()
    assert [d["name"] for d in model["departments"]] == UNITS[:2]
    for suffix in ("report", "report.csv", "report.pdf"):
        assert (await api.get(f"/api/v1/rounds/{tree.warehouse}/{suffix}")).status_code == 404
    # It reads reports only: managing the organisation is refused.
    assert (await api.get(f"/api/v1/rounds/{tree.whole}")).status_code == 403


async def test_only_a_leader_can_be_scoped_and_only_to_units_that_exist(tree: Tree) -> None:
    with pytest.raises(InvalidInput, match="only a leader account can be scoped"):
        await create_user("hr@treeco.test", PASSWORD, role=UserRole.HR, organization=tree.org, units=["Retail"])
    with pytest.raises(NotFound, match="no unit 'Retail / West'"):
        await create_user("w@treeco.test", PASSWORD, role=UserRole.LEADER, organization=tree.org, units=["Retail/West"])

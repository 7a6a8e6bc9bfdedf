from __future__ import annotations

import json

from pulse.models import AuditEvent, Invitation, Person, Report, Round, Schedule
from pulse.settings import Settings
from tests.web.conftest import ApiFor, ClientFor, Keys, Rounds, StatefulApp, World, people_csv


async def test_without_a_valid_key_every_call_is_refused_with_a_json_401(api_for: ApiFor, keys: Keys) -> None:
    for client in (api_for(None), api_for("pulse_not-a-real-key"), api_for("garbage")):
        response = await client.get("/api/v1/people")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_revoked_key_stops_working(api_for: ApiFor, keys: Keys, world: World) -> None:
    from pulse.models import ApiKey
    from pulse.services.api_keys import revoke_api_key

    client = api_for(keys.acme)
    assert (await client.get("/api/v1/organization")).json()["slug"] == "acme"
    stored = await ApiKey.get(organization_id=world.acme.id)
    await revoke_api_key(stored.id)
    assert (await client.get("/api/v1/organization")).status_code == 401


async def test_people_import_from_a_csv_body_and_list_with_search(api_for: ApiFor, keys: Keys) -> None:
    client = api_for(keys.acme)
    body = b"email,name,department\nnew.one@acme.test,New One,Support\nnew.two@acme.test,New Two,Support\n"
    response = await client.post("/api/v1/people/import", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    assert response.json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "deactivated": 0,
        "reactivated": 0,
        "departments_created": 1,
    }
    listed = (await client.get("/api/v1/people", params={"q": "support", "per_page": 1})).json()
    assert (listed["total"], listed["pages"], len(listed["people"])) == (2, 2, 1)
    assert listed["people"][0]["email"] == "new.one@acme.test"


async def test_a_bad_import_lists_every_problem_by_row_and_changes_nothing(
    api_for: ApiFor, keys: Keys, world: World
) -> None:
    before = await Person.filter(organization_id=world.acme.id).count()
    body = b"email,name,department\nnot-an-email,X,Sales\nok@acme.test,,Sales\n"
    response = await api_for(keys.acme).post(
        "/api/v1/people/import", content=body, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "import_rejected"
    assert [p.split(":")[0] for p in error["problems"]] == ["row 2", "row 3"]
    assert await Person.filter(organization_id=world.acme.id).count() == before


async def test_an_import_larger_than_the_limit_is_refused_with_413(db: Settings, world: World, keys: Keys) -> None:
    import httpx

    from pulse.web.app import create_app

    small = create_app(db.with_overrides(max_body_size=2048), manage_database=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=small),
        base_url="http://pulse.test",
        headers={"authorization": f"Bearer {keys.acme}"},
    ) as client:
        body = people_csv({"Huge": 200}, domain="big.test")
        response = await client.post("/api/v1/people/import", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not await Person.filter(email__endswith="@big.test").exists()


async def test_schedules_are_created_listed_paused_resumed_and_deleted(api_for: ApiFor, keys: Keys) -> None:
    client = api_for(keys.acme)
    created = await client.post(
        "/api/v1/schedules", json={"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9", "open_days": 5}
    )
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert (schedule["timezone"], schedule["open_days"], schedule["active"]) == ("Europe/Paris", 5, True)
    assert schedule["next_run_local"].endswith("T09:00:00")
    listed = (await client.get("/api/v1/schedules")).json()["schedules"]
    assert [s["id"] for s in listed] == [schedule["id"]]
    paused = await client.post(f"/api/v1/schedules/{schedule['id']}/pause")
    assert paused.json()["active"] is False
    resumed = await client.post(f"/api/v1/schedules/{schedule['id']}/resume")
    assert resumed.json()["active"] is True
    assert (await client.delete(f"/api/v1/schedules/{schedule['id']}")).status_code == 204
    assert not await Schedule.exists(id=schedule["id"])


async def test_bad_schedules_are_refused_with_a_stable_code(api_for: ApiFor, keys: Keys) -> None:
    client = api_for(keys.acme)
    for body, message in [
        ({"rrule": "FREQ=HOURLY"}, "FREQ=HOURLY is not supported"),
        ({}, "rrule is required"),
        ({"rrule": "FREQ=WEEKLY", "open_days": "seven"}, "open_days must be a whole number"),
        ({"rrule": "FREQ=WEEKLY", "surprise": 1}, "unknown field 'surprise'"),
    ]:
        response = await client.post("/api/v1/schedules", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "invalid_input"
        assert message in response.json()["error"]["message"]
    not_json = await client.post("/api/v1/schedules", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["error"]["message"]


async def test_a_round_is_opened_reminded_and_closed_and_its_jobs_are_queued(
    app: StatefulApp, api_for: ApiFor, keys: Keys, db: Settings
) -> None:
    client = api_for(keys.acme)
    opened = await client.post("/api/v1/rounds", json={"closes_in_days": 3})
    assert opened.status_code == 201, opened.text
    round_id = opened.json()["id"]
    assert opened.json()["status"] == "open"
    queue = app.state["queue"]
    await queue.drain()
    assert not queue.failures
    # The invitations were sent in the background, one email per person (outbox in embedded mode).
    assert len(list(db.outbox_dir.glob("*.eml"))) == 15
    got = (await client.get(f"/api/v1/rounds/{round_id}")).json()
    assert got["id"] == round_id and got["item_count"] > 0
    reminded = await client.post(f"/api/v1/rounds/{round_id}/remind")
    assert reminded.status_code == 202
    await queue.drain()
    closed = await client.post(f"/api/v1/rounds/{round_id}/close")
    assert closed.json()["status"] == "closed"
    await queue.drain()
    assert not queue.failures
    assert (await client.get(f"/api/v1/rounds/{round_id}/report")).status_code == 200
    assert [r["id"] for r in (await client.get("/api/v1/rounds")).json()["rounds"]] == [round_id]
    actions = [event.action for event in await AuditEvent.filter(organization_id__not_isnull=True)]
    assert "people.import" in actions


async def test_a_closed_round_cannot_be_reminded(app: StatefulApp, api_for: ApiFor, keys: Keys, rounds: Rounds) -> None:
    refused = await api_for(keys.acme).post(f"/api/v1/rounds/{rounds.acme_closed}/remind")
    assert refused.status_code == 422
    assert (
        refused.json()["error"]["message"] == f"round {rounds.acme_closed} is closed: reminders go only to open rounds"
    )
    assert await Invitation.filter(round_id=rounds.acme_closed, reminded_at__not_isnull=True).count() == 0


async def test_participation_is_counts_only_within_the_disclosure_rules(
    api_for: ApiFor, keys: Keys, rounds: Rounds, db: Settings
) -> None:
    from tests.web.conftest import answer

    client = api_for(keys.acme)
    await answer(rounds.acme_open, db.secret_key, 3)
    body = (await client.get(f"/api/v1/rounds/{rounds.acme_open}/participation")).json()
    # An open round: a coarse snapshot. 3 answers are "fewer than 5", not a number.
    assert (body["invited"], body["responded"], body["responded_band"]) == (15, None, "fewer than 5")
    assert body["coarse"] is True and body["snapshot_at"] is not None
    # No department has k=5 answers yet, so none is shown separately; nothing names a person.
    assert body["departments"] == [] and body["departments_hidden"] == 3
    assert "@" not in json.dumps(body)


async def test_reports_download_as_json_csv_and_pdf(api_for: ApiFor, keys: Keys, rounds: Rounds) -> None:
    client = api_for(keys.acme)
    model = await client.get(f"/api/v1/rounds/{rounds.acme_closed}/report")
    assert model.status_code == 200
    report = model.json()
    # 13 people answered; the released count carries privacy noise, the same as the stored report's.
    stored = await Report.get(round_id=rounds.acme_closed)
    assert report["participation"] == (stored.model or {})["participation"]
    assert abs(report["participation"]["responded"] - 13) <= 4 and report["min_group_size"] == 5
    hidden = [d for d in report["departments"] if d["name"] == "Logistics"]
    assert hidden and hidden[0]["suppressed"] is True and not hidden[0].get("scores")
    csv = await client.get(f"/api/v1/rounds/{rounds.acme_closed}/report.csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("department,dimension")
    pdf = await client.get(f"/api/v1/rounds/{rounds.acme_closed}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    still_open = await client.get(f"/api/v1/rounds/{rounds.acme_open}/report")
    assert still_open.status_code == 409 and still_open.json()["error"]["code"] == "round_open"
    assert still_open.json()["error"]["message"].startswith(f"round {rounds.acme_open} is open until ")


async def test_a_round_that_does_not_exist_and_a_huge_id_are_404(api_for: ApiFor, keys: Keys) -> None:
    client = api_for(keys.acme)
    for round_id in (999999, 2**40):
        response = await client.get(f"/api/v1/rounds/{round_id}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_the_openapi_schema_describes_exactly_the_api_routes(api_for: ApiFor, app: StatefulApp) -> None:
    from starlette.routing import Route

    schema = (await api_for(None).get("/api/v1/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in schema["paths"].items() for method in item}
    routed = set()
    for route in app.app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/v1"):
            path = route.path.replace(":int", "")
            routed |= {(path, m) for m in (route.methods or set()) if m != "HEAD"}
    assert documented == routed
    assert await Round.all().count() == 0


async def test_a_signed_in_session_does_not_open_the_api(client_for: ClientFor, world: World) -> None:
    # The API takes bearer keys only, so a browser's cookies can never be used against it cross-site.
    alice = await client_for(world.alice)
    response = await alice.get("/api/v1/people")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"

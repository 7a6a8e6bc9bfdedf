"""End to end: an HR system provisions people through SCIM on a real ``pulse serve``, HR opens a round
with the real CLI, and the invitations arrive on a real SMTP server on loopback; a person the HR system
deactivated gets none, and one it deleted is gone."""

from __future__ import annotations

import asyncio
import json
import re

import httpx

from pulse import db as pulse_db
from pulse.models import Invitation
from pulse.settings import Settings
from tests.conftest import SmtpCapture
from tests.e2e.server import pulse_env, run_pulse, serve
from tests.scim.conftest import start_scim_server

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _user(index: int, department: str) -> dict[str, object]:
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": f"u{index}@acme.test",
        "externalId": f"hr-{index}",
        "displayName": f"Person {index}",
        "emails": [{"value": f"person{index}@acme.test", "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE: {"department": department},
    }


async def test_people_provisioned_through_scim_get_their_invitations_by_email(
    sqlite_settings: Settings, smtp_server: SmtpCapture
) -> None:
    settings, token, _, listener = await start_scim_server(sqlite_settings)
    env = pulse_env(settings, PULSE_SMTP_URL=smtp_server.url)
    async with (
        serve(env, listener=listener) as base_url,  # type: ignore[arg-type]
        httpx.AsyncClient(base_url=f"{base_url}/scim/v2", headers={"authorization": f"Bearer {token}"}) as scim,
    ):
        ids = []
        for index in range(12):
            response = await scim.post("/Users", json=_user(index, "Stores" if index % 2 else "Sales"))
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        }
        assert (await scim.patch(f"/Users/{ids[10]}", json=patch)).status_code == 200
        assert (await scim.delete(f"/Users/{ids[11]}")).status_code == 204
        listed = (await scim.get("/Users")).json()
        assert listed["totalResults"] == 11

        code, out, err = await run_pulse(env, "round", "open", "acme", "--json")
        assert code == 0, err
        round_id = json.loads(out)["id"]
        for _ in range(200):
            if len(smtp_server.messages) >= 10:
                break
            await asyncio.sleep(0.05)

    recipients = sorted(str(message["To"]) for message in smtp_server.messages)
    assert recipients == sorted(f"Person {i} <person{i}@acme.test>" for i in range(10))
    for message in smtp_server.messages:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        assert re.search(rf"{re.escape(base_url)}/s/[A-Za-z0-9_-]{{20,}}", body.get_content())
    async with pulse_db.database(settings):
        assert await Invitation.filter(round_id=round_id).count() == 10

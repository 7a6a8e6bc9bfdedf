"""Schema-driven tests of /api/v1: schemathesis generates requests from /api/v1/openapi.json.

The first test keeps everything in-process: schemathesis's own runners call the app through
Starlette's TestClient in another thread and event loop, while the ORM's connections belong to this
test's loop, so schemathesis generates the cases (hypothesis, no I/O), this test sends them through
httpx in its own loop, and schemathesis checks the responses (no 5xx, status code, content type, body).

The second runs the schemathesis command itself, with every check it has (negative data must be
refused, schema-valid data accepted, methods a path lacks answered 405 with the right Allow header,
missing auth refused, stateful links, ...), against a real ``pulse serve``, and must find nothing.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from pulse.db import database
from pulse.services import people, schedules
from pulse.services import rounds as round_service
from pulse.services.api_keys import create_api_key
from pulse.services.organizations import create_organization
from pulse.settings import Settings
from pulse.web.openapi import schema
from tests.e2e.server import pulse_serve
from tests.web.conftest import BASE_URL, ApiFor, Keys, Rounds, StatefulApp
from tests.workers.harness import environment

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Operations that change state go last, so the reads also see the objects before they are removed.
ORDER = {"GET": 0, "POST": 1, "DELETE": 2}


def _generate() -> list[Any]:
    """Cases for every operation, generated without sending anything."""
    loaded = schemathesis.openapi.from_dict(schema())
    cases: list[Any] = []
    operations = []
    for result in loaded.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"the schema has an invalid operation: {result.err()}")
        operations.append(result.ok())
    for operation in sorted(operations, key=lambda op: ORDER[op.method.upper()]):

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            database=None,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def collect(case: Any) -> None:
            cases.append(case)

        collect()
    return cases


async def _send(client: httpx.AsyncClient, case: Any, key: str) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers={"authorization": f"Bearer {key}"})
    body = kwargs.get("data")
    if "json" in kwargs:
        content = None
        json_body = kwargs["json"]
    else:
        json_body = None
        content = body.encode() if isinstance(body, str) else body
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        json=json_body,
        content=content,
    )


@pytest.mark.slow
async def test_generated_requests_get_no_server_error_and_responses_match_the_schema(
    app: StatefulApp, keys: Keys, rounds: Rounds
) -> None:
    cases = _generate()
    # Generated ids almost never exist: also aim some of each id-taking operation at real objects.
    real_ids = {"round_id": [rounds.acme_closed, rounds.acme_open], "schedule_id": []}
    from pulse.services.schedules import add_schedule

    schedule = await add_schedule("acme", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9")
    real_ids["schedule_id"] = [schedule.id]
    aimed = []
    for case in cases:
        for name, ids in real_ids.items():
            if case.path_parameters and name in case.path_parameters:
                for real in ids:
                    aimed.append(case.operation.Case(path_parameters={name: real}, query=case.query, body=case.body))
    statuses: dict[str, set[int]] = {}
    failures: list[str] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        for case in sorted(cases + aimed, key=lambda c: ORDER[c.method.upper()]):
            response = await _send(client, case, keys.acme)
            statuses.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as failure:  # collect them all, report together
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {failure}")
    assert not failures, "\n\n".join(failures[:10])
    # The run reached real data, not only 404s and 422s.
    assert 200 in statuses["GET /api/v1/rounds/{round_id}/report"]
    assert 200 in statuses["GET /api/v1/people"] and 201 in statuses["POST /api/v1/rounds"]


#: Where schema-valid data may still be refused with 422, and why: what decides it is not expressible
#: in JSON Schema (the refusal is documented in each operation's 422 response). Every other check,
#: and this one for every other operation, runs as schemathesis ships it.
SCHEMATHESIS_CONFIG = """
# The CSV's content: emails, duplicate rows, departments, roles (a string schema cannot say which are valid).
[[operations]]
include-path = "/api/v1/people/import"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# RRULE grammar, departments that must exist, rounds that would overlap, rules that never happen.
[[operations]]
include-path = "/api/v1/schedules"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Departments that must exist; a scope too small to be anonymous.
[[operations]]
include-path = "/api/v1/rounds"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# The round's state: a closed round is not reminded (the rule the CLI and the web app share).
[[operations]]
include-path = "/api/v1/rounds/{round_id}/remind"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"""


async def _seed(settings: Settings) -> str:
    """Organisation acme with 24 people, a closed round, an open round and a schedule; an API key."""
    async with database(settings):
        organization = await create_organization("acme", "Acme")
        rows = "".join(f"p{i}@acme.test,Person {i},Team {i % 2}\n" for i in range(24))
        await people.import_people(organization, "email,name,department\n" + rows)
        closed = await round_service.open_round(organization)
        await round_service.close_round(closed.id)
        await round_service.open_round(organization)
        await schedules.add_schedule("acme", "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9")
        _, key = await create_api_key(organization, "schemathesis")
        return key


@pytest.mark.slow
async def test_schemathesis_with_every_check_against_a_real_server_finds_nothing(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    key = await _seed(sqlite_settings)
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG, encoding="utf-8")
    async with pulse_serve(environment(sqlite_settings), tmp_path / "serve.log") as url:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "st"),
            "--config-file",
            str(config),
            "run",
            f"{url}/api/v1/openapi.json",
            "--checks",
            "all",
            "--header",
            f"Authorization: Bearer {key}",
            "--max-examples",
            "10",
            "--workers",
            "1",
            "--generation-deterministic",
            "--no-color",
            cwd=str(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 600)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-8000:]
    # Every operation was tested (schemathesis leaves out the URL it loaded the schema from).
    operations = sum(len(methods) for methods in schema()["paths"].values()) - 1
    assert f"{operations} selected / {operations} total" in report and "FAILURES" not in report, report[-8000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in report, f"{phase} did not pass:\n{report[-8000:]}"


async def test_the_schema_and_the_api_agree_on_the_inputs_schemathesis_found(api_for: ApiFor, keys: Keys) -> None:
    components = schema()["components"]["schemas"]
    client = api_for(keys.acme)
    # A path with GET and POST answers another method with 405 naming both (it said "HEAD, GET").
    refused = await client.request("OPTIONS", "/api/v1/rounds")
    assert refused.status_code == 405
    assert set(refused.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
    # The schema says integer, and to JSON Schema 29.0 is an integer: the API takes it as 29.
    assert "integer" in components["RoundCreate"]["properties"]["closes_in_days"]["type"]
    opened = await client.post("/api/v1/rounds", json={"closes_in_days": 29.0})
    assert opened.status_code == 201, opened.text
    # An empty start, an impossible date, an offset: refused by the schema's pattern and by the API alike.
    pattern = components["ScheduleCreate"]["properties"]["start"]["pattern"]
    for start in ("", "2026-02-30T09:00", "2026-03-02T09:00+01:00", "2027-02-29"):
        assert re.search(pattern, start) is None
        answer = await client.post("/api/v1/schedules", json={"rrule": "FREQ=MONTHLY;BYDAY=1MO", "start": start})
        assert answer.status_code == 422 and "start must be a local date-time" in answer.text
    for start in ("2028-02-29T09:00", "2026-12-31", "2026-03-02T09:00:30"):
        assert re.search(pattern, start) is not None
    # An empty CSV: the schema wants at least one character, the API refuses it.
    body = schema()["paths"]["/api/v1/people/import"]["post"]["requestBody"]["content"]["text/csv"]["schema"]
    assert body["minLength"] == 1
    empty = await client.post("/api/v1/people/import", content=b"", headers={"content-type": "text/csv"})
    assert empty.status_code == 422

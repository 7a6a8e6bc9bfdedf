"""Schema-driven test of /api/v1: schemathesis generates requests from /api/v1/openapi.json and every
response must be no 5xx and must match the schema (status code, content type, body).

Schemathesis's own runners call the app through Starlette's TestClient in another thread and event
loop, while the ORM's connections belong to this test's loop. So schemathesis generates the cases
(hypothesis, no I/O), this test sends them through httpx in its own loop, and schemathesis checks the
responses.
"""

from __future__ import annotations

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

from pulse.web.openapi import schema
from tests.web.conftest import BASE_URL, Keys, Rounds, StatefulApp

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

"""Benchmark: answered survey submissions per second against a real server on PostgreSQL.

Run: .venv/bin/pytest tests/perf/bench_submissions.py -p no:xdist -s -o norecursedirs=

The load generator runs on the same machine: ``wrk`` (C, one thread, 50 connections, each request a
different link) when installed, otherwise an httpx AsyncClient with 50 concurrent connections, which
itself costs about as much CPU as the server. Every request is a full POST of a 10-item form with an
eNPS and a comment, answered through the real transaction (round FOR SHARE, conditional UPDATE of the
invitation, response + 10 answers). The figure counted is answered invitations in the database per
second of load, so refused or failed requests do not count. CPU seconds per process group show what
limits the rate.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from tortoise import connections

from pulse import db as pulse_db
from pulse.models import Invitation
from pulse.services.rounds import open_round
from pulse.services.tokens import token_for
from pulse.settings import Settings, configure
from tests.anonymity.population import populate
from tests.conftest import make_settings
from tests.e2e.server import pulse_env, serve_process

PEOPLE = 24_000
SECONDS = 10
CONNECTIONS = 50
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command, CPU seconds so far), from /proc."""
    result: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        result[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return result


def _tree(root: int, processes: dict[int, tuple[int, str, float]]) -> set[int]:
    members = {root}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _, _) in processes.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return members


async def _backend_pids(database: str) -> set[int]:
    rows = await connections.get("default").execute_query_dict(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]
    )
    return {int(row["pid"]) for row in rows}


def _cpu(pids: set[int], processes: dict[int, tuple[int, str, float]]) -> float:
    return sum(processes[pid][2] for pid in pids if pid in processes)


async def _wrk(base_url: str, tokens: list[str], body: str, tmp: Path) -> None:
    (tmp / "tokens.txt").write_text("\n".join(tokens) + "\n")
    script = tmp / "post.lua"
    script.write_text(
        f"""
local tokens = {{}}
for line in io.lines("{tmp / "tokens.txt"}") do tokens[#tokens + 1] = line end
local i = 0
local body = "{body}"
local headers = {{["Content-Type"] = "application/x-www-form-urlencoded"}}
request = function()
  i = i + 1
  return wrk.format("POST", "/s/" .. tokens[(i - 1) % #tokens + 1], headers, body)
end
"""
    )
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", str(script), base_url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    print(out.decode())


async def _httpx(base_url: str, tokens: list[str], body: str) -> None:
    queue = list(reversed(tokens))
    deadline = time.monotonic() + SECONDS
    headers = {"content-type": "application/x-www-form-urlencoded"}
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def user() -> None:
            while queue and time.monotonic() < deadline:
                await client.post(f"/s/{queue.pop()}", content=body, headers=headers)

        await asyncio.gather(*(user() for _ in range(CONNECTIONS)))


async def _population(settings: Settings) -> tuple[list[str], str]:
    org = await populate({f"Department {d:02d}": PEOPLE // 40 for d in range(40)}, slug="bench")
    opened = await open_round(org)
    salts = await Invitation.filter(round_id=opened.id).order_by("id").values_list("token_salt", flat=True)
    tokens = [token_for(str(salt), settings.secret_key) for salt in salts]
    form = {key: str(n % 5 + 1) for n, key in enumerate(opened.item_keys)}
    form.update({"enps": "8", "comment": "The new rota works better than the old one."})
    return tokens, urlencode(form)


@pytest.mark.parametrize("workers", [2, 1])
@pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_answered_submissions_per_second_on_postgres(database_url: str, tmp_path: Path, workers: int) -> None:
    # A pool per server process big enough for 50 connections' worth of short transactions.
    settings = make_settings(tmp_path, f"{database_url}?minsize=4&maxsize=12")
    configure(settings)
    try:
        async with pulse_db.database(settings):
            tokens, body = await _population(settings)
            warmup, measured = tokens[:1000], tokens[1000:]
            async with serve_process(pulse_env(settings), workers=workers) as server:
                base_url = server.base_url
                await _httpx(base_url, warmup, body)
                before_answered = await Invitation.filter(answered=True).count()
                backends = await _backend_pids(database_url.rsplit("/", 1)[-1])
                before = _processes()
                server_pids = _tree(server.pid, before)
                load_before = os.getloadavg()[0]
                started = time.monotonic()
                if shutil.which("wrk"):
                    await _wrk(base_url, measured, body, tmp_path)
                    generator = "wrk"
                else:
                    await _httpx(base_url, measured, body)
                    generator = "httpx"
                elapsed = time.monotonic() - started
                after = _processes()
                cpu = {
                    "server": _cpu(server_pids, after) - _cpu(server_pids, before),
                    "postgres backends": _cpu(backends, after) - _cpu(backends, before),
                    "wrk": sum(c for _, n, c in after.values() if n == "wrk")
                    - sum(c for _, n, c in before.values() if n == "wrk"),
                }
            answered = await Invitation.filter(answered=True).count() - before_answered
    finally:
        configure(None)
    rate = answered / elapsed
    print(
        f"\nsubmissions: {answered} answered in {elapsed:.1f} s = {rate:.0f}/s "
        f"(uvicorn workers={workers}, load={generator} x{CONNECTIONS}, PostgreSQL, {os.cpu_count()} cores)"
    )
    print(
        "CPU seconds during the run: "
        + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
        + f"; server CPU per answer {1000 * cpu['server'] / max(answered, 1):.2f} ms"
        + f"; machine load average {load_before:.1f} (other work on the same 2 cores)"
    )
    assert answered > 0

"""A client that goes away halfway through its request body is an everyday event: a real ``pulse
serve`` logs it as one quiet line, without a traceback (it used to write two ERROR lines with full
tracebacks for each), and without the survey link's token."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pulse.settings import Settings
from tests.e2e.server import log_lines, pulse_serve
from tests.workers.harness import environment

TOKEN = "aTokenThatMustNotBeLoggedEither0123456789"
MESSAGE = "client disconnected before sending the whole request"


async def _send_half_a_body(base_url: str, path: str) -> None:
    """Announce a 3,000-byte form, send a few bytes of it, and hang up."""
    address = urlsplit(base_url)
    _reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3000\r\n\r\nemail=a"
        ).encode()
    )
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()
    await writer.wait_closed()


async def _quiet_lines(log: Path, count: int) -> list[dict[str, object]]:
    for _ in range(200):
        found = [line for line in log_lines(log) if line.get("message") == MESSAGE]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    pytest.fail(f"no {MESSAGE!r} line in the log:\n{log.read_text()[-3000:]}")


async def test_a_client_that_disconnects_mid_body_leaves_one_quiet_line_per_request(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    async with pulse_serve(environment(sqlite_settings), log) as url:
        await _send_half_a_body(url, "/login")
        await _send_half_a_body(url, f"/s/{TOKEN}")
        quiet = await _quiet_lines(log, 2)
    lines = log_lines(log)
    assert sorted(str(line["path"]) for line in quiet) == ["/login", "/s/[link]"]
    assert all(line["level"] in ("INFO", "WARNING") and "error" not in line for line in quiet)
    assert len(quiet) == 2, quiet
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    text = log.read_text()
    assert "Traceback" not in text and TOKEN not in text

"""X-Forwarded-For is believed only from the proxies named in PULSE_TRUSTED_PROXIES (default: none).

Played against the real ``pulse serve``: a client that forges the header must not pick the address
the sign-in limit counts, nor the one the access log shows.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from pulse.errors import ConfigurationError
from pulse.settings import Settings, load
from tests.e2e.server import log_lines, pulse_serve
from tests.workers.harness import environment

FORGED = "203.0.113.77"


async def _failed_sign_in(client: httpx.AsyncClient, forged: str) -> None:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = await client.post(
        "/login",
        data={"email": "nobody@example.org", "password": "wrong password", "csrf_token": token.group(1)},
        headers={"X-Forwarded-For": forged, "X-Forwarded-Proto": "https"},
    )
    assert answer.status_code in (401, 403, 429), answer.status_code


def _database_text(settings: Settings) -> str:
    """Everything the database holds, as SQL text (whatever the sign-in limit's tables are called)."""
    path = settings.database_url.removeprefix("sqlite://")
    with sqlite3.connect(path) as connection:
        return "\n".join(connection.iterdump())


def _login_lines(log: Path) -> list[str]:
    return [str(line["message"]) for line in log_lines(log) if "/login" in str(line["message"])]


async def _play(settings: Settings, tmp_path: Path, **env: str) -> tuple[str, list[str]]:
    log = tmp_path / "serve.log"
    async with (
        pulse_serve(environment(settings) | env, log) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        for _ in range(2):
            await _failed_sign_in(client, FORGED)
    return _database_text(settings), _login_lines(log)


async def test_a_forged_forwarded_for_changes_neither_the_sign_in_limit_key_nor_the_log_line(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    stored, lines = await _play(sqlite_settings, tmp_path)
    assert "127.0.0.1" in stored, "the failed sign-ins are counted against the address that connected"
    assert FORGED not in stored
    assert len(lines) >= 4 and all("127.0.0.1" in line and FORGED not in line for line in lines), lines


async def test_a_proxy_named_in_the_setting_is_believed(sqlite_settings: Settings, tmp_path: Path) -> None:
    stored, lines = await _play(sqlite_settings, tmp_path, PULSE_TRUSTED_PROXIES="10.9.8.7, 127.0.0.0/8")
    assert FORGED in stored
    posts = [line for line in lines if "POST /login" in line]
    assert posts and all(FORGED in line for line in posts), lines


def test_the_setting_takes_addresses_and_networks_and_refuses_anything_else(tmp_path: Path) -> None:
    base = {"PULSE_VAR_DIR": str(tmp_path)}
    assert load(base).trusted_proxies == ()
    assert load({**base, "PULSE_TRUSTED_PROXIES": " 10.0.0.5 , 172.31.240.0/24,,::1"}).trusted_proxies == (
        "10.0.0.5/32",
        "172.31.240.0/24",
        "::1/128",
    )
    # A host bit set is the network it belongs to, not a silent typo.
    assert load({**base, "PULSE_TRUSTED_PROXIES": "10.1.2.3/8"}).trusted_proxies == ("10.0.0.0/8",)
    for bad in ("*", "proxy.internal", "10.0.0.300", "10.0.0.0/33"):
        with pytest.raises(ConfigurationError, match="PULSE_TRUSTED_PROXIES"):
            load({**base, "PULSE_TRUSTED_PROXIES": bad})

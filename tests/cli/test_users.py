from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pulse import db as pulse_db
from pulse.models import ApiKey, User
from pulse.services.api_keys import authenticate_api_key
from pulse.services.organizations import create_organization
from pulse.settings import Settings
from tests.conftest import SECRET

T = TypeVar("T")


def _pulse(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PULSE_DATABASE_URL": settings.database_url,
        "PULSE_SECRET_KEY": SECRET,
        "PULSE_VAR_DIR": str(settings.var_dir),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "pulse"), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _in_db(settings: Settings, coroutine_factory: Callable[[], Awaitable[T]]) -> T:
    async with pulse_db.database(settings):
        return await coroutine_factory()


def test_user_create_makes_an_hr_account_from_a_password_on_stdin(sqlite_settings: Settings) -> None:
    asyncio.run(_in_db(sqlite_settings, lambda: create_organization("acme", "Acme")))
    done = _pulse(
        sqlite_settings,
        "user",
        "create",
        "Alice@Acme.test",
        "--role",
        "hr",
        "--org",
        "acme",
        "--name",
        "Alice",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "created hr account alice@acme.test of acme"
    user = asyncio.run(_in_db(sqlite_settings, lambda: User.get(email="alice@acme.test")))
    assert user.password_hash.startswith("$argon2id$") and user.name == "Alice"


def test_user_create_refuses_bad_input_with_one_line(sqlite_settings: Settings) -> None:
    short = _pulse(
        sqlite_settings, "user", "create", "a@b.test", "--role", "admin", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 1 and short.stderr.strip().startswith("pulse: error: password is too short")
    no_org = _pulse(sqlite_settings, "user", "create", "a@b.test", "--role", "hr", "--password-stdin", stdin="x" * 20)
    assert no_org.returncode == 1 and "needs an organisation" in no_org.stderr
    assert len(no_org.stderr.strip().splitlines()) == 1
    assert asyncio.run(_in_db(sqlite_settings, lambda: User.all().count())) == 0


def test_apikey_create_prints_the_key_once_and_revoke_disables_it(sqlite_settings: Settings) -> None:
    asyncio.run(_in_db(sqlite_settings, lambda: create_organization("acme", "Acme")))
    created = _pulse(sqlite_settings, "apikey", "create", "acme", "HRIS sync")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("pulse_") and "not kept" in created.stderr
    stored = asyncio.run(_in_db(sqlite_settings, lambda: ApiKey.get(name="HRIS sync")))
    assert key not in stored.key_hash
    assert asyncio.run(_in_db(sqlite_settings, lambda: authenticate_api_key(key))).id == stored.id
    revoked = _pulse(sqlite_settings, "apikey", "revoke", str(stored.id))
    assert revoked.returncode == 0 and "revoked API key" in revoked.stdout
    unknown = _pulse(sqlite_settings, "apikey", "revoke", "9999")
    assert unknown.returncode == 1 and "no API key with id 9999" in unknown.stderr

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pulse import db as pulse_db
from pulse.errors import NotAuthenticated
from pulse.models import ApiKey, AuditEvent, User
from pulse.services import sessions, users
from pulse.services.api_keys import authenticate_api_key, create_api_key
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


def _account_with_session_and_key(settings: Settings) -> str:
    """acme's HR account alice, signed in once and holding an API key she created; returns the key."""

    async def make() -> str:
        acme = await create_organization("acme", "Acme")
        alice = await users.create_user("alice@acme.test", "a long enough password", role="hr", organization=acme)
        await sessions.start(alice)
        _, key = await create_api_key(acme, "alice's sync", created_by=alice)
        return key

    return asyncio.run(_in_db(settings, make))


def test_user_disable_and_enable_end_sessions_and_stop_the_accounts_api_keys_until_enabled(
    sqlite_settings: Settings,
) -> None:
    key = _account_with_session_and_key(sqlite_settings)
    disabled = _pulse(sqlite_settings, "user", "disable", "Alice@Acme.test")
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.strip().startswith("disabled alice@acme.test: signed out everywhere")

    async def state() -> tuple[bool, int, bool]:
        alice = await User.get(email="alice@acme.test")
        try:
            await authenticate_api_key(key)
            key_works = True
        except NotAuthenticated:
            key_works = False
        return alice.active, await sessions.count(alice), key_works

    assert asyncio.run(_in_db(sqlite_settings, state)) == (False, 0, False)
    enabled = _pulse(sqlite_settings, "user", "enable", "alice@acme.test")
    assert enabled.returncode == 0 and enabled.stdout.strip() == "enabled alice@acme.test"
    assert asyncio.run(_in_db(sqlite_settings, state)) == (True, 0, True)
    events = asyncio.run(
        _in_db(sqlite_settings, lambda: AuditEvent.filter(actor="cli").values_list("action", flat=True))
    )
    assert sorted(events) == ["apikey.create", "user.disable", "user.enable"]


def test_user_reset_password_prints_a_one_time_password_or_takes_one_on_stdin(sqlite_settings: Settings) -> None:
    _account_with_session_and_key(sqlite_settings)
    printed = _pulse(sqlite_settings, "user", "reset-password", "alice@acme.test")
    assert printed.returncode == 0, printed.stderr
    one_time = printed.stdout.strip()
    assert len(one_time) == 16 and "one-time password" in printed.stderr and one_time not in printed.stderr

    async def signs_in(password: str) -> tuple[bool, bool, int]:
        alice = await users.authenticate("alice@acme.test", password, client="cli-test")
        return alice.must_change_password, alice.password_hash.startswith("$argon2id$"), await sessions.count(alice)

    assert asyncio.run(_in_db(sqlite_settings, lambda: signs_in(one_time))) == (True, True, 0)
    chosen = _pulse(
        sqlite_settings, "user", "reset-password", "alice@acme.test", "--password-stdin", stdin="chosen by the admin\n"
    )
    assert chosen.returncode == 0 and chosen.stdout.strip().startswith("reset the password of alice@acme.test")
    assert "chosen by the admin" not in chosen.stdout + chosen.stderr
    assert asyncio.run(_in_db(sqlite_settings, lambda: signs_in("chosen by the admin")))[0] is True


def test_account_commands_refuse_unknown_emails_and_short_passwords_with_one_line(sqlite_settings: Settings) -> None:
    for command in ("disable", "enable", "reset-password"):
        done = _pulse(sqlite_settings, "user", command, "nobody@acme.test")
        assert done.returncode == 1 and done.stderr.strip() == "pulse: error: no account with email 'nobody@acme.test'"
        helped = _pulse(sqlite_settings, "user", command, "--help")
        assert helped.returncode == 0 and "EMAIL" in helped.stdout
    _account_with_session_and_key(sqlite_settings)
    short = _pulse(sqlite_settings, "user", "reset-password", "alice@acme.test", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and short.stderr.strip().startswith("pulse: error: password is too short")
    assert len(short.stderr.strip().splitlines()) == 1


def test_user_units_changes_what_a_leader_reads_with_an_audit_entry(sqlite_settings: Settings) -> None:
    """`pulse user units`: the service of the Leaders page (units resolved by path, each with its subtree;
    an unknown one refused by name and nothing changed; an audit entry per change)."""
    from pulse.models import Department
    from pulse.services.people import import_people

    async def setup() -> None:
        acme = await create_organization("acme", "Acme")
        people = ["email,name,department", "a@acme.test,A,Retail / Stores North", "b@acme.test,B,Finance"]
        await import_people(acme, ("\n".join(people) + "\n").encode())
        await users.create_user("boss@acme.test", "a long enough password", role="leader", organization=acme)
        await users.create_user("hr@acme.test", "a long enough password", role="hr", organization=acme)

    asyncio.run(_in_db(sqlite_settings, setup))

    def leader() -> User:
        return asyncio.run(_in_db(sqlite_settings, lambda: User.get(email="boss@acme.test")))

    async def ids(*names: str) -> list[int]:
        return sorted([d.id for d in await Department.filter(name__in=names)])

    done = _pulse(
        sqlite_settings, "user", "units", "Boss@Acme.test", "--unit", "retail / stores north", "--unit", "FINANCE"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "boss@acme.test now reads Finance, Retail / Stores North\n" and done.stderr == ""
    assert leader().unit_ids == asyncio.run(_in_db(sqlite_settings, lambda: ids("Retail / Stores North", "Finance")))
    again = _pulse(
        sqlite_settings, "user", "units", "boss@acme.test", "--unit", "Finance", "--unit", "Retail / Stores North"
    )
    assert again.stdout == "boss@acme.test now reads Finance, Retail / Stores North (unchanged)\n"
    events = asyncio.run(_in_db(sqlite_settings, lambda: AuditEvent.filter(action="user.scope").order_by("id")))
    assert [(e.actor, e.detail["user"], sorted(e.detail["units"])) for e in events] == [
        ("cli", "boss@acme.test", ["Finance", "Retail / Stores North"])
    ]
    # An identity provider that sets leaders' units at every sign-in: the change holds until then, and
    # the command says so (as the Leaders page does).
    from pulse.models import SsoConfig

    organization_id = leader().organization_id
    asyncio.run(
        _in_db(
            sqlite_settings,
            lambda: SsoConfig.create(
                organization_id=organization_id,
                issuer="https://id.acme.test",
                client_id="pulse",
                client_secret_encrypted="x",
                scope_claim="pulse_units",
            ),
        )
    )
    whole = _pulse(sqlite_settings, "user", "units", "boss@acme.test", "--whole-organisation")
    assert whole.returncode == 0 and whole.stdout == "boss@acme.test now reads the whole organisation\n"
    assert "claim 'pulse_units'): this lasts until boss@acme.test next signs in with it" in whole.stderr
    assert leader().unit_ids is None
    assert asyncio.run(_in_db(sqlite_settings, lambda: AuditEvent.filter(action="user.scope").count())) == 2


def test_user_units_refuses_bad_input_with_one_line_and_changes_nothing(sqlite_settings: Settings) -> None:
    async def setup() -> None:
        acme = await create_organization("acme", "Acme")
        from pulse.services.people import import_people

        await import_people(acme, b"email,name,department\na@acme.test,A,Retail / Stores North\n")
        await users.create_user("boss@acme.test", "a long enough password", role="leader", organization=acme)
        await users.create_user("hr@acme.test", "a long enough password", role="hr", organization=acme)

    asyncio.run(_in_db(sqlite_settings, setup))
    for args, message in (
        (
            ["boss@acme.test", "--unit", "Retail / Stores South"],
            "no unit 'Retail / Stores South' in organisation 'acme'",
        ),
        (["boss@acme.test", "--unit", "Retail //"], "has an empty level"),
        (["boss@acme.test"], "give --unit PATH (repeatable) or --whole-organisation, exactly one of them"),
        (["boss@acme.test", "--unit", "Retail", "--whole-organisation"], "exactly one of them"),
        (
            ["hr@acme.test", "--unit", "Retail"],
            "hr@acme.test is not a leader account: only leaders are scoped to units",
        ),
        (["nobody@acme.test", "--whole-organisation"], "no account with email 'nobody@acme.test'"),
    ):
        done = _pulse(sqlite_settings, "user", "units", *args)
        assert done.returncode == 1 and done.stdout == "", (args, done.stdout)
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("pulse: error: ") and message in line, (args, line)
    boss = asyncio.run(_in_db(sqlite_settings, lambda: User.get(email="boss@acme.test")))
    assert boss.unit_ids is None
    assert not asyncio.run(_in_db(sqlite_settings, lambda: AuditEvent.exists(action="user.scope")))
    helped = _pulse(sqlite_settings, "user", "units", "--help")
    assert helped.returncode == 0 and "--whole-organisation" in helped.stdout

from __future__ import annotations

from datetime import timedelta

import pytest

from pulse import clock
from pulse.errors import Conflict, InvalidInput, NotAuthenticated
from pulse.models import SignInFailure, User, UserRole
from pulse.services.organizations import create_organization
from pulse.services.users import FAILURE_WINDOW, MAX_FAILURES, SignInThrottled, authenticate, create_user

PASSWORD = "correct horse battery"


async def test_a_password_is_stored_only_as_an_argon2_hash_and_signs_in(db: object) -> None:
    acme = await create_organization("acme", "Acme")
    await create_user("Alice@Example.org ", PASSWORD, role="hr", organization=acme, name="Alice")
    stored = await User.get(email="alice@example.org")
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    user = await authenticate("alice@example.org", PASSWORD, client="10.0.0.1")
    assert user.id == stored.id
    assert (await User.get(id=user.id)).last_login_at is not None


@pytest.mark.parametrize(
    ("email", "password", "role", "with_org", "message"),
    [
        ("not-an-email", PASSWORD, "hr", True, "malformed email 'not-an-email'"),
        ("a@example.org", "short", "hr", True, "too short"),
        ("a@example.org", PASSWORD, "boss", True, "unknown role 'boss'"),
        ("a@example.org", PASSWORD, "hr", False, "needs an organisation"),
        ("a@example.org", PASSWORD, "admin", True, "admin sees every organisation"),
    ],
)
async def test_bad_accounts_are_refused_and_nothing_is_written(
    db: object, email: str, password: str, role: str, with_org: bool, message: str
) -> None:
    acme = await create_organization("acme", "Acme")
    with pytest.raises(InvalidInput, match=message):
        await create_user(email, password, role=role, organization=acme if with_org else None)
    assert await User.all().count() == 0


async def test_an_email_has_one_account(db: object) -> None:
    await create_user("root@example.org", PASSWORD, role=UserRole.ADMIN)
    with pytest.raises(Conflict, match=r"root@example\.org"):
        await create_user("ROOT@example.org", PASSWORD, role=UserRole.ADMIN)


async def test_wrong_password_unknown_email_and_inactive_account_fail_alike(db: object) -> None:
    user = await create_user("root@example.org", PASSWORD, role=UserRole.ADMIN)
    with pytest.raises(NotAuthenticated, match="wrong email or password"):
        await authenticate("root@example.org", "wrong password!", client="a")
    with pytest.raises(NotAuthenticated, match="wrong email or password"):
        await authenticate("nobody@example.org", PASSWORD, client="b")
    user.active = False
    await user.save()
    with pytest.raises(NotAuthenticated, match="wrong email or password"):
        await authenticate("root@example.org", PASSWORD, client="c")


async def test_sign_in_is_throttled_per_email_even_with_the_right_password(
    db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_user("root@example.org", PASSWORD, role=UserRole.ADMIN)
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    for attempt in range(MAX_FAILURES):
        with pytest.raises(NotAuthenticated):
            await authenticate("root@example.org", f"guess number {attempt}", client=f"10.0.0.{attempt}")
    with pytest.raises(SignInThrottled) as throttled:
        await authenticate("root@example.org", PASSWORD, client="10.9.9.9")
    assert throttled.value.status_code == 429
    assert 0 < throttled.value.retry_after <= FAILURE_WINDOW.total_seconds()
    # Once the failures leave the window the right password works again.
    monkeypatch.setattr(clock, "now", lambda: start + FAILURE_WINDOW + timedelta(seconds=1))
    assert (await authenticate("root@example.org", PASSWORD, client="10.9.9.9")).email == "root@example.org"


async def test_sign_in_is_throttled_per_client_across_many_emails(db: object) -> None:
    await create_user("root@example.org", PASSWORD, role=UserRole.ADMIN)
    for attempt in range(MAX_FAILURES):
        with pytest.raises(NotAuthenticated):
            await authenticate(f"user{attempt}@example.org", PASSWORD, client="203.0.113.7")
    with pytest.raises(SignInThrottled):
        await authenticate("root@example.org", PASSWORD, client="203.0.113.7")
    # Another client is not affected, and its success clears the email's failures only.
    await authenticate("root@example.org", PASSWORD, client="198.51.100.1")
    assert await SignInFailure.filter(key="client:203.0.113.7").count() == MAX_FAILURES

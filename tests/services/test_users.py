from __future__ import annotations

import pytest

from pulse.errors import Conflict, InvalidInput, NotAuthenticated
from pulse.models import User, UserRole
from pulse.services.organizations import create_organization
from pulse.services.users import authenticate, create_user

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

"""``pulse org sso``: configuring an organisation's OpenID provider from the command line."""

from __future__ import annotations

import asyncio

from pulse.models import SsoConfig
from pulse.services.organizations import create_organization
from pulse.settings import Settings
from tests.cli.test_users import _in_db, _pulse


def test_org_sso_configures_the_provider_and_reads_the_secret_from_stdin(sqlite_settings: Settings) -> None:
    asyncio.run(_in_db(sqlite_settings, lambda: create_organization("acme", "Acme")))
    args = ["org", "sso", "acme", "--issuer", "https://id.acme.test/realms/acme", "--client-id", "pulse"]
    configured = _pulse(
        sqlite_settings,
        *args,
        "--client-secret",
        "-",
        "--domain",
        "acme.test",
        "--role",
        "pulse-hr=hr",
        "--jit",
        "--no-password-sign-in",
        stdin="s3cret-from-stdin\n",
    )
    assert configured.returncode == 0, configured.stderr
    assert "redirect URI" in configured.stdout and "s3cret" not in configured.stdout
    config = asyncio.run(_in_db(sqlite_settings, lambda: SsoConfig.get(organization__slug="acme")))
    assert (config.jit, config.password_sign_in, config.role_map) == (True, False, {"pulse-hr": "hr"})
    assert "s3cret" not in config.client_secret_encrypted

    admin = _pulse(sqlite_settings, "org", "sso", "acme", "--role", "ops=admin")
    assert admin.returncode == 1 and "cannot make admins" in admin.stderr
    removed = _pulse(sqlite_settings, "org", "sso", "acme", "--remove")
    assert removed.returncode == 0 and "removed" in removed.stdout
    again = _pulse(sqlite_settings, "org", "sso", "acme", "--remove")
    assert again.returncode == 1 and "has no single sign-on" in again.stderr


def test_scim_token_prints_the_token_once_and_revoke_disables_it(sqlite_settings: Settings) -> None:
    from pulse.models import ScimToken
    from pulse.services.scim import authenticate_scim_token

    asyncio.run(_in_db(sqlite_settings, lambda: create_organization("acme", "Acme")))
    created = _pulse(sqlite_settings, "scim", "token", "acme", "--name", "Entra ID")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("pulse_scim_") and "shown once" in created.stderr
    stored = asyncio.run(_in_db(sqlite_settings, lambda: ScimToken.get(name="Entra ID")))
    assert token not in stored.token_hash
    found = asyncio.run(_in_db(sqlite_settings, lambda: authenticate_scim_token(token)))
    assert found.id == stored.id
    revoked = _pulse(sqlite_settings, "scim", "revoke", str(stored.id))
    assert revoked.returncode == 0 and "revoked SCIM token" in revoked.stdout
    unknown = _pulse(sqlite_settings, "scim", "token", "nope")
    assert unknown.returncode == 1 and "no organisation" in unknown.stderr

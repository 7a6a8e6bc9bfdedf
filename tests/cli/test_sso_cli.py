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

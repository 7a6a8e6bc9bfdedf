"""``pulse user`` and ``pulse apikey``: web accounts and API keys."""

from __future__ import annotations

import sys

import click

from pulse.cli.base import with_database
from pulse.errors import InvalidInput
from pulse.models import SsoConfig, UserRole
from pulse.services import api_keys, users
from pulse.services.organizations import get_organization


@click.group("user")
def user_group() -> None:
    """Manage web accounts (HR, leaders, admins)."""


@user_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in UserRole]),
    required=True,
    help="admin: every organisation; hr: manages one; leader: reads its reports.",
)
@click.option("--org", "slug", default=None, help="The organisation (required for hr and leader).")
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option(
    "--unit",
    "units",
    multiple=True,
    help="A leader reads only this unit and everything below it ('Retail / Stores North'); repeatable.",
)
def create_user(
    email: str, role: str, slug: str | None, name: str, password_stdin: bool, units: tuple[str, ...]
) -> None:
    """Create the account EMAIL (asks for the password unless --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _create_user(email, role, slug, name, password, units)


@with_database
async def _create_user(
    email: str, role: str, slug: str | None, name: str, password: str, units: tuple[str, ...] = ()
) -> None:
    organization = await get_organization(slug) if slug else None
    if role == UserRole.ADMIN and organization is not None:
        raise InvalidInput("an admin sees every organisation: leave out --org")
    user = await users.create_user(email, password, role=role, organization=organization, name=name, units=units)
    where = f" of {organization.slug}" if organization else ""
    if units:
        where += f", scoped to {', '.join(units)}"
    click.echo(f"created {user.role} account {user.email}{where}")


@user_group.command("units")
@click.argument("email")
@click.option(
    "--unit",
    "units",
    multiple=True,
    metavar="PATH",
    help="The leader reads this unit and everything below it ('Retail / Stores North'); repeat for several. "
    "Replaces the units it read before.",
)
@click.option("--whole-organisation", is_flag=True, help="The leader reads the whole organisation.")
@with_database
async def set_units(email: str, units: tuple[str, ...], whole_organisation: bool) -> None:
    """Change what the leader account EMAIL reads: some units (--unit, repeatable) or the whole
    organisation (--whole-organisation). Unknown units are refused by name and nothing changes; a
    change is written to the audit log and holds from the leader's next click."""
    if bool(units) == whole_organisation:
        raise InvalidInput("give --unit PATH (repeatable) or --whole-organisation, exactly one of them")
    user = await users.get_user_by_email(email)
    before = user.unit_ids
    await users.set_scope(user, None if whole_organisation else list(units), actor="cli")
    reads = "the whole organisation" if user.unit_ids is None else ", ".join(await users.scope_paths(user))
    click.echo(f"{user.email} now reads {reads}" + ("" if user.unit_ids != before else " (unchanged)"))
    config = await SsoConfig.get_or_none(organization_id=user.organization_id)
    if config is not None and config.scope_claim:
        click.echo(
            f"note: the organisation's identity provider sets leaders' units at every sign-in "
            f"(claim {config.scope_claim!r}): this lasts until {user.email} next signs in with it",
            err=True,
        )


@user_group.command("disable")
@click.argument("email")
@with_database
async def disable_user(email: str) -> None:
    """Disable the account EMAIL: it cannot sign in, its sessions end now, and the API keys it created stop working."""
    user = await users.set_user_active(email, False, actor="cli")
    click.echo(f"disabled {user.email}: signed out everywhere; its API keys refused until it is enabled")


@user_group.command("enable")
@click.argument("email")
@with_database
async def enable_user(email: str) -> None:
    """Enable the account EMAIL again (it signs in anew; the API keys it created work again)."""
    user = await users.set_user_active(email, True, actor="cli")
    click.echo(f"enabled {user.email}")


@user_group.command("reset-password")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of standard input instead of printing a random one.",
)
def reset_password(email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password and end its sessions; prints a random one-time password (unless
    --password-stdin). Either way the user must choose their own password at the next sign-in."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    _reset_password(email, password)


@with_database
async def _reset_password(email: str, password: str | None) -> None:
    user, new = await users.reset_password(email, password, actor="cli")
    if password is not None:
        click.echo(f"reset the password of {user.email}: signed out everywhere; a new one is due at the next sign-in")
        return
    click.echo(
        f"reset the password of {user.email}: signed out everywhere; give them this one-time password "
        "(it must be changed at the next sign-in, and is not kept):",
        err=True,
    )
    click.echo(new)


@click.group("apikey")
def apikey_group() -> None:
    """Manage API keys (one organisation each)."""


@apikey_group.command("create")
@click.argument("slug")
@click.argument("name")
@click.option(
    "--unit",
    "units",
    multiple=True,
    help="The key reads only the reports of this unit's subtree, like a scoped leader; repeatable.",
)
@with_database
async def create_key(slug: str, name: str, units: tuple[str, ...]) -> None:
    """Create an API key for organisation SLUG, named NAME; the key is printed once, never again."""
    organization = await get_organization(slug)
    api_key, key = await api_keys.create_api_key(organization, name, units=units)
    click.echo(
        f"created API key {api_key.id} ({api_key.name}) for {organization.slug}; store it now, it is not kept:",
        err=True,
    )
    click.echo(key)


@apikey_group.command("revoke")
@click.argument("key_id", type=int)
@with_database
async def revoke_key(key_id: int) -> None:
    """Revoke the API key with id KEY_ID."""
    api_key = await api_keys.revoke_api_key(key_id)
    click.echo(f"revoked API key {api_key.id} ({api_key.name}, {api_key.prefix}…)")


COMMANDS: list[click.Command] = [user_group, apikey_group]

"""``pulse scim``: tokens for directory sync (SCIM 2.0) of one organisation."""

from __future__ import annotations

import click

from pulse.cli.base import with_database
from pulse.services import organizations, scim


@click.group("scim")
def scim_group() -> None:
    """Directory sync (SCIM 2.0) tokens."""


@scim_group.command("token")
@click.argument("slug")
@click.option("--name", default="SCIM provisioning", show_default=True, help="What uses the token.")
@with_database
async def token(slug: str, name: str) -> None:
    """Create a bearer token for SLUG's SCIM endpoint (printed once; only a keyed hash is kept)."""
    organization = await organizations.get_organization(slug)
    row, secret = await scim.create_scim_token(organization, name)
    click.echo(secret)
    click.echo(
        f"SCIM token {row.id} ({row.name}) for {organization.slug}: the token above is shown once and not kept; "
        "the endpoint is PULSE_BASE_URL/scim/v2",
        err=True,
    )


@scim_group.command("revoke")
@click.argument("token_id", type=int)
@with_database
async def revoke(token_id: int) -> None:
    """Revoke the SCIM token TOKEN_ID."""
    row = await scim.revoke_scim_token(token_id)
    click.echo(f"revoked SCIM token {row.id} ({row.name})")


COMMANDS = [scim_group]

"""``pulse org``: organisations."""

from __future__ import annotations

import click

from pulse.cli.base import with_database
from pulse.services import organizations


@click.group("org")
def org_group() -> None:
    """Manage organisations."""


@org_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. 'Acme Retail'.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone for schedules.")
@click.option(
    "--min-group-size",
    type=int,
    default=organizations.DEFAULT_MIN_GROUP_SIZE,
    show_default=True,
    help="k: no figure is shown for fewer people (at least 3).",
)
@click.option(
    "--comment-threshold",
    type=int,
    default=organizations.DEFAULT_COMMENT_THRESHOLD,
    show_default=True,
    help="Comments are shown only for groups with at least this many responses.",
)
@with_database
async def create(slug: str, name: str, timezone: str, min_group_size: int, comment_threshold: int) -> None:
    """Create the organisation SLUG."""
    organization = await organizations.create_organization(
        slug, name, timezone=timezone, min_group_size=min_group_size, comment_threshold=comment_threshold
    )
    click.echo(f"created organisation {organization.slug} ({organization.name}), k={organization.min_group_size}")


COMMANDS = [org_group]

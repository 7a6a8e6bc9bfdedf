"""``pulse db``: the database schema."""

from __future__ import annotations

import asyncio

import click

from pulse import db as database
from pulse.settings import get_settings


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
def upgrade() -> None:
    """Bring the database to the latest schema (safe to run again)."""
    applied = asyncio.run(database.upgrade(get_settings()))
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("the database is up to date")


COMMANDS = [db_group]

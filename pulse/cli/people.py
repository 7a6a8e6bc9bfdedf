"""``pulse people``: the people directory (CSV import, listing, GDPR erasure)."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from pulse.cli.base import print_json, with_database
from pulse.errors import ImportRejected
from pulse.services import directory, people
from pulse.services.organizations import get_organization


@click.group("people")
def people_group() -> None:
    """Manage the people who are surveyed."""


class _ProgressLine:
    """A single stderr line rewritten per chunk; only on a terminal, so logs and pipes stay clean."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total and sys.stderr.isatty():
            sys.stderr.write(f"\rwriting people: {done}/{total} ({done * 100 // total}%)")
            sys.stderr.flush()
            self.shown = True

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


@people_group.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--deactivate-missing",
    is_flag=True,
    help="Deactivate active people who are not in the file (nobody is deleted).",
)
@with_database
async def import_command(slug: str, file: Path, deactivate_missing: bool) -> None:
    """Import people from FILE (CSV: email,name,department[,manager_email,role,locale]).

    The whole file is refused, with every problem listed by row, if any row is bad.
    """
    organization = await get_organization(slug)
    progress = _ProgressLine()
    try:
        summary = await people.import_people(
            organization, file.read_bytes(), deactivate_missing=deactivate_missing, progress=progress
        )
    except ImportRejected as rejected:
        progress.finish()
        click.echo(f"pulse: error: {rejected.summary}", err=True)
        for problem in rejected.listing:
            click.echo(f"  {problem}", err=True)
        # SystemExit, not click's Exit: `pulse` runs click without standalone mode, which would turn
        # Exit(1) into a return value and exit 0.
        raise SystemExit(1) from None
    progress.finish()
    click.echo(f"{organization.slug}: {summary}")


@people_group.command("erase")
@click.argument("slug")
@click.argument("email")
@with_database
async def erase_command(slug: str, email: str) -> None:
    """Erase the person with EMAIL for good (GDPR). Their past answers stay, anonymous as ever."""
    organization = await get_organization(slug)
    await people.erase_person(organization, email)
    click.echo(f"{organization.slug}: erased {people.normalize_email(email)}")


@people_group.command("list")
@click.argument("slug")
@click.option("--unit", "--department", "unit", help="Only this unit and the units below it ('Retail / Stores North').")
@click.option("--tree", "as_tree", is_flag=True, help="Show the units as a tree with their numbers of people.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_database
async def list_command(slug: str, unit: str | None, as_tree: bool, as_json: bool) -> None:
    """List the people of SLUG, with their unit, role and whether they are active (--tree: the units)."""
    organization = await get_organization(slug)
    if as_tree:
        sizes = await directory.unit_tree(organization, unit=unit)
        if as_json:
            print_json(
                [
                    {
                        "path": list(s.path),
                        "name": s.name,
                        "depth": s.depth,
                        "active": s.active,
                        "inactive": s.inactive,
                        "active_in_subtree": s.active_below,
                    }
                    for s in sizes
                ]
            )
            return
        for size in sizes:
            indent = "  " * (size.depth - 1)
            own = f", {size.active} here" if size.active != size.active_below else ""
            click.echo(f"{indent}{size.name}  ({size.active_below} active{own})")
        click.echo(f"{len(sizes)} units")
        return
    records = await people.list_people(organization, department=unit)
    if as_json:
        print_json([asdict(record) for record in records])
        return
    headers = ("email", "name", "department", "role", "locale", "active")
    table = [(r.email, r.name, r.department, r.role, r.locale, "yes" if r.active else "no") for r in records]
    widths = [max([len(h)] + [len(row[i]) for row in table]) for i, h in enumerate(headers)]
    for row in (headers, *table):
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    active = sum(1 for r in records if r.active)
    click.echo(f"{len(records)} people ({active} active, {len(records) - active} inactive)")


COMMANDS = [people_group]

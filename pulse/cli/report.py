"""``pulse report``: export a round's report as PDF, JSON or CSV (building it first when needed)."""

from __future__ import annotations

from pathlib import Path

import click

from pulse.cli.base import with_database
from pulse.errors import InvalidInput
from pulse.services import reports
from pulse.services.rounds import get_round
from pulse.settings import get_settings


@click.command("report")
@click.argument("round_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(reports.FORMATS),
    default="pdf",
    show_default=True,
    help="pdf: the printed report; json: the report model; csv: one row per department and dimension.",
)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--rebuild", is_flag=True, help="Build the report again even if a current one is stored.")
@click.option(
    "--unit",
    "units",
    multiple=True,
    help="Only this unit and everything below it ('Retail / Stores North'), as its leader reads it; repeatable.",
)
@with_database
async def report_command(round_id: int, fmt: str, out: Path, rebuild: bool, units: tuple[str, ...]) -> None:
    """Write the report of ROUND_ID to --out; the report is built and stored first if it is not yet.

    With --unit, the report of that scope: its units, and the organisation's figures for context.
    """
    if out.parent and not out.parent.exists():
        raise InvalidInput(f"cannot write {str(out)!r}: the directory {str(out.parent)!r} does not exist")
    settings = get_settings()
    if rebuild:
        await reports.build_report(round_id, settings, force=True)
    scope = None
    if units:
        round_ = await get_round(round_id)
        scope = await reports.resolve_scope(round_.organization_id, units)
    exported = await reports.export(round_id, fmt, settings, scope=scope)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(exported.content)
    tmp.replace(out)
    what = f" ({', '.join(units)})" if units else ""
    click.echo(f"wrote {fmt} report of round {round_id}{what} to {out} ({len(exported.content)} bytes)")


COMMANDS: list[click.Command] = [report_command]

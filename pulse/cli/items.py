"""``pulse items``: the item bank."""

from __future__ import annotations

import shutil

import click

from pulse.cli.base import print_json
from pulse.domain.items import BANK


@click.group("items")
def items_group() -> None:
    """The survey items."""


@items_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: [{key, dimension, text, reverse, anchor}].")
def list_command(as_json: bool) -> None:
    """List every item of the bank: key, dimension, reverse-keyed, anchor (asked every round), text."""
    if as_json:
        print_json(
            [
                {
                    "key": item.key,
                    "dimension": item.dimension,
                    "text": item.text,
                    "reverse": item.reverse,
                    "anchor": item.anchor,
                }
                for item in BANK
            ]
        )
        return
    headers = ("key", "dimension", "reverse", "anchor", "text")
    rows = [
        (item.key, item.dimension, "yes" if item.reverse else "", "yes" if item.anchor else "", item.text)
        for item in BANK
    ]
    widths = [max([len(header)] + [len(row[i]) for row in rows]) for i, header in enumerate(headers[:-1])]
    indent = sum(widths) + 2 * len(widths)
    # Wrap the text column to the terminal so the table stays readable; pipes get 120 columns.
    text_width = max(30, shutil.get_terminal_size((120, 24)).columns - indent)
    for row in (headers, *rows):
        lines = click.wrap_text(row[-1], width=text_width).splitlines() or [""]
        fixed = "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        click.echo(f"{fixed}  {lines[0]}")
        for line in lines[1:]:
            click.echo(" " * indent + line)
    click.echo(f"{len(rows)} items; reverse = agreeing means less of the dimension; anchor = asked every round")


COMMANDS = [items_group]

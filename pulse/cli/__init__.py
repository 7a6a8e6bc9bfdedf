"""The ``pulse`` command. Each command group lives in its own module of this package."""

from __future__ import annotations

import sys

import click

from pulse.cli import db, demo, items, org, people, report, rounds, schedule, serve, users, worker
from pulse.errors import PulseError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="pulse")
def cli() -> None:
    """Pulse: anonymous pulse surveys and culture-health reports."""


for module in (db, org, people, items, rounds, report, schedule, serve, worker, demo, users):
    for command in module.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: expected errors become one line on stderr and exit 1."""
    try:
        cli.main(args=argv, prog_name="pulse", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("pulse: aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except PulseError as error:
        click.echo(f"pulse: error: {error}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)

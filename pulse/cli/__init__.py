"""The ``pulse`` command. Each command group lives in its own module of this package."""

from __future__ import annotations

import re
import sys

import click
from tortoise.exceptions import DBConnectionError, OperationalError

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
    except (DBConnectionError, ConnectionError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        click.echo(f"pulse: error: cannot reach the database ({first_line}): check PULSE_DATABASE_URL", err=True)
        sys.exit(1)
    except OperationalError as error:
        # A schema that is missing is the user's to fix; any other database error is a bug: traceback.
        if not re.search(r"no such table|relation .* does not exist", str(error)):
            raise
        click.echo(f"pulse: error: the database has no Pulse tables ({error}): run `pulse db upgrade`", err=True)
        sys.exit(1)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)

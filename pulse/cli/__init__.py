"""The ``pulse`` command. Each command group lives in its own module of this package."""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

import click
from tortoise.exceptions import DBConnectionError, OperationalError

from pulse.errors import PulseError

#: Command name -> module that defines it. Modules are imported only when their command runs: the
#: report, demo and web modules pull in numpy, scipy and Starlette, which a `pulse round remind`
#: should not wait for.
COMMAND_MODULES: dict[str, str] = {
    "db": "pulse.cli.db",
    "org": "pulse.cli.org",
    "people": "pulse.cli.people",
    "items": "pulse.cli.items",
    "round": "pulse.cli.rounds",
    "report": "pulse.cli.report",
    "schedule": "pulse.cli.schedule",
    "serve": "pulse.cli.serve",
    "worker": "pulse.cli.worker",
    "demo": "pulse.cli.demo",
    "user": "pulse.cli.users",
    "apikey": "pulse.cli.users",
    "scim": "pulse.cli.scim",
}


class LazyGroup(click.Group):
    """A group that imports a command's module the first time the command is needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, click.Command] = {}

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        return {name: self._load(name) for name in COMMAND_MODULES}

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._loaded = dict(value)

    def _load(self, name: str) -> click.Command:
        if name not in self._loaded:
            module = importlib.import_module(COMMAND_MODULES[name])
            for command in module.COMMANDS:
                if command.name is not None:
                    self._loaded[command.name] = command
        return self._loaded[name]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name) if cmd_name in COMMAND_MODULES else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="pulse")
def cli() -> None:
    """Pulse: anonymous pulse surveys and culture-health reports."""


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

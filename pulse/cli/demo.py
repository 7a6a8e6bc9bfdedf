"""``pulse demo``: a simulated organisation answering several rounds, and the PDF report it produces."""

from __future__ import annotations

import asyncio
import sys

import click

from pulse.mail import mailer_for
from pulse.services.demo import DEMO_NAME, REGION, ROUNDS, DemoProgress, JobRunner, run_demo
from pulse.settings import Settings, get_settings
from workers.queue import InProcessQueue


class _Printer(DemoProgress):
    """A line per step; a bar that redraws itself on a terminal, or a few lines when piped."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.last_tenth = -1

    def step(self, text: str) -> None:
        if self.tty:
            click.echo("\r\033[K", nl=False)
        click.echo(f"  - {text}")
        self.last_tenth = -1

    def advance(self, done: int, total: int) -> None:
        width = 30
        filled = round(width * done / total) if total else width
        bar = f"    answers [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        if self.tty:
            click.echo(f"\r{bar}", nl=False)
        elif done * 10 // max(total, 1) != self.last_tenth:
            self.last_tenth = done * 10 // max(total, 1)
            click.echo(bar)


def _jobs(settings: Settings) -> JobRunner:
    return InProcessQueue(settings, {"mailer": mailer_for(settings)})


@click.command("demo")
@click.option("--rounds", type=click.IntRange(1, 12), default=ROUNDS, show_default=True, help="Rounds to simulate.")
@click.option("--seed", type=int, default=2026, show_default=True, help="Seed of the simulation.")
def demo_command(rounds: int, seed: int) -> None:
    """Simulate an organisation of 320 people answering ROUNDS pulses and print the path of its PDF report.

    Everything happens in var/demo/ (its own SQLite database and outbox), through the real services:
    invitations are emailed into the outbox, answers go through the links in those emails. Running it
    again starts over.
    """
    settings = get_settings()
    click.echo(f"Pulse demo: {DEMO_NAME}, {rounds} rounds two weeks apart")
    result = asyncio.run(run_demo(settings, _jobs, _Printer(), rounds=rounds, seed=seed))
    click.echo("")
    click.echo(
        f"{result.answered} answers from {result.invited} invitations; {result.emails} report email(s) to leaders."
    )
    click.echo("What the report says first:")
    for finding in result.findings:
        click.echo(f"  * {finding}")
    click.echo("")
    click.echo(f"JSON: {result.json}")
    click.echo(f"CSV:  {result.csv}")
    click.echo(f"Emails (invitations, report): {result.pdf.parent / 'outbox'}")
    click.echo(f"PDF report of {REGION} (its leader's scope): {result.scoped_pdf}")
    click.echo(f"PDF report: {result.pdf}")
    click.echo(f"(done in {result.seconds:.0f} s)")


COMMANDS: list[click.Command] = [demo_command]

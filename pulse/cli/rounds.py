"""``pulse round``: open, remind, close, status, invite-late."""

from __future__ import annotations

import logging

import click

from pulse.cli.base import job_queue, print_json, with_database
from pulse.models import Invitation
from pulse.services import participation, rounds
from pulse.services.organizations import get_organization
from pulse.settings import get_settings
from workers.queue import registry

log = logging.getLogger("pulse.cli.rounds")


@click.group("round")
def round_group() -> None:
    """Open, remind and close survey rounds; see participation."""


async def _sent(round_id: int) -> int:
    return await Invitation.filter(round_id=round_id, sent_at__not_isnull=True).count()


@round_group.command("open")
@click.argument("slug")
@click.option("--closes-in-days", type=int, default=7, show_default=True, help="Days the links stay valid.")
@click.option(
    "--unit",
    "--department",
    "departments",
    multiple=True,
    metavar="PATH",
    help="Only invite this unit and every unit below it, e.g. 'Retail / Stores North' (repeat for several); "
    "default: the whole organisation.",
)
@click.option("--remind-after-days", type=int, default=None, help="Remind those who have not answered after N days.")
@click.option("--json", "as_json", is_flag=True, help='Print {"id": ...} and nothing else.')
@with_database
async def open_command(
    slug: str, closes_in_days: int, departments: tuple[str, ...], remind_after_days: int | None, as_json: bool
) -> None:
    """Open a round for organisation SLUG and send the invitations."""
    settings = get_settings()
    organization = await get_organization(slug)
    opened = await rounds.open_round(
        organization,
        closes_in_days=closes_in_days,
        departments=list(departments) or None,
        remind_after_days=remind_after_days,
    )
    async with job_queue(settings) as queue:
        await queue.enqueue("send_invitations", opened.id, job_id=f"invite:{opened.id}")
    if as_json:
        print_json({"id": opened.id})
        return
    invited = await Invitation.filter(round_id=opened.id).count()
    where = "the worker is sending them" if settings.redis_url else f"{await _sent(opened.id)} sent"
    click.echo(
        f"opened round {opened.id} (#{opened.number} of {organization.slug}), closes {opened.closes_at:%Y-%m-%d %H:%M} "
        f"UTC: {invited} invitations, {where}"
    )


@round_group.command("remind")
@click.argument("round_id", type=int)
@with_database
async def remind_command(round_id: int) -> None:
    """Email a reminder to everyone invited to ROUND_ID who has not answered (once per round)."""
    settings = get_settings()
    # The same rule as the web app and the API: a closed round is refused (one line, exit 1).
    rounds.check_remindable(await rounds.get_round(round_id))
    async with job_queue(settings) as queue:
        queued = await queue.enqueue("send_reminders", round_id, job_id=f"remind:{round_id}")
    if settings.redis_url:
        click.echo(f"reminders for round {round_id} {'queued' if queued else 'are already queued'}")
    else:
        # No count: how many were reminded is how many have not answered, an exact live participation
        # figure (see pulse.services.participation for the coarse one).
        click.echo(f"round {round_id} reminded: everyone who has not answered gets a reminder")


@round_group.command("close")
@click.argument("round_id", type=int)
@with_database
async def close_command(round_id: int) -> None:
    """Close ROUND_ID (its links stop working) and start building its report."""
    settings = get_settings()
    closed = await rounds.close_round(round_id)
    if "build_report" not in registry():
        log.warning("no build_report job is registered yet: round %d closed without starting its report", round_id)
        click.echo(f"closed round {round_id}; the report job is not available in this version")
        return
    async with job_queue(settings) as queue:
        await queue.enqueue("build_report", closed.id, job_id=f"report:{closed.id}")
    click.echo(f"closed round {round_id}; report {'queued' if settings.redis_url else 'built'}")


@round_group.command("status")
@click.argument("round_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the participation as JSON.")
@with_database
async def status_command(round_id: int, as_json: bool) -> None:
    """Participation of ROUND_ID: invited, answered, rate; per department only for groups of at least k."""
    data = await participation.round_participation(round_id)
    if as_json:
        print_json(data)
        return
    click.echo(f"round {data['round_id']} (#{data['number']}), {data['status']}, closes {data['closes_at']}")
    if data["invited"] is None:
        click.echo(f"fewer than {data['min_group_size']} people invited: no figures are shown")
        return
    click.echo(f"  all: {data['responded_band']} of {data['invited']} answered ({_percent(data['rate'])})")
    departments = data["departments"]
    for row in departments if isinstance(departments, list) else []:
        click.echo(f"  {row['name']}: {row['responded_band']} of {row['invited']} ({_percent(row['rate'])})")
    if data["departments_hidden"]:
        click.echo(
            f"  {data['departments_hidden']} department(s) not shown: fewer than {data['min_group_size']} "
            "answers or people so far"
        )
    if data.get("coarse"):
        click.echo(
            f"  (open round: counts rounded down to a multiple of {data['min_group_size']}, "
            f"snapshot of {data['snapshot_at']}, refreshed at most hourly)"
        )


def _percent(rate: object) -> str:
    return f"{float(rate) * 100:.0f}%" if isinstance(rate, int | float) else "n/a"


@round_group.command("invite-late")
@click.argument("round_id", type=int)
@with_database
async def invite_late_command(round_id: int) -> None:
    """Invite people added to the organisation since ROUND_ID opened, and send their invitations."""
    settings = get_settings()
    created = await rounds.invite_late_joiners(round_id)
    if created:
        total = await Invitation.filter(round_id=round_id).count()
        async with job_queue(settings) as queue:
            # A new id: arq remembers the round's first sending job for a while after it finished.
            await queue.enqueue("send_invitations", round_id, job_id=f"invite:{round_id}:{total}")
    click.echo(f"round {round_id}: {created} late joiner(s) invited")


COMMANDS: list[click.Command] = [round_group]

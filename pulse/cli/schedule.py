"""``pulse schedule``: survey cadences (RRULEs in the organisation's time zone)."""

from __future__ import annotations

import click

from pulse.cli.base import print_json, with_database
from pulse.errors import InvalidInput
from pulse.services import schedules
from pulse.services.organizations import get_organization


@click.group("schedule")
def schedule_group() -> None:
    """Open rounds by themselves on a cadence (iCalendar RRULE, organisation's time zone)."""


def _print_occurrences(occurrences: list[schedules.Occurrence], timezone: str) -> None:
    for occurrence in occurrences:
        remind = f", reminder {occurrence.remind_local:%a %Y-%m-%d %H:%M}" if occurrence.remind_local else ""
        click.echo(
            f"{occurrence.local:%a %Y-%m-%d %H:%M} {timezone} ({occurrence.utc:%Y-%m-%d %H:%M} UTC)"
            f" → closes {occurrence.closes_local:%a %Y-%m-%d %H:%M}{remind}"
        )


@schedule_group.command("add")
@click.argument("slug")
@click.option("--rrule", "rule", required=True, help="e.g. 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9'.")
@click.option(
    "--start",
    default=None,
    help="Local date/time the rule counts from (INTERVAL, default time of day), e.g. 2026-03-02T09:00. "
    "Default: today 09:00.",
)
@click.option("--open-days", type=int, default=schedules.DEFAULT_OPEN_DAYS, show_default=True)
@click.option("--remind-after-days", type=int, default=None, help="Remind non-answerers after N days.")
@click.option("--departments", multiple=True, help="Only these departments (repeat the option); default: everyone.")
@click.option("--json", "as_json", is_flag=True, help="Print the schedule as JSON.")
@with_database
async def add(
    slug: str,
    rule: str,
    start: str | None,
    open_days: int,
    remind_after_days: int | None,
    departments: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add a schedule to organisation SLUG and show its next occurrences."""
    schedule = await schedules.add_schedule(
        slug,
        rule,
        start=start,
        open_days=open_days,
        remind_after_days=remind_after_days,
        departments=list(departments) or None,
    )
    organization = await get_organization(slug)
    if as_json:
        print_json(schedules.schedule_json(schedule, organization.timezone))
        return
    click.echo(f"added schedule {schedule.id} for {slug}: {schedule.rrule} from {schedule.dtstart}")
    cadence = schedules.Cadence.of(schedule, organization.timezone)
    _print_occurrences(schedules.preview(cadence, count=3), organization.timezone)


@schedule_group.command("list")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True)
@with_database
async def list_command(slug: str, as_json: bool) -> None:
    """List the schedules of organisation SLUG."""
    organization = await get_organization(slug)
    rows = [schedules.schedule_json(s, organization.timezone) for s in await schedules.list_schedules(slug)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo(f"{slug} has no schedule")
    for row in rows:
        state = "active" if row["active"] else "paused"
        departments = ", ".join(row["departments"]) if isinstance(row["departments"], list) else "everyone"
        remind = f", reminder after {row['remind_after_days']} days" if row["remind_after_days"] else ""
        click.echo(
            f"{row['id']}  {state}  {row['rrule']}  open {row['open_days']} days{remind}  {departments}"
            f"  next: {row['next_run_local'] or 'never'} {organization.timezone}"
        )


@schedule_group.command("pause")
@click.argument("schedule_id", type=int)
@with_database
async def pause(schedule_id: int) -> None:
    """Stop opening rounds (open rounds still remind, close and report)."""
    await schedules.pause_schedule(schedule_id)
    click.echo(f"paused schedule {schedule_id}")


@schedule_group.command("resume")
@click.argument("schedule_id", type=int)
@with_database
async def resume(schedule_id: int) -> None:
    """Start again from the next occurrence (occurrences during the pause are not opened)."""
    schedule = await schedules.resume_schedule(schedule_id)
    when = schedule.next_run_at.isoformat() if schedule.next_run_at else "never (the rule has ended)"
    click.echo(f"resumed schedule {schedule_id}; next round at {when}")


@schedule_group.command("remove")
@click.argument("schedule_id", type=int)
@with_database
async def remove(schedule_id: int) -> None:
    """Delete a schedule; its rounds stay."""
    await schedules.remove_schedule(schedule_id)
    click.echo(f"removed schedule {schedule_id}")


@schedule_group.command("preview")
@click.argument("schedule_id", type=int, required=False)
@click.option("--rrule", "rule", default=None, help="Preview a rule without saving it (with --timezone).")
@click.option("--timezone", default=None, help="IANA zone for --rrule, e.g. Europe/Paris.")
@click.option("--start", default=None, help="Local start for --rrule (default: today 09:00).")
@click.option("--open-days", type=int, default=schedules.DEFAULT_OPEN_DAYS, show_default=True)
@click.option("--remind-after-days", type=int, default=None)
@click.option("--count", type=int, default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def preview(
    schedule_id: int | None,
    rule: str | None,
    timezone: str | None,
    start: str | None,
    open_days: int,
    remind_after_days: int | None,
    count: int,
    as_json: bool,
) -> None:
    """Show the next occurrences of schedule SCHEDULE_ID, or of --rrule in --timezone."""
    if (schedule_id is None) == (rule is None):
        raise InvalidInput("give either a SCHEDULE_ID or --rrule RULE --timezone TZ")
    if schedule_id is not None:
        cadence, zone_name = _stored(schedule_id)
    else:
        if not timezone:
            raise InvalidInput("--rrule needs --timezone (e.g. Europe/Paris)")
        zone_name = timezone
        cadence = schedules.Cadence.build(
            rule or "",
            timezone=timezone,
            start=schedules.parse_start(start, schedules.zone(timezone)),
            open_days=open_days,
            remind_after_days=remind_after_days,
        )
    occurrences = schedules.preview(cadence, count=count)
    if as_json:
        print_json([o.as_json() for o in occurrences])
    else:
        _print_occurrences(occurrences, zone_name)


def _stored(schedule_id: int) -> tuple[schedules.Cadence, str]:
    @with_database
    async def load() -> tuple[schedules.Cadence, str]:
        schedule = await schedules.get_schedule(schedule_id)
        timezone = schedule.organization.timezone
        return schedules.Cadence.of(schedule, timezone), timezone

    return load()


COMMANDS = [schedule_group]

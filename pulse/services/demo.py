"""The demo organisation: a few hundred simulated people in a dozen departments, with planted problems.

`run_demo` drives the real services (open a round, send invitations into the outbox, answer through
the links read back from the .eml files, close, build the report). `simulated_report_input` builds a
report input straight from the domain simulation, without a database, for PDF previews and benchmarks.
"""

from __future__ import annotations

import email
import io
import random
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

from pulse import clock, spreadsheet
from pulse.db import database, upgrade
from pulse.domain.aggregates import RoundAggregates
from pulse.domain.items import COMMENT_FIELD, ENPS_FIELD, HELP_FIELD
from pulse.domain.report import ReportInput
from pulse.domain.simulation import DepartmentSpec, simulate_round
from pulse.errors import PulseError
from pulse.models import Department, Organization, UserRole
from pulse.services import answers, organizations, people, reports, users
from pulse.services import rounds as rounds_service
from pulse.services.answers import HELP_NONE
from pulse.settings import Settings, configure, get_settings

DEMO_SLUG = "demo"
DEMO_NAME = "Northwind Retail"
ROUNDS = 4
ROUND_SPACING_DAYS = 14

#: Thirteen units in a tree, 320 people: stores in two regions under Retail, Warehouse and Logistics
#: under Operations, Customer Service under Service, and the head-office departments at the top level.
#: Planted: fear in Customer Service, little permission to act in the stores of Stores North,
#: inconsistent leadership in the Warehouse, and Logistics cut off from everyone.
DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("Service / Customer Service", 42, 0.82, {"fear": 22.0}),
    DepartmentSpec("Finance", 18, 0.85),
    DepartmentSpec("Human Resources", 10, 0.9),
    DepartmentSpec("IT", 22, 0.8),
    DepartmentSpec("Legal", 4, 1.0),
    DepartmentSpec("Operations / Logistics", 30, 0.8, {"collaboration": 16.0}, isolated=True),
    DepartmentSpec("Marketing", 20, 0.78),
    DepartmentSpec("Procurement", 14, 0.8),
    DepartmentSpec("Retail / Stores North / Store 11", 24, 0.8, {"initiative": 22.0}),
    DepartmentSpec("Retail / Stores North / Store 12", 24, 0.8, {"initiative": 22.0}),
    DepartmentSpec("Retail / Stores South / Store 21", 23, 0.8),
    DepartmentSpec("Retail / Stores South / Store 22", 23, 0.8),
    DepartmentSpec("Operations / Warehouse", 44, 0.8, {"consistency": 20.0}),
    DepartmentSpec("Quality", 22, 0.82),
)
#: The demo's web accounts, both leaders: the chief executive reads the whole organisation, the head
#: of the northern stores reads that region only (and each is emailed that report).
DEMO_PASSWORD = "northwind-demo"
CHIEF_EXECUTIVE = "ceo@northwind.example"
REGIONAL_LEADER = "north.lead@northwind.example"
REGION = "Retail / Stores North"
#: The planted driver: whether people fix a customer's problem on their own depends most on fear of
#: blame; the dimensions correlate, as real ones do. The driver page should name fear.
DEMO_OUTCOME_DRIVERS: Mapping[str, float] = {
    "fear": 0.55,
    "initiative": 0.2,
    "consistency": 0.15,
    "collaboration": 0.05,
}
DEMO_DIMENSION_CORRELATION = 0.35

FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam", "Maya",
    "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Xavier", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kowalski",
    "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Quist", "Rossi", "Silva", "Tanaka", "Usman", "Varga",
)  # fmt: skip


def person_name(index: int) -> str:
    """A reproducible, varied name for simulated person number `index`."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index // len(FIRST_NAMES) + index * 7) % len(LAST_NAMES)]
    return f"{first} {last}"


def scaled_departments(count: int, seed: int = 7) -> tuple[DepartmentSpec, ...]:
    """`count` departments for previews and benchmarks: the demo's twelve, then numbered teams."""
    specs = list(DEPARTMENTS[:count])
    for index in range(len(specs), count):
        problems: dict[str, float] = {}
        if index % 17 == 3:
            problems["fear"] = 18.0
        if index % 23 == 5:
            problems["consistency"] = 18.0
        size = 8 + (index * seed) % 40
        specs.append(DepartmentSpec(f"Team {index + 1:02d}", size, 0.8, problems))
    return tuple(specs)


def simulated_report_input(
    departments: Sequence[DepartmentSpec] = DEPARTMENTS,
    *,
    rounds: int = ROUNDS,
    seed: int = 2026,
    first_day: date = date(2026, 9, 7),
    organization_name: str = DEMO_NAME,
) -> ReportInput:
    """A report input for the last of `rounds` simulated rounds, straight from the domain simulation."""
    names = [person_name(i) for i in range(40)]
    history: list[RoundAggregates] = []
    current = None
    for number in range(1, rounds + 1):
        simulated = simulate_round(
            departments,
            seed=seed + number,
            round_number=number,
            directory_names=names,
            outcome_drivers=DEMO_OUTCOME_DRIVERS,
            dimension_correlation=DEMO_DIMENSION_CORRELATION,
        )
        opened = first_day + timedelta(days=ROUND_SPACING_DAYS * (number - 1))
        if number < rounds:
            history.append(RoundAggregates(f"Round {number}", opened.isoformat(), simulated.aggregates()))
        else:
            current = (simulated, opened)
    if current is None:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    simulated, opened = current
    return ReportInput(
        organization_name=organization_name,
        organization_slug=DEMO_SLUG,
        round_id=str(rounds),
        round_number=rounds,
        opened_on=opened.isoformat(),
        closes_on=(opened + timedelta(days=7)).isoformat(),
        closed=True,
        min_group_size=5,
        comment_threshold=10,
        items_asked=simulated.asked,
        departments=simulated.aggregates(),
        previous_rounds=history,
        directory_terms=names,
        round_label=f"Round {rounds}",
    )


# ---------------------------------------------------------------- the demo through the real services


def demo_settings(settings: Settings) -> Settings:
    """The demo's own embedded installation under ``var/demo/``: SQLite, in-process jobs, outbox."""
    directory = settings.var_dir / "demo"
    return settings.with_overrides(
        database_url=f"sqlite://{directory / 'demo.sqlite3'}",
        redis_url=None,
        smtp=None,
        var_dir=directory,
        # The leaders' emails carry their PDFs, so the outbox shows what each leader gets.
        attach_report_pdf=True,
    )


def people_csv(departments: Sequence[DepartmentSpec] = DEPARTMENTS) -> tuple[bytes, dict[str, str]]:
    """The demo directory as an import CSV, and email -> department. Two leaders, one HR person."""
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer, ("email", "name", "department", "role"), lineterminator="\n")
    writer.writeheader()
    department_of: dict[str, str] = {}
    index = 0
    for spec in departments:
        for position in range(spec.invited):
            name = person_name(index)
            address = f"{name.lower().replace(' ', '.')}.{index}@northwind.example"
            role = "hr" if spec.name == "Human Resources" and position == 0 else "employee"
            writer.writerow({"email": address, "name": name, "department": spec.name, "role": role})
            department_of[address] = spec.name
            index += 1
    return buffer.getvalue().encode("utf-8"), department_of


def read_links(outbox: Path, seen: set[str], base_url: str) -> dict[str, str]:
    """Recipient email -> survey token, from the .eml files in `outbox` not in `seen` (which is updated).

    The compat32 parser is used on purpose: the modern header registry parses every address header
    and costs seconds over a thousand messages; only the To address and the text body are needed.
    """
    link = re.compile(re.escape(base_url) + r"/s/([A-Za-z0-9_\-]+)")
    links: dict[str, str] = {}
    for path in sorted(outbox.glob("*.eml")):
        if path.name in seen:
            continue
        seen.add(path.name)
        message = email.message_from_bytes(path.read_bytes())
        for part in message.walk():
            if part.get_content_type() != "text/plain":
                continue
            payload = part.get_payload(decode=True)
            text = payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""
            found = link.search(text)
            if found:
                links[parseaddr(str(message["To"]))[1].lower()] = found.group(1)
            break
    return links


@dataclass
class DemoResult:
    """What the demo made."""

    pdf: Path
    json: Path
    csv: Path
    #: The report of the regional leader's scope (Retail / Stores North), as emailed to them.
    scoped_pdf: Path
    round_ids: list[int] = field(default_factory=list)
    invited: int = 0
    answered: int = 0
    emails: int = 0
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0


class DemoProgress:
    """Where the demo tells its user what it is doing (the CLI prints; tests may collect)."""

    def step(self, text: str) -> None:
        """A line per step."""

    def advance(self, done: int, total: int) -> None:
        """Progress within the current step (answers)."""


class JobRunner(Protocol):
    """An in-process job queue (workers.queue.InProcessQueue): the demo waits for its jobs."""

    failures: list[tuple[str, BaseException]]

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None, defer_by: float = 0) -> bool: ...

    async def drain(self) -> None: ...

    async def close(self) -> None: ...


@contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    # The demo lives two weeks per round in a few seconds: every service reads "now" from pulse.clock.
    original = clock.now
    clock.now = lambda: moment
    try:
        yield
    finally:
        clock.now = original


def _form(
    answers: Mapping[str, int], enps: int | None, helped: Sequence[int] | None, comment: str | None
) -> dict[str, str | list[str]]:
    """The survey form as the page posts it: one field per item, eNPS, help network, comment."""
    form: dict[str, str | list[str]] = {key: str(value) for key, value in answers.items()}
    if enps is not None:
        form[ENPS_FIELD] = str(enps)
    if helped is not None:
        form[HELP_FIELD] = [str(i) for i in helped] or [HELP_NONE]
    if comment:
        form[COMMENT_FIELD] = comment
    return form


@dataclass
class _Demo:
    settings: Settings
    progress: DemoProgress
    organization: Organization
    department_of: Mapping[str, str]
    department_ids: Mapping[str, int]
    queue: JobRunner
    rng: random.Random
    seed: int
    seen: set[str] = field(default_factory=set)

    async def run_round(self, number: int, opened_at: datetime, result: DemoResult) -> int:
        """Open, invite, answer and close one round; returns its id."""
        with _clock_at(opened_at):
            opened = await rounds_service.open_round(self.organization, closes_in_days=7)
            await self.queue.enqueue("send_invitations", opened.id, job_id=f"invite:{opened.id}")
            await self.queue.drain()
            self._raise_failures()
            links = read_links(self.settings.outbox_dir, self.seen, self.settings.base_url)
            self.progress.step(
                f"round {number} opened {opened_at:%d %b %Y}: {len(links)} invitations written to the outbox"
            )
            plan = self._answers(number, opened.item_keys, links)
            for done, (token, form) in enumerate(plan, start=1):
                await answers.submit(token, form)
                if done % 10 == 0 or done == len(plan):
                    self.progress.advance(done, len(plan))
            result.invited += len(links)
            result.answered += len(plan)
            self.progress.step(f"round {number}: {len(plan)} of {len(links)} people answered through their links")
        closed_at = opened_at + timedelta(days=7)
        with _clock_at(closed_at):
            await rounds_service.close_round(opened.id)
        self.progress.step(f"round {number} closed {closed_at:%d %b %Y}")
        return opened.id

    def _answers(
        self, number: int, asked: Sequence[str], links: Mapping[str, str]
    ) -> list[tuple[str, dict[str, str | list[str]]]]:
        # Simulate each department's answers, then hand them to a random subset of its invited people.
        invited: dict[str, list[str]] = {}
        for address in sorted(links):
            invited.setdefault(self.department_of[address], []).append(address)
        specs = {spec.name: spec for spec in DEPARTMENTS}
        simulated = simulate_round(
            [
                DepartmentSpec(name, len(people), specs[name].response_rate, specs[name].problems, specs[name].isolated)
                for name, people in sorted(invited.items())
            ],
            seed=self.seed + number,
            round_number=number,
            asked=asked,
            directory_names=[person_name(i) for i in range(len(self.department_of))],
            outcome_drivers=DEMO_OUTCOME_DRIVERS,
            dimension_correlation=DEMO_DIMENSION_CORRELATION,
        )
        pools = {name: self.rng.sample(people, len(people)) for name, people in invited.items()}
        plan: list[tuple[str, dict[str, str | list[str]]]] = []
        for response in simulated.responses:
            address = pools[response.department].pop()
            helped = None if response.helped_by is None else [self.department_ids[h] for h in response.helped_by]
            plan.append((links[address], _form(response.answers, response.enps, helped, response.comment)))
        self.rng.shuffle(plan)
        return plan

    def _raise_failures(self) -> None:
        if self.queue.failures:
            name, error = self.queue.failures[0]
            raise PulseError(f"background job {name} failed: {error}")


async def run_demo(
    settings: Settings,
    jobs: Callable[[Settings], JobRunner],
    progress: DemoProgress | None = None,
    *,
    rounds: int = ROUNDS,
    seed: int = 2026,
) -> DemoResult:
    """Create (or recreate) the demo organisation under ``var/demo/`` and run `rounds` rounds through
        the real services: open, send invitations into the outbox, answer through the links read back from
        the .eml files, close, build the report (which emails the leaders). `jobs` makes the in-process job
    queue for the demo's settings (the CLI passes workers.queue.InProcessQueue). Returns where the report is."""
    started = time.monotonic()
    say = progress or DemoProgress()
    local = demo_settings(settings)
    if local.var_dir.exists():
        shutil.rmtree(local.var_dir)
    local.var_dir.mkdir(parents=True)
    result = DemoResult(
        pdf=local.var_dir / f"report-round-{rounds}.pdf",
        json=local.var_dir / f"report-round-{rounds}.json",
        csv=local.var_dir / f"report-round-{rounds}.csv",
        scoped_pdf=local.var_dir / f"report-round-{rounds}-stores-north.pdf",
    )
    previous = get_settings()
    # Services that read the process-wide settings (the secret key for links) must see the demo's.
    configure(local)
    try:
        say.step(f"database {local.database_url.removeprefix('sqlite://')}")
        await upgrade(local)
        async with database(local):
            organization = await organizations.create_organization(DEMO_SLUG, DEMO_NAME, timezone="Europe/Paris")
            data, department_of = people_csv()
            await people.import_people(organization, data, actor="demo")
            units = await Department.filter(organization_id=organization.id).count()
            say.step(f"organisation {DEMO_NAME!r}: {len(department_of)} people in a tree of {units} units")
            await users.create_user(
                CHIEF_EXECUTIVE, DEMO_PASSWORD, role=UserRole.LEADER, organization=organization, name="Chief Executive"
            )
            await users.create_user(
                REGIONAL_LEADER,
                DEMO_PASSWORD,
                role=UserRole.LEADER,
                organization=organization,
                name="Head of Stores North",
                units=[REGION],
            )
            say.step(
                f"leader accounts (password {DEMO_PASSWORD!r}): {CHIEF_EXECUTIVE} reads the whole organisation, "
                f"{REGIONAL_LEADER} reads {REGION}"
            )
            rows = await Department.filter(organization_id=organization.id).values_list("name", "id")
            queue = jobs(local)
            demo = _Demo(
                local,
                say,
                organization,
                department_of,
                {str(name): int(identifier) for name, identifier in rows},
                queue,
                random.Random(seed),
                seed,
            )
            today = clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
            first_open = today - timedelta(days=ROUND_SPACING_DAYS * (rounds - 1) + 8)
            for number in range(1, rounds + 1):
                opened_at = first_open + timedelta(days=ROUND_SPACING_DAYS * (number - 1))
                result.round_ids.append(await demo.run_round(number, opened_at, result))
            last = result.round_ids[-1]
            before = len(list(local.outbox_dir.glob("*.eml")))
            say.step(f"building the report of round {rounds} and emailing it to the leaders")
            await queue.enqueue("build_report", last, job_id=f"report:{last}")
            await queue.drain()
            demo._raise_failures()
            result.emails = len(list(local.outbox_dir.glob("*.eml"))) - before
            for fmt, path in (("pdf", result.pdf), ("json", result.json), ("csv", result.csv)):
                path.write_bytes((await reports.export(last, fmt, local, build=False)).content)
            region = await reports.resolve_scope(organization.id, [REGION])
            scoped = await reports.export(last, "pdf", local, build=False, scope=region)
            result.scoped_pdf.write_bytes(scoped.content)
            stored = await reports.ready_report(last)
            model: dict[str, Any] = dict(stored.model or {})
            result.findings = [str(f["text"]) for f in model.get("findings") or []]
            await queue.close()
    finally:
        configure(previous)
    result.seconds = time.monotonic() - started
    return result

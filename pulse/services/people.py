"""The people directory: importing it from CSV, listing it, and erasing a person (GDPR).

An import is all or nothing. The file is validated in one pass in Python and every problem is
reported with its row number (row 1 is the header, as in a spreadsheet); only a clean file is
written, in one transaction, with bulk statements so that tens of thousands of rows take seconds.
Importing the same file again changes nothing.

Email addresses are stored trimmed and lowercased as a whole: mail systems treat the local part
case-insensitively in practice, and one person must never become two because a spreadsheet
capitalised their address differently.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import IO, Any, NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pulse import clock
from pulse.domain.mailbox import domain_of, mailbox_key
from pulse.domain.units import InvalidUnitPath, UnitPath, format_unit_path, name_path, parse_unit_path
from pulse.errors import MAX_LISTED_PROBLEMS, Conflict, ImportRejected, NotFound
from pulse.i18n import N_, NP_, Count, Text, joined
from pulse.models import AuditEvent, Department, Organization, Person, PersonRole
from pulse.services.units import ensure_units, load_units

REQUIRED_COLUMNS = ("email", "name", "department")
OPTIONAL_COLUMNS = ("manager_email", "role", "locale")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 200
DEPARTMENT_MAX_LENGTH = 200
LOCALE_MAX_LENGTH = 16
#: A row without a locale: the person gets the organisation's default language at import.
DEFAULT_LOCALE = ""
#: Rows per INSERT/UPDATE statement: large enough to be fast, small enough for SQLite's limits.
CHUNK_SIZE = 1000
#: The largest file and the most people one import takes: bounds on the work one request can ask for
#: (a 100,000-person import takes a few seconds; the web app also caps bodies at PULSE_MAX_BODY_SIZE).
MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_IMPORT_ROWS = 100_000
#: Replaces an erased person's address wherever an audit record mentions it.
ERASED = "[erased]"

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is the mail server's job;
# this only catches columns mixed up or addresses mangled by a spreadsheet.
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A simple language tag: "en", "fr-CA", "pt-BR", "zh-Hant".
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")

ROLE_VALUES = tuple(role.value for role in PersonRole)
#: A problem of one row of a file: "row 12: malformed email 'x'" (the spreadsheet's row number).
ROW_PROBLEM = N_("row %(row)s: %(problem)s")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportSummary:
    """What an import did. Counts only: it is also the audit record, which holds no personal data."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    reactivated: int = 0
    departments_created: int = 0

    def __str__(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.reactivated:
            text += f", {self.reactivated} reactivated"
        if self.deactivated:
            text += f", {self.deactivated} deactivated"
        if self.departments_created:
            text += f"; {self.departments_created} department{'s' if self.departments_created != 1 else ''} created"
        return text

    def as_text(self) -> Text:
        """``str(self)``, in words that pages translate."""
        people = [
            # TRANSLATORS: the summary of a people import: "3 created, 1 updated, 40 unchanged" (people).
            NP_("%(count)s created", "%(count)s created", self.created, count=Count(self.created)),
            NP_("%(count)s updated", "%(count)s updated", self.updated, count=Count(self.updated)),
            NP_("%(count)s unchanged", "%(count)s unchanged", self.unchanged, count=Count(self.unchanged)),
        ]
        if self.reactivated:
            people.append(
                NP_("%(count)s reactivated", "%(count)s reactivated", self.reactivated, count=Count(self.reactivated))
            )
        if self.deactivated:
            people.append(
                NP_("%(count)s deactivated", "%(count)s deactivated", self.deactivated, count=Count(self.deactivated))
            )
        if not self.departments_created:
            return joined(people)
        departments = NP_(
            "%(count)s department created",
            "%(count)s departments created",
            self.departments_created,
            count=Count(self.departments_created),
        )
        return joined([joined(people), departments], "; ")


@dataclass
class DirectoryChanges:
    """What an import did, in counts per department (the directory audit): kind -> department -> count.

    Kinds: added, moved_in, moved_out, reactivated, removed. Counts only, never who.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, kind: str, department: str) -> None:
        by_department = self.counts.setdefault(kind, {})
        by_department[department] = by_department.get(department, 0) + 1

    def as_json(self) -> dict[str, dict[str, int]]:
        return {kind: dict(sorted(by.items())) for kind, by in sorted(self.counts.items())}


@dataclass(frozen=True)
class PersonRow:
    """One validated row of an import file."""

    row: int
    email: str
    name: str
    department: str
    manager_email: str | None
    role: PersonRole
    locale: str


@dataclass(frozen=True)
class PersonRecord:
    """A person as listed by ``list_people``."""

    email: str
    name: str
    department: str
    role: str
    locale: str
    manager_email: str | None
    active: bool


def normalize_email(value: str) -> str:
    return value.strip().lower()


def _normalize_locale(value: str) -> str:
    parts = value.strip().replace("_", "-").split("-")
    parts[0] = parts[0].lower()
    # Regions are written upper case by convention (fr-CA); scripts and variants keep their case.
    return "-".join([parts[0]] + [p.upper() if len(p) == 2 else p for p in parts[1:]])


HEADER = f"{','.join(REQUIRED_COLUMNS)}[,{','.join(OPTIONAL_COLUMNS)}]"


def _at_row(row: int, problem: str) -> str:
    return N_(ROW_PROBLEM, row=row, problem=problem)


def _without_row(problem: str) -> str:
    """A row's problem without its row number (a one-row file: the number means nothing to the caller)."""
    if isinstance(problem, Text) and problem.msgid == ROW_PROBLEM:
        inner: str = problem.params["problem"]
        return inner
    return re.sub(r"^row \d+: ", "", problem)


def _no_person(address: str, organization: Organization) -> str:
    return N_(
        "no person with email %(email)s in organisation %(slug)s", email=repr(address), slug=repr(organization.slug)
    )


def _decode(data: bytes | str | IO[bytes] | IO[str]) -> str:
    raw: bytes | str = data if isinstance(data, bytes | str) else data.read()
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = raw.count(b"\n", 0, error.start) + 1
        raise ImportRejected(
            N_("people import rejected: the file is not UTF-8 text (save it as 'CSV UTF-8')"),
            [_at_row(row, N_("bytes that are not UTF-8 at position %(position)s", position=Count(error.start)))],
        ) from None


def _header(cells: Sequence[str]) -> tuple[list[str], list[str]]:
    """The normalised column names and the header's problems."""
    names = [cell.strip().lower() for cell in cells]
    problems: list[str] = []
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        shown = ", ".join(repr(n) for n in unknown)
        problems.append(
            _at_row(
                1,
                NP_(
                    "unknown column %(names)s (allowed: %(allowed)s)",
                    "unknown columns %(names)s (allowed: %(allowed)s)",
                    len(unknown),
                    names=shown,
                    allowed=", ".join(COLUMNS),
                ),
            )
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        problems.append(_at_row(1, N_("column %(names)s given more than once", names=", ".join(duplicated))))
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        problems.append(
            _at_row(
                1,
                NP_(
                    "missing column %(names)s (the first row must name the columns: %(columns)s)",
                    "missing columns %(names)s (the first row must name the columns: %(columns)s)",
                    len(missing),
                    names=", ".join(missing),
                    columns=HEADER,
                ),
            )
        )
    return names, problems


def _delimiter(text: str) -> str:
    """Spreadsheets in many European locales save "CSV" with semicolons: accept that when the header
    has semicolons and no comma."""
    header = text.split("\n", 1)[0]
    return ";" if ";" in header and "," not in header else ","


class _Problems:
    """The problems found so far: the first MAX_LISTED_PROBLEMS kept as text, the others only counted
    (a file of 400,000 bad rows would otherwise build 400,000 messages nobody reads)."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self.count = 0

    def append(self, problem: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append(problem)

    def __len__(self) -> int:
        return self.count

    def rejected(self, message: str) -> ImportRejected:
        return ImportRejected(message, self.listed, more=self.count - len(self.listed))


def _size(data: bytes | str | IO[bytes] | IO[str]) -> bytes | str | IO[bytes] | IO[str]:
    """``data``, read if it is a file, refused when larger than MAX_IMPORT_BYTES."""
    raw: bytes | str = data if isinstance(data, bytes | str) else data.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportRejected(
            N_("people import rejected: the file is larger than %(size)s MB", size=MAX_IMPORT_BYTES // (1024 * 1024)),
            [N_("split it into files of at most %(count)s people", count=Count(MAX_IMPORT_ROWS))],
        )
    return raw


def parse_people_csv(data: bytes | str | IO[bytes] | IO[str]) -> list[PersonRow]:
    """Validate an import file; raise ImportRejected listing the problems by row number (the first
    MAX_LISTED_PROBLEMS of them, and how many more). CPU-bound: async callers run it in a thread
    (``import_people`` does)."""
    text = _decode(_size(data))
    records = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    problems = _Problems()
    rows: list[PersonRow] = []
    number = 1  # the row being read, for a CSV error before the loop below starts
    try:
        header = next(records, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportRejected(
                N_("people import rejected: the file is empty"),
                [_at_row(1, N_("expected the header %(columns)s", columns=HEADER))],
            )
        names, header_problems = _header(header)
        if header_problems:
            raise ImportRejected(N_("people import rejected: the header row is wrong"), header_problems)
        first_row_of: dict[str, int] = {}  # by mailbox key: me+1@x and me@x are one mailbox
        first_email_of: dict[int, str] = {}
        for number, cells in enumerate(records, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines (often at the end of an exported file) carry nothing
            if number > MAX_IMPORT_ROWS + 1:
                problems.append(
                    _at_row(
                        number,
                        N_(
                            "more than %(count)s people in one file (the rest was not read); split the file",
                            count=Count(MAX_IMPORT_ROWS),
                        ),
                    )
                )
                break
            if len(cells) != len(names):
                problems.append(
                    _at_row(
                        number,
                        N_("expected %(expected)s fields, found %(found)s", expected=len(names), found=len(cells)),
                    )
                )
                continue
            controls = [name for name, cell in zip(names, cells, strict=True) if CONTROL_CHARACTERS.search(cell)]
            if controls:
                # PostgreSQL refuses NUL in text, and no name or address legitimately holds one.
                problems.append(_at_row(number, N_("control characters in %(columns)s", columns=", ".join(controls))))
                continue
            values = dict(zip(names, cells, strict=True))
            email = normalize_email(values["email"])
            first = first_row_of.setdefault(mailbox_key(email), number) if email else number
            if first != number:
                earlier = first_email_of.get(first, email)
                if earlier == email:
                    problems.append(
                        _at_row(
                            number, N_("duplicate email %(email)s (already on row %(row)s)", email=email, row=first)
                        )
                    )
                else:
                    problems.append(
                        _at_row(
                            number,
                            N_(
                                "%(email)s is the same mailbox as %(other)s (row %(row)s): one mailbox, one person",
                                email=email,
                                other=earlier,
                                row=first,
                            ),
                        )
                    )
            else:
                first_email_of[number] = email
            person = _row(number, values, problems)
            if person is not None and first == number:
                rows.append(person)
    except csv.Error as error:
        # An unbalanced quote swallows the rest of the file: nothing after it can be checked.
        problems.append(
            _at_row(number + 1, N_("malformed CSV (%(error)s); check the quotes from this row on", error=str(error)))
        )
    if problems:
        raise problems.rejected(
            NP_(
                "people import rejected: %(count)s problem, nothing was changed",
                "people import rejected: %(count)s problems, nothing was changed",
                len(problems),
                count=Count(len(problems)),
            )
        )
    if not rows:
        raise ImportRejected(
            N_("people import rejected: the file has a header but no people"), [_at_row(2, N_("no data rows"))]
        )
    return rows


def _row(number: int, values: dict[str, str], problems: _Problems) -> PersonRow | None:
    found = len(problems)

    def bad(message: str) -> None:
        problems.append(_at_row(number, message))

    def too_long(column: str, limit: int) -> None:
        bad(N_("%(column)s is longer than %(limit)s characters", column=column, limit=limit))

    email = normalize_email(values["email"])
    if not email:
        bad(N_("%(column)s is empty", column="email"))
    elif len(email) > EMAIL_MAX_LENGTH:
        too_long("email", EMAIL_MAX_LENGTH)
    elif not EMAIL_PATTERN.match(email):
        bad(N_("malformed %(column)s %(value)s", column="email", value=repr(values["email"].strip())))
    name = " ".join(values["name"].split())
    if not name:
        bad(N_("%(column)s is empty", column="name"))
    elif len(name) > NAME_MAX_LENGTH:
        too_long("name", NAME_MAX_LENGTH)
    department = " ".join(values["department"].split())
    if not department:
        bad(N_("%(column)s is empty", column="department"))
    elif len(department) > DEPARTMENT_MAX_LENGTH:
        too_long("department", DEPARTMENT_MAX_LENGTH)
    else:
        try:
            department = format_unit_path(parse_unit_path(department))
        except InvalidUnitPath as error:
            bad(N_("%(column)s: %(problem)s", column="department", problem=error.args[0]))
    manager_email = normalize_email(values.get("manager_email", "")) or None
    if manager_email is not None:
        if len(manager_email) > EMAIL_MAX_LENGTH:
            too_long("manager_email", EMAIL_MAX_LENGTH)
        elif not EMAIL_PATTERN.match(manager_email):
            bad(
                N_(
                    "malformed %(column)s %(value)s",
                    column="manager_email",
                    value=repr(values["manager_email"].strip()),
                )
            )
    role_text = values.get("role", "").strip().lower() or PersonRole.EMPLOYEE.value
    if role_text not in ROLE_VALUES:
        bad(
            N_(
                "unknown role %(value)s (use one of %(allowed)s)",
                value=repr(values["role"].strip()),
                allowed=", ".join(ROLE_VALUES),
            )
        )
    locale = _normalize_locale(values.get("locale", "")) if values.get("locale", "").strip() else DEFAULT_LOCALE
    if len(locale) > LOCALE_MAX_LENGTH:
        too_long("locale", LOCALE_MAX_LENGTH)
    elif locale and not LOCALE_PATTERN.match(locale):
        bad(
            N_(
                "malformed locale %(value)s (use a language tag such as en, fr or pt-BR)",
                value=repr(values["locale"].strip()),
            )
        )
    if len(problems) > found:
        return None
    return PersonRow(number, email, name, department, manager_email, PersonRole(role_text), locale)


def _chunks(items: Sequence[Any], size: int = CHUNK_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def import_people(
    organization: Organization,
    data: bytes | str | IO[bytes] | IO[str],
    *,
    deactivate_missing: bool = False,
    progress: Progress | None = None,
    actor: str = "cli",
) -> ImportSummary:
    """Bring the organisation's directory in line with a CSV file (bytes, text, or a file object).

    Columns ``email,name,department`` and optional ``manager_email,role,locale``. Departments are
    created as needed; people are created, or updated (name, department, role, locale, manager) when
    the file says something else. With ``deactivate_missing`` active people absent from the file are
    deactivated; nobody is ever deleted, and a deactivated person present in the file is active again.
    A bad file raises ImportRejected and changes nothing. ``progress(done, total)`` is called after
    every chunk of writes.
    """
    # Decoding and validating a 20 MB file takes seconds of CPU: in a thread, so the event loop goes
    # on serving everyone else meanwhile.
    rows = await asyncio.to_thread(parse_people_csv, data)
    _check_domains(organization, rows)
    try:
        async with in_transaction() as connection:
            summary, changes = await _apply(connection, organization, rows, deactivate_missing, progress)
            await AuditEvent.create(
                organization=organization,
                actor=actor,
                action="people.import",
                detail={**asdict(summary), "departments": changes.as_json()},
            )
    except IntegrityError:
        # Only a concurrent import of the same people can get here; the transaction rolled back.
        raise Conflict(
            N_("another import changed these people at the same time: nothing was changed, try again")
        ) from None
    return summary


def _check_domains(organization: Organization, rows: Sequence[PersonRow]) -> None:
    """Refuse addresses outside the organisation's email domains (when it has set them)."""
    domains = organization.email_domains
    if not domains:
        return
    allowed = ", ".join(domains)
    outside = [
        _at_row(
            row.row,
            N_("%(email)s is outside the organisation's email domains (%(allowed)s)", email=row.email, allowed=allowed),
        )
        for row in rows
        if domain_of(row.email) not in domains
    ]
    if outside:
        raise ImportRejected(
            NP_(
                "people import rejected: %(count)s address outside %(allowed)s, nothing was changed",
                "people import rejected: %(count)s addresses outside %(allowed)s, nothing was changed",
                len(outside),
                count=Count(len(outside)),
                allowed=allowed,
            ),
            outside,
        )


def _check_mailboxes(rows: Sequence[PersonRow], existing: dict[str, _Stored]) -> None:
    """Refuse a new address that is another spelling of a mailbox already in the directory."""
    known = {mailbox_key(email): email for email in existing}
    clashes = [
        _at_row(
            row.row,
            N_(
                "%(email)s is the same mailbox as %(other)s, already in the directory: one mailbox, one person",
                email=row.email,
                other=known[mailbox_key(row.email)],
            ),
        )
        for row in rows
        if row.email not in existing and mailbox_key(row.email) in known
    ]
    if clashes:
        raise ImportRejected(
            NP_(
                "people import rejected: %(count)s problem, nothing was changed",
                "people import rejected: %(count)s problems, nothing was changed",
                len(clashes),
                count=Count(len(clashes)),
            ),
            clashes,
        )


# People are written with plain SQL rather than ORM objects: Tortoise's bulk_update builds one CASE
# expression per field in Python (18 s for 50,000 changed rows on SQLite), building 50,000 model
# instances costs more than the INSERT itself, and asyncpg's executemany still pays a round trip per
# row. PostgreSQL gets one statement per chunk over arrays (unnest); SQLite, in-process, gets
# executemany. The columns are those of pulse.models.Person (and of the migrations).
_PERSON_COLUMNS = '"organization_id", "email", "name", "department_id", "manager_email", "role", "locale", "active", '
_PERSON_COLUMNS += '"created_at", "updated_at"'
_SQL = {
    "postgres": {
        "insert": f"""INSERT INTO "person" ({_PERSON_COLUMNS})
            SELECT $1, v.email, v.name, v.department_id, v.manager_email, v.role, v.locale, TRUE, $2, $2
            FROM unnest($3::varchar[], $4::varchar[], $5::int[], $6::varchar[], $7::varchar[], $8::varchar[])
                AS v(email, name, department_id, manager_email, role, locale)""",
        "update": """UPDATE "person" AS p SET "name" = v.name, "department_id" = v.department_id,
                "manager_email" = v.manager_email, "role" = v.role, "locale" = v.locale, "active" = TRUE,
                "updated_at" = $1
            FROM unnest($2::int[], $3::varchar[], $4::int[], $5::varchar[], $6::varchar[], $7::varchar[])
                AS v(id, name, department_id, manager_email, role, locale)
            WHERE p."id" = v.id""",
        "deactivate": """UPDATE "person" SET "active" = FALSE, "updated_at" = $1 WHERE "id" = ANY($2::int[])""",
    },
    "sqlite": {
        "insert": f"""INSERT INTO "person" ({_PERSON_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)""",
        "update": """UPDATE "person" SET "name" = ?, "department_id" = ?, "manager_email" = ?, "role" = ?,
            "locale" = ?, "active" = 1, "updated_at" = ? WHERE "id" = ?""",
        "deactivate": """UPDATE "person" SET "active" = 0, "updated_at" = ? WHERE "id" = ?""",
    },
}

#: (email for an insert or id for an update, name, department_id, manager_email, role, locale); (id,) to deactivate
_Values = tuple[Any, ...]


async def _write(
    connection: BaseDBAsyncClient, kind: str, organization_id: int, now: datetime, rows: Sequence[_Values]
) -> None:
    """Insert (rows keyed by email), update (keyed by id) or deactivate (rows of one id) people."""
    if connection.capabilities.dialect == "postgres":
        sql = _SQL["postgres"][kind]
        columns = [list(column) for column in zip(*rows, strict=True)]
        if kind == "insert":
            await connection.execute_query(sql, [organization_id, now, *columns])
        elif kind == "update":
            await connection.execute_query(sql, [now, *columns])
        else:
            await connection.execute_query(sql, [now, columns[0]])
        return
    sql = _SQL["sqlite"][kind]
    if kind == "insert":
        values = [[organization_id, *row, now, now] for row in rows]
    elif kind == "update":
        values = [[*row[1:], now, row[0]] for row in rows]
    else:
        values = [[now, row[0]] for row in rows]
    await connection.execute_many(sql, values)


class _Stored(NamedTuple):
    """A person as stored, read as plain values: building 50,000 ORM objects (and parsing their
    timestamps) would cost more than the rest of an import."""

    id: int
    name: str
    department_id: int
    manager_email: str | None
    role: str
    locale: str
    active: bool


async def _existing_people(
    organization: Organization, connection: BaseDBAsyncClient | None = None
) -> dict[str, _Stored]:
    """Every person of the organisation as plain values, keyed by email. With ``connection`` (an import's
    transaction) the rows come from the driver as they are and are turned into the dict in a thread:
    for 100,000 people, the ORM's conversion held the event loop for seconds."""
    if connection is None:
        rows = await Person.filter(organization=organization).values_list(
            "email", "id", "name", "department_id", "manager_email", "role", "locale", "active"
        )
        return {str(values[0]): _Stored(*values[1:]) for values in rows}
    placeholder = "$1" if connection.capabilities.dialect == "postgres" else "?"
    _, found = await connection.execute_query(
        'SELECT "email", "id", "name", "department_id", "manager_email", "role", "locale", "active" '
        f'FROM "person" WHERE "organization_id" = {placeholder}',
        [organization.id],
    )

    def stored() -> dict[str, _Stored]:
        return {
            str(r[0]): _Stored(int(r[1]), str(r[2]), int(r[3]), r[4], str(r[5]), str(r[6]), bool(r[7])) for r in found
        }

    return await asyncio.to_thread(stored)


def _prepare(rows: list[PersonRow], locale: str) -> tuple[list[PersonRow], dict[str, UnitPath]]:
    """The rows with the organisation's locale filled in, and each department column as a unit path."""
    rows = [row if row.locale else replace(row, locale=locale) for row in rows]
    return rows, {row.department: parse_unit_path(row.department) for row in rows}


@dataclass
class _Plan:
    """What an import writes, worked out from the file and the directory as stored."""

    to_create: list[_Values] = field(default_factory=list)
    to_update: list[_Values] = field(default_factory=list)
    to_deactivate: list[_Values] = field(default_factory=list)
    unchanged: int = 0
    reactivated: int = 0
    #: people who changed department, and inactive people back in the file (the newcomer quarantine)
    moved: list[int] = field(default_factory=list)
    rejoined: list[int] = field(default_factory=list)
    audit: DirectoryChanges = field(default_factory=lambda: DirectoryChanges())


def _plan(
    rows: list[PersonRow],
    existing: dict[str, _Stored],
    department_ids: dict[str, int],
    deactivate_missing: bool,
    names: dict[int, str] | None = None,
) -> _Plan:
    _check_mailboxes(rows, existing)
    plan = _Plan()
    name_of = names or {}
    for row in rows:
        department_id = department_ids[row.department]
        department = name_of.get(department_id, row.department)
        values = (row.name, department_id, row.manager_email, row.role.value, row.locale)
        stored = existing.get(row.email)
        if stored is None:
            plan.to_create.append((row.email, *values))
            plan.audit.count("added", department)
        elif (*values, True) != stored[1:]:
            plan.reactivated += not stored.active
            plan.to_update.append((stored.id, *values))
            if not stored.active:
                plan.rejoined.append(stored.id)
                plan.audit.count("reactivated", department)
            elif stored.department_id != department_id:
                plan.moved.append(stored.id)
                plan.audit.count("moved_out", name_of.get(stored.department_id, "?"))
                plan.audit.count("moved_in", department)
        else:
            plan.unchanged += 1
    if deactivate_missing:
        in_file = {row.email for row in rows}
        plan.to_deactivate = [(p.id,) for email, p in existing.items() if p.active and email not in in_file]
        removed = {p.id: p.department_id for p in existing.values()}
        for (person_id,) in plan.to_deactivate:
            plan.audit.count("removed", name_of.get(removed[person_id], "?"))
    return plan


async def _apply(
    connection: BaseDBAsyncClient,
    organization: Organization,
    rows: list[PersonRow],
    deactivate_missing: bool,
    progress: Progress | None,
) -> tuple[ImportSummary, DirectoryChanges]:
    # Work over every row (100,000 of them at most) happens in threads: the event loop only waits.
    rows, paths = await asyncio.to_thread(_prepare, rows, organization.locale)
    # The department column is a unit path: every unit of the file and its ancestors exist after this.
    units, units_created = await ensure_units(organization, paths.values(), connection)
    department_ids = {text: units.ids[found] for text, path in paths.items() if (found := units.find(path))}

    existing = await _existing_people(organization, connection)
    names = dict(
        await Department.filter(organization_id=organization.id).using_db(connection).values_list("id", "name")
    )
    plan = await asyncio.to_thread(_plan, rows, existing, department_ids, deactivate_missing, names)
    to_create, to_update, to_deactivate = plan.to_create, plan.to_update, plan.to_deactivate
    unchanged, reactivated = plan.unchanged, plan.reactivated
    moved, rejoined, audit = plan.moved, plan.rejoined, plan.audit
    # The people of an organisation's first import are its founding members: never newcomers.
    founding = not existing
    now = clock.now()

    total = len(to_create) + len(to_update) + len(to_deactivate)
    done = 0
    for kind, pending in (("insert", to_create), ("update", to_update), ("deactivate", to_deactivate)):
        for chunk in _chunks(pending):
            await _write(connection, kind, organization.id, now, chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if progress and total == 0:
        progress(0, 0)
    # When people joined or moved: the newcomer quarantine of the next rounds reads these.
    joined = [] if founding else [row[0] for row in to_create]
    for chunk in _chunks(joined):
        await (
            Person.filter(organization_id=organization.id, email__in=list(chunk))
            .using_db(connection)
            .update(joined_at=now)
        )
    for chunk in _chunks(rejoined):
        await Person.filter(id__in=list(chunk)).using_db(connection).update(joined_at=now)
    for chunk in _chunks(moved):
        await Person.filter(id__in=list(chunk)).using_db(connection).update(moved_at=now)
    summary = ImportSummary(
        created=len(to_create),
        updated=len(to_update) - reactivated,
        unchanged=unchanged,
        deactivated=len(to_deactivate),
        reactivated=reactivated,
        departments_created=units_created,
    )
    return summary, audit


def _scrub(value: Any, email: str) -> Any:
    """``value`` with every occurrence of ``email`` (case-insensitive) replaced by ERASED."""
    if isinstance(value, str):
        return re.sub(re.escape(email), ERASED, value, flags=re.IGNORECASE)
    if isinstance(value, list):
        return [_scrub(item, email) for item in value]
    if isinstance(value, dict):
        return {_scrub(key, email): _scrub(item, email) for key, item in value.items()}
    return value


async def erase_person(organization: Organization, email: str, *, actor: str = "cli") -> None:
    """Erase a person (GDPR): delete their row and every trace of their address.

    Invitations keep their row with no person (the foreign key sets it to NULL), so participation
    counts of past rounds do not change; answers never pointed to anyone. Other people's
    ``manager_email`` and audit records (actor or detail) that named the address lose it too.
    """
    address = normalize_email(email)
    person = await Person.get_or_none(organization=organization, email=address)
    if person is None:
        raise NotFound(_no_person(address, organization))
    async with in_transaction():
        await person.delete()
        await Person.filter(organization=organization, manager_email=address).update(manager_email=None)
        # Audit records are few next to people; scanning them in Python works the same on both databases.
        for event in await AuditEvent.filter(organization=organization):
            detail, actor_text = _scrub(event.detail, address), _scrub(event.actor, address)
            if (detail, actor_text) != (event.detail, event.actor):
                event.detail, event.actor = detail, actor_text
                await event.save(update_fields=["detail", "actor"])
        # The record of the erasure itself names nobody.
        await AuditEvent.create(organization=organization, actor=actor, action="people.erase", detail=None)


async def list_people(organization: Organization, *, department: str | None = None) -> list[PersonRecord]:
    """The organisation's people (active and inactive), by unit then email. ``department`` is a unit
    path (``Retail / Stores North``): its people and those of every unit below it."""
    units = await load_units(organization.id)
    departments = {unit_id: format_unit_path(path) for unit_id, path in units.paths.items()}
    query = Person.filter(organization=organization)
    if department is not None:
        try:
            found = units.resolve(department, slug=organization.slug)
        except (NotFound, InvalidUnitPath):
            raise NotFound(
                N_(
                    "no department %(name)s in organisation %(slug)s",
                    name=repr(department),
                    slug=repr(organization.slug),
                )
            ) from None
        query = query.filter(department_id__in=units.subtree_ids(found))
    rows = await query.values_list("email", "name", "department_id", "role", "locale", "manager_email", "active")
    records = [
        PersonRecord(
            email=str(email),
            name=str(name),
            department=departments[int(department_id)],
            role=str(role),
            locale=str(locale),
            manager_email=None if manager_email is None else str(manager_email),
            active=bool(active),
        )
        for email, name, department_id, role, locale, manager_email, active in rows
    ]
    order = {path: position for position, path in enumerate(units.tree)}
    records.sort(key=lambda r: (order.get(name_path(r.department), -1), r.email))
    return records


async def save_person(organization: Organization, record: dict[str, str], *, actor: str) -> ImportSummary:
    """Create or update one person with exactly the import's rules: the same validation and messages,
    the same writes, the same audit record (counts only) and whatever else an import applies to newcomers.

    ``record`` holds the import's columns (email, name, department and optionally manager_email, role,
    locale). It goes through the import itself, as a one-row file, so that the rules live in one place.
    Used by directory sync (SCIM); like an import, saving a deactivated person makes them active.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerow([record.get(column, "") for column in COLUMNS])
    try:
        return await import_people(organization, buffer.getvalue(), actor=actor)
    except ImportRejected as rejected:
        # One row: say what is wrong without the spreadsheet's row numbers.
        problems = [_without_row(problem) for problem in rejected.problems]
        raise ImportRejected(joined(problems, "; ") if problems else rejected.summary, problems) from None


async def change_email(organization: Organization, current: str, new: str, *, actor: str) -> None:
    """Give a person a new address (the directory keys people by address; their invitations stay theirs).

    The new address passes the import's own checks: its format, the organisation's email domains, and
    one mailbox, one person (another spelling of someone else's mailbox is refused).
    """
    old = normalize_email(current)
    person = await Person.get_or_none(organization=organization, email=old)
    if person is None:
        raise NotFound(_no_person(old, organization))
    buffer = io.StringIO()
    csv.writer(buffer).writerows([REQUIRED_COLUMNS, [new, person.name, "-"]])
    try:
        (row,) = parse_people_csv(buffer.getvalue())
        _check_domains(organization, [row])
        others = {email: stored for email, stored in (await _existing_people(organization)).items() if email != old}
        _check_mailboxes([row], others)
    except ImportRejected as rejected:
        problems = [_without_row(problem) for problem in rejected.problems]
        raise ImportRejected(joined(problems, "; ") if problems else rejected.summary, problems) from None
    if row.email == old:
        return
    if row.email in others:
        raise Conflict(N_("another person already has the email %(email)s", email=repr(row.email)))
    try:
        async with in_transaction():
            await Person.filter(id=person.id).update(email=row.email, updated_at=clock.now())
            await Person.filter(organization=organization, manager_email=old).update(manager_email=row.email)
            # No addresses in the audit log: the record says that one address changed.
            await AuditEvent.create(organization=organization, actor=actor, action="people.change_email", detail=None)
    except IntegrityError:
        raise Conflict(N_("another person already has the email %(email)s", email=repr(row.email))) from None

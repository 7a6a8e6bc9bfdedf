"""The real ``pulse`` console script, run in a subprocess against its own database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import sqlite3
import subprocess
import uuid
from pathlib import Path

import asyncpg
import click
import pytest
from click.testing import CliRunner

from pulse.cli import cli
from pulse.domain.items import BANK
from tests.cli.conftest import PULSE, Pulse, pulse_env, run_pulse
from tests.conftest import RUN_ID, postgres_admin, postgres_url

PEOPLE_CSV = (
    "email,name,department,manager_email,role\n"
    "ada@example.org,Ada Lovelace,Engineering,,leader\n"
    "bob@example.org,Bob Stone,Sales,ada@example.org,manager\n"
    "cy@example.org,Cy Young,Sales,bob@example.org,\n"
)


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


def _one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("pulse: error: "), stderr
    return lines[0]


def test_every_command_and_group_has_help() -> None:
    # In-process: one `pulse` start-up per command would cost minutes on a busy machine; the console
    # script itself is exercised by every other test here and by test_the_console_script_has_help.
    paths = _command_paths(cli)
    assert {("people", "import"), ("people", "erase"), ("people", "list"), ("items", "list"), ("db", "upgrade")} <= set(
        paths
    )
    runner = CliRunner()
    broken: dict[str, str] = {}
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"], prog_name="pulse")
        if result.exit_code != 0 or not result.output.startswith(f"Usage: pulse {' '.join(path)}".rstrip()):
            broken[" ".join(path)] = result.output[:300] or repr(result.exception)
    assert broken == {}


def test_the_console_script_has_help(pulse: Pulse) -> None:
    done = pulse("--help")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("Usage: pulse [OPTIONS] COMMAND [ARGS]...")
    assert all(f"  {name} " in done.stdout for name in ("db", "org", "people", "items"))


def test_db_upgrade_creates_the_schema_on_an_empty_sqlite_file_and_is_safe_to_repeat(
    pulse: Pulse, tmp_path: Path
) -> None:
    first = pulse("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("applied 0_")
    with sqlite3.connect(tmp_path / "pulse.sqlite3") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"organization", "person", "department", "invitation", "response", "aerich"} <= tables
    again = pulse("db", "upgrade")
    assert (again.returncode, again.stdout) == (0, "the database is up to date\n")


async def _tables(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


@pytest.mark.postgres
def test_db_upgrade_creates_the_schema_on_an_empty_postgres_database(tmp_path: Path) -> None:
    name = f"pulse_cli_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        env = pulse_env(tmp_path, postgres_url(name))
        first = run_pulse(env, "db", "upgrade")
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("applied 0_")
        assert {"organization", "person", "invitation", "response", "aerich"} <= asyncio.run(
            _tables(postgres_url(name))
        )
        again = run_pulse(env, "db", "upgrade")
        assert (again.returncode, again.stdout) == (0, "the database is up to date\n")
        created = run_pulse(env, "org", "create", "acme", "--name", "Acme")
        assert created.returncode == 0, created.stderr
    finally:
        asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_org_create_creates_and_refuses_a_group_size_below_three(pulse: Pulse) -> None:
    assert pulse("db", "upgrade").returncode == 0
    created = pulse("org", "create", "acme", "--name", "Acme Retail", "--min-group-size", "6")
    assert created.returncode == 0, created.stderr
    assert created.stdout == "created organisation acme (Acme Retail), k=6\n"
    refused = pulse("org", "create", "tiny", "--name", "Tiny", "--min-group-size", "2")
    assert refused.returncode == 1
    assert "minimum group size 2 is below 3" in _one_line_error(refused.stderr)
    taken = pulse("org", "create", "acme", "--name", "Again")
    assert taken.returncode == 1
    assert "'acme' already exists" in _one_line_error(taken.stderr)


@pytest.fixture
def acme(pulse: Pulse, tmp_path: Path) -> Path:
    """A migrated database with organisation acme; returns the path of a good people file."""
    assert pulse("db", "upgrade").returncode == 0
    assert pulse("org", "create", "acme", "--name", "Acme").returncode == 0
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE_CSV, encoding="utf-8")
    return path


def test_people_import_reports_counts_and_a_second_run_changes_nothing(pulse: Pulse, acme: Path) -> None:
    first = pulse("people", "import", "acme", str(acme))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "acme: 3 created, 0 updated, 0 unchanged; 2 departments created\n"
    assert first.stderr == ""  # no progress line when stderr is not a terminal
    again = pulse("people", "import", "acme", str(acme))
    assert again.stdout == "acme: 0 created, 0 updated, 3 unchanged\n"
    listed = pulse("people", "list", "acme", "--json")
    assert [(p["email"], p["department"], p["active"]) for p in json.loads(listed.stdout)] == [
        ("ada@example.org", "Engineering", True),
        ("bob@example.org", "Sales", True),
        ("cy@example.org", "Sales", True),
    ]
    table = pulse("people", "list", "acme", "--department", "Sales")
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split() == ["email", "name", "department", "role", "locale", "active"]
    assert table.stdout.splitlines()[-1] == "2 people (2 active, 0 inactive)"


def test_people_list_shows_the_unit_tree_and_narrows_to_a_subtree(pulse: Pulse, acme: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree.csv"
    tree.write_text(
        "email,name,department\n"
        "head@example.org,Head,Retail\n"
        "a@example.org,A,Retail / Stores North / Store 12\n"
        "b@example.org,B,Retail/Stores North/Store 12\n"
        "c@example.org,C,Retail / Stores South / Store 40\n"
        "d@example.org,D,Operations / Warehouse\n",
        encoding="utf-8",
    )
    assert pulse("people", "import", "acme", str(tree)).stdout.endswith("; 7 departments created\n")
    shown = pulse("people", "list", "acme", "--tree")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "Operations  (1 active, 0 here)",
        "  Warehouse  (1 active)",
        "Retail  (4 active, 1 here)",
        "  Stores North  (2 active, 0 here)",
        "    Store 12  (2 active)",
        "  Stores South  (1 active, 0 here)",
        "    Store 40  (1 active)",
        "7 units",
    ]
    north = pulse("people", "list", "acme", "--unit", "retail / stores north", "--json")
    assert [(p["email"], p["department"]) for p in json.loads(north.stdout)] == [
        ("a@example.org", "Retail / Stores North / Store 12"),
        ("b@example.org", "Retail / Stores North / Store 12"),
    ]
    units = json.loads(pulse("people", "list", "acme", "--tree", "--unit", "Retail/Stores South", "--json").stdout)
    assert [(u["path"], u["active_in_subtree"]) for u in units] == [
        (["Retail", "Stores South"], 1),
        (["Retail", "Stores South", "Store 40"], 1),
    ]
    missing = pulse("people", "list", "acme", "--unit", "Retail / Nowhere")
    assert missing.returncode == 1 and "no department 'Retail / Nowhere'" in missing.stderr


def test_a_bad_people_file_lists_every_problem_and_changes_nothing(pulse: Pulse, acme: Path, tmp_path: Path) -> None:
    assert pulse("people", "import", "acme", str(acme)).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,department,role\nada@example.org,Ada,Research,\nnope,,Sales,boss\n", encoding="utf-8")
    done = pulse("people", "import", "acme", str(bad), "--deactivate-missing")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "pulse: error: people import rejected: 3 problems, nothing was changed",
        "  row 3: malformed email 'nope'",
        "  row 3: name is empty",
        "  row 3: unknown role 'boss' (use one of employee, manager, leader, hr)",
    ]
    listed = json.loads(pulse("people", "list", "acme", "--json").stdout)
    assert [(p["email"], p["department"], p["active"]) for p in listed] == [
        ("ada@example.org", "Engineering", True),
        ("bob@example.org", "Sales", True),
        ("cy@example.org", "Sales", True),
    ]


def test_a_file_of_many_bad_rows_lists_the_first_hundred_problems_and_counts_the_rest(
    pulse: Pulse, acme: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,department\n" + "".join(f"x{i},Name,Sales\n" for i in range(41_330)), encoding="utf-8")
    done = pulse("people", "import", "acme", str(bad))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == "pulse: error: people import rejected: 41,330 problems, nothing was changed"
    assert lines[1] == "  row 2: malformed email 'x0'" and lines[100] == "  row 101: malformed email 'x99'"
    assert lines[101:] == ["  and 41,230 more"]


def test_people_import_into_an_unknown_organisation_is_a_one_line_error(pulse: Pulse, acme: Path) -> None:
    done = pulse("people", "import", "nobody", str(acme))
    assert done.returncode == 1
    assert "no organisation with slug 'nobody'" in _one_line_error(done.stderr)


def test_people_erase_removes_the_person_and_unknown_addresses_are_one_line_errors(pulse: Pulse, acme: Path) -> None:
    assert pulse("people", "import", "acme", str(acme)).returncode == 0
    erased = pulse("people", "erase", "acme", "Bob@Example.org")
    assert (erased.returncode, erased.stdout) == (0, "acme: erased bob@example.org\n")
    listed = json.loads(pulse("people", "list", "acme", "--json").stdout)
    assert [p["email"] for p in listed] == ["ada@example.org", "cy@example.org"]
    assert listed[1]["manager_email"] is None
    again = pulse("people", "erase", "acme", "bob@example.org")
    assert again.returncode == 1
    assert "no person with email 'bob@example.org'" in _one_line_error(again.stderr)


def test_items_list_json_is_the_item_bank(pulse: Pulse) -> None:
    done = pulse("items", "list", "--json")
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    assert items == [
        {"key": i.key, "dimension": i.dimension, "text": i.text, "reverse": i.reverse, "anchor": i.anchor} for i in BANK
    ]
    table = pulse("items", "list")
    assert table.returncode == 0
    assert table.stdout.split()[:5] == ["key", "dimension", "reverse", "anchor", "text"]
    assert all(i.key in table.stdout for i in BANK)


def test_a_terminal_sees_the_import_progress(acme: Path, tmp_path: Path) -> None:
    env = pulse_env(tmp_path, f"sqlite://{tmp_path / 'pulse.sqlite3'}")
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [str(PULSE), "people", "import", "acme", str(acme)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        seen = b""
        with contextlib.suppress(OSError):  # EIO once everything written to the terminal is read
            while chunk := os.read(controller, 4096):
                seen += chunk
    finally:
        os.close(controller)
    assert done.returncode == 0
    assert "writing people: 3/3 (100%)" in seen.decode()
    assert done.stdout == "acme: 3 created, 0 updated, 0 unchanged; 2 departments created\n"


def test_a_database_without_the_schema_is_a_one_line_error_that_says_what_to_run(pulse: Pulse) -> None:
    done = pulse("org", "create", "acme", "--name", "Acme")
    assert done.returncode == 1
    assert "run `pulse db upgrade`" in _one_line_error(done.stderr)


def test_an_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    env = pulse_env(tmp_path, "postgres://postgres@127.0.0.1:1/pulse")
    for args in (("people", "list", "acme"), ("db", "upgrade")):
        done = run_pulse(env, *args)
        assert done.returncode == 1, done.stderr
        assert "cannot reach the database" in _one_line_error(done.stderr)

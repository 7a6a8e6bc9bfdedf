"""The migrations and pulse/models.py agree, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aerich.utils import compress_dict, decompress_dict
from tortoise import Tortoise
from tortoise.fields.relational import ForeignKeyFieldInstance, OneToOneFieldInstance

from pulse import db as pulse_db
from pulse.settings import PROJECT_ROOT, Settings
from tests.conftest import POSTGRES_ADMIN_DSN, make_settings, postgres_admin, postgres_url

MIGRATIONS = PROJECT_ROOT / "migrations"
MIGRATION_FILES = sorted(p.name for p in (MIGRATIONS / "models").glob("*.py"))


def _copy_migrations(tmp_path: Path) -> Path:
    copy = tmp_path / "repo" / "migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


def _make_migration(copy: Path, name: str) -> subprocess.CompletedProcess[str]:
    """Run make_migration.py of a copy of migrations/: it writes a file there only if the models changed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env["PULSE_TEST_POSTGRES"] = POSTGRES_ADMIN_DSN
    return subprocess.run(
        [sys.executable, str(copy / "make_migration.py"), name],
        cwd=copy.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.postgres
def test_the_models_have_no_changes_missing_from_the_migrations(tmp_path: Path) -> None:
    copy = _copy_migrations(tmp_path)
    done = _make_migration(copy, "pending_changes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no changes: the models match the migrations" in done.stdout
    assert sorted(p.name for p in (copy / "models").glob("*.py")) == MIGRATION_FILES


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"migration_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.postgres
@pytest.mark.slow
def test_the_check_notices_a_field_the_migrations_lack(tmp_path: Path) -> None:
    # Proves the check above can fail: a copy of the migrations whose recorded state lacks
    # person.locale must yield a new migration adding that column, for both databases.
    source = _copy_migrations(tmp_path)
    latest = sorted((source / "models").glob("*.py"))[-1]
    state = decompress_dict(_load(latest).MODELS_STATE)
    person = state["models.Person"]
    person["data_fields"] = [f for f in person["data_fields"] if f["name"] != "locale"]
    head = latest.read_text(encoding="utf-8").split("MODELS_STATE = ", 1)[0]
    latest.write_text(head + f"MODELS_STATE = {compress_dict(state)!r}\n", encoding="utf-8")
    done = _make_migration(source, "add_locale")
    assert done.returncode == 0, done.stdout + done.stderr
    new = sorted(set((source / "models").glob("*.py")) - {source / "models" / name for name in MIGRATION_FILES})
    assert len(new) == 1 and new[0].name.endswith("_add_locale.py"), done.stdout
    module = _load(new[0])
    assert re.search(r'ADD "?locale"? VARCHAR\(16\)', module.SQLITE_UPGRADE, re.IGNORECASE)
    assert re.search(r'ADD "?locale"? VARCHAR\(16\)', module.POSTGRES_UPGRADE, re.IGNORECASE)


async def _columns(settings: Settings) -> dict[str, dict[str, bool]]:
    """{table: {column: nullable}} as the database has them."""
    connection = Tortoise.get_connection("default")
    if settings.is_postgres:
        rows = await connection.execute_query_dict(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'"
        )
        result: dict[str, dict[str, bool]] = {}
        for row in rows:
            result.setdefault(row["table_name"], {})[row["column_name"]] = row["is_nullable"] == "YES"
        return result
    tables = await connection.execute_query_dict("SELECT name FROM sqlite_master WHERE type = 'table'")
    result = {}
    for table in tables:
        name = table["name"]
        if name.startswith("sqlite_"):
            continue
        info = await connection.execute_query_dict(f'PRAGMA table_info("{name}")')
        result[name] = {column["name"]: not column["notnull"] and not column["pk"] for column in info}
    return result


def _expected_columns() -> dict[str, dict[str, bool]]:
    """{table: {column: nullable}} as pulse.models (and aerich's own model) declare them."""
    expected: dict[str, dict[str, bool]] = {}
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        columns: dict[str, bool] = {}
        for name, field in meta.fields_map.items():
            if (
                isinstance(field, ForeignKeyFieldInstance | OneToOneFieldInstance)
                or name not in meta.fields_db_projection
            ):
                continue  # the relation's *_id field carries the column
            columns[meta.fields_db_projection[name]] = bool(field.null) and not field.pk
        expected[meta.db_table] = columns
    return expected


async def test_the_migrated_schema_has_every_table_and_column_of_the_models(db: Settings) -> None:
    assert await _columns(db) == _expected_columns()


def test_upgrading_an_up_to_date_database_is_a_no_op(settings: Settings) -> None:
    # `settings` points at a database the fixtures already migrated.
    assert asyncio.run(pulse_db.upgrade(settings)) == []
    assert asyncio.run(pulse_db.upgrade(settings)) == []


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_upgrading_an_empty_database_applies_every_migration_once(tmp_path: Path, backend: str) -> None:
    name = f"pulse_mig_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        settings = make_settings(tmp_path, f"sqlite://{tmp_path / 'empty.sqlite3'}")
    else:
        asyncio.run(postgres_admin(f'CREATE DATABASE "{name}"'))
        settings = make_settings(tmp_path, postgres_url(name))
    try:

        async def twice() -> tuple[list[str], list[str]]:
            return await pulse_db.upgrade(settings), await pulse_db.upgrade(settings)

        first, second = asyncio.run(twice())
        assert (first, second) == (MIGRATION_FILES, [])
    finally:
        if backend == "postgres":
            asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

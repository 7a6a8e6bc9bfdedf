"""Make one aerich migration that works on both SQLite and PostgreSQL.

aerich writes SQL for the dialect of the database it talks to. Pulse runs on both, so this script
lets aerich generate the migration twice (against a scratch SQLite file and a scratch PostgreSQL
database, each first brought to the current schema) and writes a single file whose ``upgrade`` and
``downgrade`` pick the SQL for the connection's dialect.

Usage: .venv/bin/python migrations/make_migration.py NAME   (PostgreSQL on 127.0.0.1:5432, trust auth)
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from aerich import Command
from tortoise import Tortoise

HERE = Path(__file__).resolve().parent
ADMIN_DSN = os.environ.get("PULSE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")

TEMPLATE = """from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return POSTGRES_UPGRADE if _is_postgres(db) else SQLITE_UPGRADE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return POSTGRES_DOWNGRADE if _is_postgres(db) else SQLITE_DOWNGRADE


SQLITE_UPGRADE = {sqlite_up!r}

POSTGRES_UPGRADE = {pg_up!r}

SQLITE_DOWNGRADE = {sqlite_down!r}

POSTGRES_DOWNGRADE = {pg_down!r}

MODELS_STATE = {state}
"""


def _config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": url},
        "apps": {"models": {"models": ["pulse.models", "aerich.models"], "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def _generate(url: str, location: Path, name: str) -> Path | None:
    versions = location / "models"
    before = set(versions.glob("*.py")) if versions.exists() else set()
    command = Command(_config(url), app="models", location=str(location))
    if not before:
        await command.init_db(safe=True)
    else:
        await command.init()
        await command.upgrade()
        await Tortoise.close_connections()
        # Init again: aerich reads the last applied version at init time, and it was empty before.
        command = Command(_config(url), app="models", location=str(location))
        await Tortoise.init(config=_config(url))
        await command.init()
        await command.migrate(name, no_input=True)
    await Tortoise.close_connections()
    after = set(versions.glob("*.py"))
    new = sorted(after - before)
    return new[0] if new else None


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"m_{uuid.uuid4().hex}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def main(name: str) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="pulse-migration-"))
    db_name = f"pulse_migration_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    try:
        made = {}
        for dialect, url in (
            ("sqlite", f"sqlite://{scratch / 'scratch.sqlite3'}"),
            ("postgres", f"{ADMIN_DSN.rsplit('/', 1)[0]}/{db_name}"),
        ):
            location = scratch / dialect
            shutil.copytree(HERE, location, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            # One process per dialect: Tortoise caches per-dialect query builders on the model classes.
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--one", url, str(location), name, cwd=str(HERE.parent)
            )
            if await proc.wait() != 0:
                print(f"aerich failed on {dialect}")
                return 1
            new = [p for p in (location / "models").glob("*.py") if not (HERE / "models" / p.name).exists()]
            made[dialect] = new[0] if new else None
        if made["sqlite"] is None or made["postgres"] is None:
            print("no changes: the models match the migrations")
            return 0
        sqlite_module, pg_module = _load(made["sqlite"]), _load(made["postgres"])
        state_source = made["postgres"].read_text(encoding="utf-8").split("MODELS_STATE = ", 1)[1]
        text = TEMPLATE.format(
            sqlite_up=await sqlite_module.upgrade(None),
            pg_up=await pg_module.upgrade(None),
            sqlite_down=await sqlite_module.downgrade(None),
            pg_down=await pg_module.downgrade(None),
            state=state_source.strip(),
        )
        target = HERE / "models" / made["postgres"].name
        target.parent.mkdir(exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(HERE.parent)}")
        return 0
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await admin.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        asyncio.run(_generate(sys.argv[2], Path(sys.argv[3]), sys.argv[4]))
        sys.exit(0)
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))

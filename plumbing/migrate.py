"""Plain versioned SQL migrations: ``NNNN_name.sql`` files applied in order, recorded in ``schema_migrations``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from plumbing.exceptions import MigrationFailed

log = structlog.get_logger(__name__)
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any constant will do: it only has to be the same for every process migrating this database.
_LOCK_ID = 0x4C4F4B4554


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path


def discover(folder: Path) -> list[Migration]:
    """The migrations in ``folder``, by version; a badly named .sql file is an error, not ignored."""
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationFailed(f"{path.name}: migration files are named NNNN_description.sql")
        found.append(Migration(match.group(1), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationFailed(f"two migrations share a version in {folder.name}: {versions}")
    return found


async def migrate(conn: asyncpg.Connection, folder: Path) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction; returns their versions."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        done = []
        for migration in discover(folder):
            if migration.version in applied:
                continue
            await _apply(conn, migration)
            done.append(migration.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    sql = migration.path.read_text("utf-8")
    try:
        async with conn.transaction():
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", migration.version, migration.path.name
            )
    except asyncpg.PostgresError as exc:
        raise MigrationFailed(f"{migration.path.name}: {exc}") from exc
    log.info("migration_applied", version=migration.version, name=migration.path.name)

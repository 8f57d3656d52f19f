"""Schema migrations: `upgrade(url)` runs Alembic to head; `check_current(url)` refuses a stale one.

The Alembic configuration is built in code (no alembic.ini): the scripts live in
`storage/migrations`. `herald db upgrade` calls `upgrade`; `herald serve` calls
`check_current` and stops with a message naming the command to run.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection

from engine.errors import InvalidInput, SchemaNotMigrated
from storage.database import create_engine, normalise_url, safe_url
from storage.sqlalchemy_repository import translate_errors

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic Config pointing at Herald's migration scripts (and `url`, if given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        rendered = normalise_url(url).render_as_string(hide_password=False)
        # ConfigParser interpolation would choke on a `%` in a password.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "storage/migrations has no revisions"
    return head


async def upgrade(url: str | URL, revision: str = "head") -> str:
    """Migrate the database at `url` to `revision`; returns the revision it is now at."""
    _check_sqlite_folder(normalise_url(url))
    config = alembic_config(url)
    engine = create_engine(url)

    def run(connection: Connection) -> str | None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        return MigrationContext.configure(connection).get_current_revision()

    try:
        with translate_errors(safe_url(normalise_url(url))):
            async with engine.begin() as connection:
                current = await connection.run_sync(run)
    finally:
        await engine.dispose()
    return current or ""


async def current_revision(url: str | URL) -> str | None:
    """The revision the database at `url` is at (None for an empty database)."""
    parsed = normalise_url(url)
    _check_sqlite_folder(parsed)
    if parsed.get_backend_name() == "sqlite" and not _sqlite_exists(parsed):
        return None
    engine = create_engine(parsed)

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        with translate_errors(safe_url(parsed)):
            async with engine.connect() as connection:
                return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def check_current(url: str | URL) -> None:
    """Raise SchemaNotMigrated unless the database at `url` is at the code's revision."""
    current = await current_revision(url)
    if current != head_revision():
        raise SchemaNotMigrated(
            f"database at {safe_url(normalise_url(url))} is not migrated "
            f"(at {current or 'no revision'}, code needs {head_revision()}): "
            "run `herald db upgrade`"
        )


def is_new_sqlite(url: str | URL) -> bool:
    """True for a SQLite URL whose file does not exist yet (`herald demo` may create it)."""
    parsed = normalise_url(url)
    return parsed.get_backend_name() == "sqlite" and not _sqlite_exists(parsed)


def _check_sqlite_folder(url: URL) -> None:
    """SQLite creates a missing file, never a missing folder: say so rather than "unable to
    open database file" (or advice to migrate a database that cannot exist)."""
    if url.get_backend_name() != "sqlite" or _sqlite_exists(url):
        return
    folder = Path(url.database or "").parent
    if not folder.is_dir():
        raise InvalidInput(
            f"database at {safe_url(url)}: the folder {folder} does not exist; create it or "
            "choose another path"
        )


def _sqlite_exists(url: URL) -> bool:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return True
    return Path(database).exists()

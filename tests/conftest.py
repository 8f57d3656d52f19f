"""Shared fixtures: a throwaway PostgreSQL cluster, SQLite files, and a repository per backend.

The PostgreSQL cluster is started once per session from Debian's binaries
(`/usr/lib/postgresql/*/bin`); without them the Postgres tests fail in CI (env `CI` set)
and are skipped elsewhere.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
BACKENDS = ["memory", *SQL_BACKENDS]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres_user(args: list[str]) -> list[str]:
    # The server refuses to run as root; as any other user it runs as that user.
    if os.geteuid() == 0:
        # runuser is in /usr/sbin, which a root PATH of /usr/bin:/bin (cron, containers,
        # `env -i`) leaves out: 71 Postgres tests errored on "No such file: 'runuser'".
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", "postgres", "--", *args]
    return args


class _PostgresCluster:
    """One initdb'd cluster on a loopback port, owned by the test session."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="herald-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
        self._counter = 0
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def run(self, *args: str) -> None:
        subprocess.run(
            _as_postgres_user([str(self.bindir / args[0]), *args[1:]]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self.run("initdb", "-D", str(self.data), "--auth=trust", "--no-sync", "-U", self.user)
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def createdb(self, name: str, template: str | None = None) -> str:
        args = ["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user]
        if template:
            args += ["-T", template]
        self.run(*args, name)
        return self.url(name)

    def next_name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter}"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[_PostgresCluster]:
    """A running throwaway PostgreSQL cluster for the whole session."""
    bindir = _pg_bin()
    if bindir is None:
        message = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must install the postgresql package)")
        pytest.skip(message)
    cluster = _PostgresCluster(bindir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: _PostgresCluster) -> str:
    """The URL of an empty database `herald` on the session's cluster (not migrated)."""
    return postgres_cluster.createdb("herald")


@pytest.fixture(scope="session")
def _postgres_migrated(postgres_cluster: _PostgresCluster) -> str:
    """One migrated database shared by the session; tests empty it before use."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from storage.migrate import upgrade

    url = postgres_cluster.createdb("herald_contract")
    # Requested from inside async fixtures, where this thread's loop is already running.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, upgrade(url)).result()
    return url


@pytest.fixture
def migrated_postgres_url(_postgres_migrated: str) -> str:
    """The session's migrated PostgreSQL database (use `empty_postgres(url)` to clear it)."""
    return _postgres_migrated


async def empty_postgres(url: str) -> None:
    """Empty every Herald table (TRUNCATE is far faster than a database per test)."""
    import asyncpg

    from storage.tables import metadata

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a not-yet-existing SQLite file in the test's temporary directory."""
    return f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"


@pytest.fixture(params=BACKENDS)
async def repository(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh repository on each backend: memory, a migrated SQLite file, PostgreSQL."""
    if request.param == "memory":
        from storage.memory_repository import MemoryRepository

        repo: Any = MemoryRepository()
    else:
        from storage.sqlalchemy_repository import SQLAlchemyRepository

        url = await _migrated_url(request, request.param, tmp_path)
        repo = SQLAlchemyRepository(url)
    repo.backend = request.param
    repo.test_url = None if request.param == "memory" else url
    try:
        yield repo
    finally:
        await repo.close()


@pytest.fixture(params=SQL_BACKENDS)
async def sql_repository(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh SQLAlchemyRepository on SQLite and PostgreSQL; `.test_url` is its URL."""
    from storage.sqlalchemy_repository import SQLAlchemyRepository

    url = await _migrated_url(request, request.param, tmp_path)
    repo: Any = SQLAlchemyRepository(url)
    repo.backend = request.param
    repo.test_url = url
    try:
        yield repo
    finally:
        await repo.close()


async def _migrated_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    from storage.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
        await upgrade(url)
        return url
    url = str(request.getfixturevalue("migrated_postgres_url"))
    await empty_postgres(url)
    return url


@pytest.fixture(params=BACKENDS)
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh Slack outbox on each backend: memory, SQLite, PostgreSQL."""
    from storage.outbox import MemoryOutbox, SQLAlchemyOutbox

    if request.param == "memory":
        box: Any = MemoryOutbox()
    else:
        box = SQLAlchemyOutbox(await _migrated_url(request, request.param, tmp_path))
    try:
        yield box
    finally:
        await box.close()

"""PostgreSQL for the local stack: use one that already answers the database URL, else run a private cluster."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import asyncpg
import structlog

from loket.stack import pg_cluster, pg_home
from loket.stack.exceptions import PortTaken, StackError
from loket.stack.layout import PostgresPaths
from loket.stack.ports import warn_if_ephemeral
from loket.stack.status import ComponentStatus
from plumbing.settings import StackSettings

log = structlog.get_logger(__name__)

PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Target:
    """The parts of the database URL the stack needs. Holds the password: never log it."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str

    @classmethod
    def from_settings(cls, settings: StackSettings) -> Target:
        url = urlsplit(settings.database_url.get_secret_value())
        if url.scheme not in ("postgresql", "postgres") or not url.username:
            raise StackError("LOKET_DATABASE_URL must look like postgresql://user:password@host:port/database")
        database = unquote(url.path.lstrip("/")) or unquote(url.username)
        return cls(
            url.hostname or "127.0.0.1", url.port or 5432, unquote(url.username), unquote(url.password or ""), database
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def connect(self, database: str | None = None) -> asyncpg.Connection:
        return await asyncpg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database or self.database,
            timeout=PROBE_TIMEOUT_S,
        )


class Answer(enum.Enum):
    """What a server at the URL's address said to our credentials."""

    USABLE = "usable"
    NO_DATABASE = "no database"  # our credentials work, the database is not there yet
    UNREACHABLE = "unreachable"
    REFUSED = "refused"


async def probe(target: Target) -> tuple[Answer, str]:
    """Try the URL once, briefly; the string explains a refusal."""
    try:
        conn = await target.connect()
    except asyncpg.InvalidCatalogNameError:
        return Answer.NO_DATABASE, ""
    except TimeoutError:
        return Answer.REFUSED, f"no PostgreSQL handshake within {PROBE_TIMEOUT_S:.0f}s"
    except OSError as exc:
        return (Answer.UNREACHABLE, "") if _nothing_listens(exc) else (Answer.REFUSED, str(exc))
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return Answer.REFUSED, f"{type(exc).__name__}: {exc}"
    await conn.close()
    return Answer.USABLE, ""


def _nothing_listens(exc: OSError) -> bool:
    # With several addresses for a host name, asyncio folds the refusals into one plain OSError.
    return isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc)


async def ensure_running(settings: StackSettings) -> ComponentStatus:
    """Reuse our running cluster or a server that answers the URL; otherwise initialise and start ours."""
    target = Target.from_settings(settings)
    paths = pg_home.locate(settings.state_dir)
    pid = pg_cluster.running_pid(paths)
    if pid is not None:
        log.info("postgres_reused", pid=pid, address=target.address)
        await ensure_database(target)
        return _ours(paths, target, pid)
    answer, reason = await probe(target)
    if answer in (Answer.USABLE, Answer.NO_DATABASE):
        await ensure_database(target)
        _mark_external(paths, target)
        log.info("postgres_external_used", address=target.address)
        return ComponentStatus("postgres", target.address, running=True)
    if answer is Answer.REFUSED:
        raise PortTaken(
            f"another server at {target.address} refuses Loket's database URL ({reason}); stop it, "
            "or set LOKET_DATABASE_URL to a server and credentials that work"
        )
    paths.external_marker.unlink(missing_ok=True)
    warn_if_ephemeral("postgres", target.port)
    pg_home.prepare(paths, settings.state_dir)
    cluster = pg_cluster.Cluster.find(paths)
    await pg_cluster.ensure_initialised(cluster, target.user, target.password)
    pg_cluster.write_settings(cluster, target.host, target.port)
    pid = await pg_cluster.start(cluster)
    log.info("postgres_started", pid=pid, address=target.address, log=str(paths.server_log))
    await ensure_database(target)
    return _ours(paths, target, pid)


async def ensure_database(target: Target) -> None:
    """Create the URL's database when it is missing; its owner is the URL's user."""
    conn = await target.connect(database="postgres")
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", target.database):
            return
        # CREATE DATABASE takes no parameters; quote the names as identifiers.
        name = target.database.replace('"', '""')
        owner = target.user.replace('"', '""')
        await conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    except asyncpg.PostgresError as exc:
        raise StackError(f"could not create database {target.database!r} at {target.address}: {exc}") from exc
    finally:
        await conn.close()
    log.info("postgres_database_created", database=target.database)


def _mark_external(paths: PostgresPaths, target: Target) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.external_marker.write_text(f"{target.address} answered at {datetime.now(UTC).isoformat()}\n")


def stop(settings: StackSettings) -> int | None:
    """Stop the cluster ``up`` started and return its pid; an external server is left alone."""
    paths = pg_home.locate(settings.state_dir)
    pid = pg_cluster.running_pid(paths)
    if pid is None:
        if paths.external_marker.exists():
            log.info("postgres_left_running", reason="external, not started by loket")
        return None
    pg_cluster.stop(pg_cluster.Cluster.find(paths))
    log.info("postgres_stopped", pid=pid)
    return pid


async def describe(settings: StackSettings) -> ComponentStatus:
    """Whether our cluster runs, or another server answers the URL."""
    target = Target.from_settings(settings)
    paths = pg_home.locate(settings.state_dir)
    pid = pg_cluster.running_pid(paths)
    if pid is not None:
        return _ours(paths, target, pid)
    answer, _ = await probe(target)
    running = answer in (Answer.USABLE, Answer.NO_DATABASE)
    return ComponentStatus("postgres", target.address, running=running)


def _ours(paths: PostgresPaths, target: Target, pid: int) -> ComponentStatus:
    return ComponentStatus("postgres", target.address, running=True, pid=pid, ours=True, log_path=paths.server_log)

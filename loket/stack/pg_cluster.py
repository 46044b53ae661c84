"""The private PostgreSQL cluster on disk: initdb, our settings, pg_ctl start and stop, its pid."""

from __future__ import annotations

import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

import structlog

from loket.stack import privilege
from loket.stack.exceptions import CommandFailed, StartFailed
from loket.stack.layout import PostgresPaths
from loket.stack.process import is_alive, require, run, run_async, tail

log = structlog.get_logger(__name__)

DEBIAN_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 120
# Unix socket paths are limited to ~107 bytes; PostgreSQL refuses to start with a longer one.
MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class Cluster:
    """Where the cluster lives, which binaries run it and as whom."""

    paths: PostgresPaths
    bin_dir: Path
    user: pwd.struct_passwd | None

    @classmethod
    def find(cls, paths: PostgresPaths) -> Cluster:
        initdb = Path(require("initdb", "postgresql", extra_dirs=_debian_bin_dirs())).resolve()
        # pg_ctl must come from the same installation as initdb, or the versions may not match.
        if not (initdb.parent / "pg_ctl").exists():
            require("pg_ctl", "postgresql")
        return cls(paths, initdb.parent, privilege.server_user())

    def command(self, program: str, *args: str) -> list[str]:
        return privilege.as_user(self.user, [str(self.bin_dir / program), *args])


def _debian_bin_dirs() -> list[Path]:
    """Debian installs PostgreSQL off PATH, in /usr/lib/postgresql/<major>/bin; newest first."""
    majors = [p for p in DEBIAN_ROOT.glob("*") if p.name.isdigit() and (p / "bin").is_dir()]
    return [p / "bin" for p in sorted(majors, key=lambda p: int(p.name), reverse=True)]


def running_pid(paths: PostgresPaths) -> int | None:
    """The postmaster's pid when our cluster runs. postmaster.pid belongs to PostgreSQL; we never delete it."""
    try:
        pid = int(paths.pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if is_alive(pid, "postgres") else None


async def ensure_initialised(cluster: Cluster, user: str, password: str) -> None:
    """Create the cluster with ``user`` as superuser, once; an existing cluster keeps its data."""
    paths = cluster.paths
    for folder in (paths.root, paths.sockets, paths.logs):
        folder.mkdir(parents=True, exist_ok=True)
    if (paths.data / "PG_VERSION").exists():
        return
    pwfile = paths.root / ".initdb-password"
    pwfile.touch(mode=0o600)
    pwfile.write_text(password + "\n")
    privilege.hand_over(paths.root, cluster.user)
    setup = ["-D", str(paths.data), "--username", user, "--pwfile", str(pwfile), "-E", "UTF8", *_locale_args()]
    # TCP clients log in with the URL's password; the Unix socket sits in our own folder and is trusted.
    auth = ["--auth-host=scram-sha-256", "--auth-local=trust"]
    try:
        await run_async(
            cluster.command("initdb", *setup, *auth),
            what="initdb",
            progress_event="postgres_initdb_awaited",
            cwd=paths.root,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    with (paths.data / "postgresql.conf").open("a") as conf:
        conf.write("\n# Loket's settings, rewritten on every `loket stack up`.\ninclude_if_exists = 'loket.conf'\n")
    log.info("postgres_cluster_initialised", data=str(paths.data), superuser=user)


def _locale_args() -> list[str]:
    try:
        available = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        available = ""
    names = {line.strip().lower().replace("-", "") for line in available.splitlines()}
    return ["--locale=C.UTF-8"] if "c.utf8" in names else ["--no-locale"]


def write_settings(cluster: Cluster, host: str, port: int) -> None:
    """Listen where the database URL points; keep the Unix socket inside the cluster's own folder."""
    sockets = str(cluster.paths.sockets)
    if len(sockets) + len(f"/.s.PGSQL.{port}") > MAX_SOCKET_PATH:
        log.info("postgres_unix_socket_skipped", reason="state folder path too long for a socket", path=sockets)
        sockets = ""
    cluster.paths.loket_conf.write_text(
        f"listen_addresses = '{_quote(host)}'\nport = {port}\nunix_socket_directories = '{_quote(sockets)}'\n"
    )
    privilege.hand_over(cluster.paths.root, cluster.user)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


async def start(cluster: Cluster) -> int:
    """``pg_ctl start``, waiting until it accepts connections; StartFailed quotes the server log."""
    paths = cluster.paths
    try:
        await run_async(
            cluster.command(
                "pg_ctl", "-D", str(paths.data), "-l", str(paths.server_log), "-w", "-t", str(START_TIMEOUT_S), "start"
            ),
            what="pg_ctl start",
            progress_event="postgres_start_awaited",
            cwd=paths.root,
            timeout=START_TIMEOUT_S + 30,
        )
    except CommandFailed as exc:
        raise StartFailed(f"{exc}\nLast lines of {paths.server_log}:\n{tail(paths.server_log)}") from exc
    pid = running_pid(paths)
    if pid is None:
        raise StartFailed(f"PostgreSQL did not stay up; last lines of {paths.server_log}:\n{tail(paths.server_log)}")
    return pid


def stop(cluster: Cluster) -> None:
    """``pg_ctl stop -m fast`` as the user that runs the cluster: open sessions are ended, data is kept."""
    run(
        cluster.command("pg_ctl", "-D", str(cluster.paths.data), "-m", "fast", "-w", "-t", "60", "stop"),
        what="pg_ctl stop",
        cwd=cluster.paths.root,
        timeout=90,
    )

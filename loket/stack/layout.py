"""Where the local stack keeps its files, under the state folder as a rule: jars, data, logs and pid files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KafkaPaths:
    """Files of the local Kafka broker, all under ``<state>/kafka``."""

    root: Path

    @classmethod
    def under(cls, state_dir: Path) -> KafkaPaths:
        return cls(state_dir.resolve() / "kafka")

    @property
    def libs(self) -> Path:
        return self.root / "libs"

    @property
    def pom_marker(self) -> Path:
        """Holds the sha256 of the pom the jars in ``libs`` were resolved from."""
        return self.libs / ".pom-sha256"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"

    @property
    def stdout_log(self) -> Path:
        return self.logs / "stdout.log"

    @property
    def properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.root / "log4j2.xml"

    @property
    def pid_file(self) -> Path:
        return self.root / "kafka.pid"


@dataclass(frozen=True)
class PostgresPaths:
    """Files of the private PostgreSQL cluster, all under one root: ``<state>/postgres`` as a rule;
    ``pg_home.locate`` says when it lives outside the state folder instead."""

    root: Path

    @classmethod
    def under(cls, state_dir: Path) -> PostgresPaths:
        return cls(state_dir.resolve() / "postgres")

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs / "postgres.log"

    @property
    def pid_file(self) -> Path:
        """Written by PostgreSQL itself; its first line is the postmaster's pid."""
        return self.data / "postmaster.pid"

    @property
    def loket_conf(self) -> Path:
        """Our settings, rewritten before every start and included from postgresql.conf."""
        return self.data / "loket.conf"

    @property
    def external_marker(self) -> Path:
        """Present when ``up`` found a PostgreSQL already answering and started none."""
        return self.root / "external"

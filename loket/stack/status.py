"""What the local stack runs where: one line per component, for people and for test fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ComponentStatus:
    """One server of the stack: whether it answers, where, and whether ``loket stack`` started it."""

    name: str
    address: str
    running: bool
    pid: int | None = None
    ours: bool = False
    log_path: Path | None = None

    def __str__(self) -> str:
        if not self.running:
            return f"{self.name:<9} stopped  {self.address}"
        origin = f"started by loket (pid {self.pid})" if self.ours else "external, not started by loket"
        line = f"{self.name:<9} running  {self.address}  {origin}"
        return f"{line}  log {self.log_path}" if self.ours and self.log_path else line


@dataclass(frozen=True)
class StackStatus:
    """The whole local stack: Kafka and PostgreSQL."""

    kafka: ComponentStatus
    postgres: ComponentStatus

    @property
    def components(self) -> tuple[ComponentStatus, ...]:
        return (self.kafka, self.postgres)

    @property
    def running(self) -> bool:
        """Whether every component answers."""
        return all(component.running for component in self.components)

    def __str__(self) -> str:
        return "\n".join(str(component) for component in self.components)

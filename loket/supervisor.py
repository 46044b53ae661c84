"""Run Loket's services one per process and stop exactly those processes again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

SERVICES: tuple[str, ...] = ("cases", "norms", "router", "intake")
# Stopped, and waited for, before the others: once it is gone nothing new comes in.
FRONT_DOOR = "intake"


def loket_command(service: str) -> list[str]:
    """``python -m loket <service>`` with the interpreter we run in."""
    return [sys.executable, "-m", "loket", service]


class Supervisor:
    """Starts each service in its own session; stops the front door first, then the rest."""

    def __init__(self, services: Sequence[str] = SERVICES, env: Mapping[str, str] | None = None,
                 log_dir: Path | None = None, command: Callable[[str], list[str]] = loket_command) -> None:
        self._services = tuple(services)
        self._env = {**os.environ, **(env or {})}
        self._log_dir = log_dir
        self._command = command
        self._processes: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        for name in self._services:
            out = self._output(name)
            try:
                self._processes[name] = subprocess.Popen(
                    self._command(name), env=self._env, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl-C reaches only us; we stop the services in order
                )
            finally:
                if out is not None:
                    os.close(out)  # the child has its own copy now
            log.info("service_started", service=name, pid=self._processes[name].pid)

    def _output(self, name: str) -> int | None:
        if self._log_dir is None:
            return None
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return os.open(self._log_dir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def exited(self) -> dict[str, int]:
        """Services that ended by themselves, with their exit codes."""
        return {name: p.returncode for name, p in self._processes.items() if p.poll() is not None}

    def stop(self, timeout: float = 30.0) -> None:
        """Stop intake and wait for it, so nothing new comes in; then the rest together.

        Each of the two steps SIGTERMs, waits up to ``timeout`` and SIGKILLs what lingers.
        """
        first = [name for name in self._processes if name == FRONT_DOOR]
        rest = [name for name in self._processes if name != FRONT_DOOR]
        for names in (first, rest):
            self._stop_all(names, timeout)
        self._processes.clear()

    def _stop_all(self, names: Sequence[str], timeout: float) -> None:
        for name in names:
            _signal(self._processes[name], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name in names:
            process = self._processes[name]
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("service_killed", service=name, pid=process.pid, after_s=timeout)
                _signal(process, signal.SIGKILL)
                process.wait()
            log.info("service_stopped", service=name, exit_code=process.returncode)

    def wait(self) -> int:
        """Block until a signal or until a service dies; then stop all. Returns the exit code for the caller."""
        stop_requested = False

        def _request_stop(signum: int, frame: object) -> None:
            nonlocal stop_requested
            stop_requested = True

        previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stop_requested and not self.exited():
                time.sleep(0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        died = self.exited()
        if died:
            log.error("service_died", services=died)
        self.stop()
        return 1 if died else 0


def _signal(process: subprocess.Popen, sig: signal.Signals) -> None:
    """Signal the service's whole session group, so helper processes it started go too."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass  # it ended between poll() and killpg()

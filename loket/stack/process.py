"""Child processes of the local stack: finding programs, running helpers, detached servers and pid files."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog

from loket.stack.exceptions import CommandFailed, MissingTool, StartFailed

log = structlog.get_logger(__name__)

PROGRESS_EVERY_S = 5.0

# Servers started by this interpreter. Holding the Popen objects lets us reap them when they exit
# (a zombie still answers kill(pid, 0)) and keeps Popen.__del__ from warning about a live child.
_started: dict[int, subprocess.Popen[bytes]] = {}


def require(program: str, package: str, extra_dirs: Sequence[Path] = ()) -> str:
    """Path of ``program`` on PATH or in one of ``extra_dirs``; MissingTool names the package otherwise."""
    found = shutil.which(program)
    for folder in extra_dirs:
        found = found or shutil.which(program, path=str(folder))
    if found is None:
        raise MissingTool(program, package)
    return found


def run(cmd: Sequence[str], *, what: str, cwd: Path | None = None, timeout: float = 600) -> str:
    """Run a helper to completion and return its output; CommandFailed quotes its last lines."""
    try:
        done = subprocess.run(
            list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(f"{what} did not finish within {timeout:.0f}s: {' '.join(cmd)}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-25:]
        raise CommandFailed(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n" + "\n".join(output))
    return done.stdout


async def run_async(
    cmd: Sequence[str], *, what: str, progress_event: str, cwd: Path | None = None, timeout: float = 600
) -> str:
    """``run`` in a worker thread, logging ``progress_event`` every few seconds while the helper works."""
    started = time.monotonic()
    helper = asyncio.ensure_future(asyncio.to_thread(run, cmd, what=what, cwd=cwd, timeout=timeout))
    while True:
        done, _ = await asyncio.wait({helper}, timeout=PROGRESS_EVERY_S)
        if done:
            return helper.result()
        log.info(progress_event, waited_s=round(time.monotonic() - started))


def start_detached(cmd: Sequence[str], *, log_path: Path, pid_path: Path) -> int:
    """Start a server in its own session, so it outlives us and can be stopped as a group; record its pid.

    ``log_path`` catches what the server prints itself (JVM errors), fresh for every start.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _started[proc.pid] = proc
    pid_path.write_text(f"{proc.pid}\n")
    return proc.pid


def is_alive(pid: int, marker: str | None = None) -> bool:
    """Whether ``pid`` runs; with ``marker``, also whether its command line contains it (pids get reused)."""
    if pid in _started:
        return _started[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, but belongs to another user (a server run as 'postgres')
    proc = Path("/proc") / str(pid)
    if not proc.is_dir():
        return True  # no /proc (macOS): kill(pid, 0) is all we can know
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False
    return state != "Z" and (marker is None or marker in cmdline)


def read_pid(pid_path: Path, marker: str | None = None) -> int | None:
    """The live pid recorded in ``pid_path``; a stale pid file (process gone) is removed."""
    try:
        pid = int(pid_path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if is_alive(pid, marker):
        return pid
    pid_path.unlink(missing_ok=True)
    log.info("stale_pid_file_removed", pid_file=str(pid_path), pid=pid)
    return None


def stop_group(pid: int, *, what: str, grace_s: float = 30.0) -> None:
    """SIGTERM the process group led by ``pid``, wait up to ``grace_s``, then SIGKILL it."""
    if not _signal_group(pid, signal.SIGTERM):
        return
    if _wait_gone(pid, what=what, timeout_s=grace_s):
        return
    log.warning("server_killed", server=what, pid=pid, after_s=grace_s)
    _signal_group(pid, signal.SIGKILL)
    _wait_gone(pid, what=what, timeout_s=10.0)


def _signal_group(pid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, *, what: str, timeout_s: float) -> bool:
    started = time.monotonic()
    next_note = started + PROGRESS_EVERY_S
    while is_alive(pid):
        now = time.monotonic()
        if now - started > timeout_s:
            return False
        if now >= next_note:
            log.info("server_stop_awaited", server=what, pid=pid, waited_s=round(now - started))
            next_note += PROGRESS_EVERY_S
        time.sleep(0.2)
    _started.pop(pid, None)
    return True


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


async def wait_until(
    probe: Callable[[], Awaitable[bool]],
    *,
    what: str,
    timeout_s: float,
    still_running: Callable[[], bool],
    log_paths: Sequence[Path],
) -> None:
    """Poll ``probe`` until it answers True, telling a human every few seconds that we are still waiting."""
    started = time.monotonic()
    next_note = started + PROGRESS_EVERY_S
    while not await probe():
        if not still_running():
            raise StartFailed(f"{what} exited while starting.\n{_tails(log_paths)}")
        now = time.monotonic()
        if now - started > timeout_s:
            raise StartFailed(f"{what} did not answer within {timeout_s:.0f}s.\n{_tails(log_paths)}")
        if now >= next_note:
            log.info(f"{what}_start_awaited", waited_s=round(now - started), limit_s=round(timeout_s))
            next_note += PROGRESS_EVERY_S
        await asyncio.sleep(0.5)


def _tails(paths: Sequence[Path]) -> str:
    return "\n".join(f"Last lines of {path}:\n{tail(path)}" for path in paths if path.exists())

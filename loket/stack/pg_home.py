"""Where the private PostgreSQL cluster keeps its files: in the state folder, or outside it when we are
root and the unprivileged server user may not enter the state folder (a clone under a private home)."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from pathlib import Path

import structlog

from loket.stack import privilege
from loket.stack.layout import PostgresPaths

log = structlog.get_logger(__name__)

# Owned by root and open to all for traversal; each state folder gets its own subfolder in it.
RELOCATED_BASE = Path("/var/lib/loket")
RECORD_NAME = "postgres.location"


def locate(state_dir: Path) -> PostgresPaths:
    """The cluster's files: where ``up`` recorded them, else where ``up`` would put them now.

    The record wins, so ``status``, ``down`` and ``reset`` still find a relocated cluster after the state
    folder's permissions changed.
    """
    recorded = _recorded(state_dir)
    if recorded is not None:
        return PostgresPaths(recorded)
    if _server_user_blocked(state_dir):
        return PostgresPaths(relocated_root(state_dir))
    return PostgresPaths.under(state_dir)


def relocated_root(state_dir: Path) -> Path:
    """``/var/lib/loket/<digest>/postgres``: one per state folder, so two clones never share a cluster."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:16]
    return RELOCATED_BASE / digest / "postgres"


def is_relocated(paths: PostgresPaths, state_dir: Path) -> bool:
    return paths.root != PostgresPaths.under(state_dir).root


def prepare(paths: PostgresPaths, state_dir: Path) -> None:
    """Before our cluster is created or started: make a relocated home traversable and record it."""
    if not is_relocated(paths, state_dir):
        return
    if _in_base(paths):
        for folder in (RELOCATED_BASE, paths.root.parent):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o755)  # the umask may be 077 (CI); the server user must pass these folders
    paths.root.mkdir(parents=True, exist_ok=True)
    _record_file(state_dir).write_text(f"{paths.root}\n")
    log.info("postgres_files_relocated", state_dir=str(state_dir.resolve()), to=str(paths.root),
             reason="the unprivileged server user may not enter the state folder")


def forget(paths: PostgresPaths, state_dir: Path) -> None:
    """For ``reset``: remove a relocated home altogether, and its record, so nothing lingers outside the clone."""
    if is_relocated(paths, state_dir) and _in_base(paths):
        shutil.rmtree(paths.root.parent, ignore_errors=True)
        with contextlib.suppress(OSError):
            RELOCATED_BASE.rmdir()  # only when no other state folder keeps a cluster there
    _record_file(state_dir).unlink(missing_ok=True)


def _recorded(state_dir: Path) -> Path | None:
    try:
        text = _record_file(state_dir).read_text().strip()
    except OSError:
        return None
    return Path(text) if Path(text).is_absolute() else None


def _in_base(paths: PostgresPaths) -> bool:
    # Folders are opened up or removed whole only inside our own base, whatever the record file may say.
    return paths.root.parent.parent == RELOCATED_BASE


def _record_file(state_dir: Path) -> Path:
    return state_dir.resolve() / RECORD_NAME


def _server_user_blocked(state_dir: Path) -> bool:
    user = privilege.server_user()
    if user is None:
        return False
    return privilege.blocking_folder(state_dir.resolve() / "postgres", user) is not None

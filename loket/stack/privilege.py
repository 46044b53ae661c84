"""Running PostgreSQL as an unprivileged user when we are root, since initdb and postgres refuse root."""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Sequence
from pathlib import Path

from loket.stack.exceptions import StackError, StateDirUnusable
from loket.stack.process import require

CANDIDATE_USERS = ("postgres", "nobody")


def server_user() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in CANDIDATE_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise StackError("running as root, but there is neither a 'postgres' nor a 'nobody' user to run PostgreSQL as")


def as_user(user: pwd.struct_passwd | None, cmd: Sequence[str]) -> list[str]:
    """``cmd``, prefixed with runuser when it has to run as ``user``."""
    if user is None:
        return list(cmd)
    return [require("runuser", "util-linux"), "-u", user.pw_name, "--", *cmd]


def hand_over(folder: Path, user: pwd.struct_passwd | None) -> None:
    """Give ``folder`` and everything in it to ``user``, after checking that user can reach it."""
    if user is None:
        return
    check_reachable(folder, user)
    for path in (folder, *folder.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def check_reachable(folder: Path, user: pwd.struct_passwd) -> None:
    """Every folder above ``folder`` must let ``user`` pass, or PostgreSQL cannot open its data directory."""
    blocked = blocking_folder(folder, user)
    if blocked is not None:
        raise StateDirUnusable(
            f"PostgreSQL runs as '{user.pw_name}' (it refuses to run as root), but '{user.pw_name}' "
            f"may not enter {blocked}; allow it (chmod o+x {blocked}) or set LOKET_STATE_DIR elsewhere"
        )


def blocking_folder(folder: Path, user: pwd.struct_passwd) -> Path | None:
    """The nearest existing folder above ``folder`` that ``user`` may not pass; None when none blocks."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for parent in folder.resolve().parents:
        # Folders that do not exist yet will be ours, created by ``up``; only the existing ones can block.
        if parent.exists() and not _can_traverse(parent, user.pw_uid, groups):
            return parent
    return None


def _can_traverse(folder: Path, uid: int, groups: set[int]) -> bool:
    info = folder.stat()
    # Only the first matching class of permission bits counts: owner, else group, else others.
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)

"""The README's demo command, end to end: a burst of questions, every one decided, nothing left behind."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plumbing.settings import StackSettings
from tests.realstack import free_port

pytestmark = pytest.mark.e2e


def test_demo_decides_every_question_and_leaves_no_process_or_folder_behind(env, tmp_path):
    marker = f"LOKET_DEMO_TEST_{os.getpid()}"
    demo_env = {**os.environ, **env, marker: "1",
                "LOKET_INTAKE_PORT": str(free_port()), "LOKET_NORMS_PORT": str(free_port())}
    user_state = StackSettings().state_dir
    before = {name: _entries(user_state / name) for name in ("logs", "faust")}
    result = subprocess.run([sys.executable, "-m", "loket", "demo", "--questions", "20", "--no-keep-running",
                             "--run-dir", str(tmp_path / "run")],
                            env=demo_env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "20 of 20 questions decided" in result.stdout
    assert not _children_running(marker)  # the services it started are gone; the session's stack stays
    _assert_logs_and_working_files_in_run_dir_only(tmp_path / "run", env["LOKET_TOPIC_PREFIX"], user_state, before)


def _assert_logs_and_working_files_in_run_dir_only(run_dir: Path, prefix: str, user_state: Path,
                                                   before: dict[str, set[str]]) -> None:
    assert (run_dir / "logs" / "router.log").stat().st_size > 0
    assert _entries(user_state / "logs") == before["logs"]
    # Only this test's own folders count: other test sessions may run beside this one.
    assert {name for name in _entries(user_state / "faust") - before["faust"] if name.startswith(prefix)} == set()


def _entries(folder: Path) -> set[str]:
    return set(os.listdir(folder)) if folder.is_dir() else set()


def _children_running(marker: str) -> list[str]:
    """Command lines of running processes that carry this test's marker in their environment."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if marker.encode() in handle.read():
                    with open(f"/proc/{pid}/cmdline", "rb") as cmd:
                        found.append(cmd.read().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found

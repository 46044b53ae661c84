"""The README's demo command, end to end: a burst of questions, every one decided, nothing left running."""

import os
import subprocess
import sys

import pytest

from tests.realstack import free_port

pytestmark = pytest.mark.e2e


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


def test_demo_decides_every_question_and_leaves_no_process(env):
    marker = f"LOKET_DEMO_TEST_{os.getpid()}"
    demo_env = {**os.environ, **env, marker: "1",
                "LOKET_INTAKE_PORT": str(free_port()), "LOKET_NORMS_PORT": str(free_port())}
    result = subprocess.run([sys.executable, "-m", "loket", "demo", "--questions", "20", "--no-keep-running"],
                            env=demo_env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "20 of 20 questions decided" in result.stdout
    assert not _children_running(marker)  # the services it started are gone; the session's stack stays

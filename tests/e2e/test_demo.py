"""The README's demo command, end to end: a simulated run through the intake, every question decided, nothing
left behind, and output a newcomer can read and copy from an 80-column terminal."""

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loket.simulator import Door, Scenario, simulate
from loket.simulator.command import AMSTERDAM
from plumbing.organisation import load_organisation
from plumbing.settings import StackSettings
from tests.readme import code_block
from tests.realstack import http_ports

pytestmark = pytest.mark.e2e

#: Ten busy minutes at full speed: some thirty questions, some of them asked twice.
DEMO = ["--start", "09:00", "--duration", "10m", "--speed", "max"]
DEFAULT_INTAKE = "http://127.0.0.1:8080/"


def test_demo_decides_every_question_and_leaves_no_process_or_folder_behind(env, tmp_path):
    marker = f"LOKET_DEMO_TEST_{os.getpid()}"
    ports = http_ports()
    intake_port = ports["LOKET_INTAKE_PORT"]
    demo_env = {**os.environ, **env, **ports, marker: "1", "COLUMNS": "80", "PYTHONIOENCODING": "utf-8"}
    user_state = StackSettings().state_dir
    before = _entries(user_state / "logs")

    result = subprocess.run([sys.executable, "-m", "loket", "demo", *DEMO,
                             "--no-keep-running", "--run-dir", str(tmp_path / "run")],
                            env=demo_env, capture_output=True, text=True, timeout=240)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    decided = re.search(r"^(\d+) of (\d+) questions decided$", result.stdout, re.MULTILINE)
    assert decided and decided[1] == decided[2] and int(decided[2]) > 8, result.stdout[-3000:]
    assert "phone: calls offered (10 agents)" in result.stdout  # the simulator's own figures
    thermometer = f"Servicethermometer  http://127.0.0.1:{ports['LOKET_NORMS_PORT']}/thermometer"
    assert thermometer in result.stdout and result.stdout.index(thermometer) < result.stdout.index("channel")
    assert not _children_running(marker)  # the services it started are gone; the session's stack stays
    lines = result.stdout.splitlines()
    stack_status = subprocess.run([sys.executable, "-m", "loket", "stack", "status"], env=demo_env,
                                  capture_output=True, text=True, timeout=60, check=True).stdout
    _assert_stack_shown_as_loket_stack_status_says_it(lines, stack_status)
    _assert_table_shows_different_questions_under_english_headers(lines)
    _assert_curl_is_the_readmes_and_fits_80_columns(lines, intake_port)
    _assert_logs_in_run_dir_only(tmp_path / "run", user_state, before)


def _assert_stack_shown_as_loket_stack_status_says_it(lines: list[str], stack_status: str) -> None:
    assert "StackStatus(" not in "\n".join(lines)
    for line in stack_status.splitlines():
        assert line in lines, f"{line!r} of `loket stack status` is not a line of the demo's output"


def _assert_table_shows_different_questions_under_english_headers(lines: list[str]) -> None:
    [header] = [line for line in lines if line.startswith("┃")]
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == \
        ["channel", "question", "outcome", "subject", "department"]
    questions = _question_column(lines[lines.index(header):])
    sent = {_unspaced(post.body["text"]) for post in _simulated().posts if post.door is Door.QUESTIONS}
    assert set(questions) <= sent, questions  # each read back whole: nothing cut off
    assert len(questions) == min(8, len(sent))
    assert len(set(questions)) == len(questions), f"a question is shown twice: {questions}"


def _simulated():
    """The run the demo simulated: its questions are the same whatever the day (only their ids are the run's)."""
    start = dt.datetime.combine(dt.date.today(), dt.time(9, 0), tzinfo=AMSTERDAM)
    return simulate(Scenario(start=start, duration=dt.timedelta(minutes=10), seed=7, agents=10), load_organisation())


def _question_column(lines: list[str]) -> list[str]:
    """The question of each row of the demo's table (its lines from its header on), without its spaces: the
    table wraps and folds it over lines, and the parts are joined again."""
    rows: list[str] = []
    for line in lines:
        if line.startswith("└"):
            break
        if not line.startswith("│"):
            continue
        channel, question = (cell.strip() for cell in line.split("│")[1:3])
        if channel:
            rows.append("")
        rows[-1] += _unspaced(question)
    return rows


def _unspaced(text: str) -> str:
    return "".join(text.split())


def _assert_curl_is_the_readmes_and_fits_80_columns(lines: list[str], intake_port: str) -> None:
    readme = code_block("curl ").replace(DEFAULT_INTAKE, f"http://127.0.0.1:{intake_port}/").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("curl "))
    printed = lines[start:start + len(readme)]
    assert printed == readme
    assert all(len(line) <= 80 for line in printed), printed


def _assert_logs_in_run_dir_only(run_dir: Path, user_state: Path, before: set[str]) -> None:
    assert {path.name for path in (run_dir / "logs").iterdir()} >= {"intake.log", "router.log", "cases.log",
                                                                      "norms.log"}
    assert (run_dir / "logs" / "router.log").stat().st_size > 0
    assert _entries(user_state / "logs") == before


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

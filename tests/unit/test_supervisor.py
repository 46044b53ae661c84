"""The supervisor on stand-in services (small Python processes): stop order, killing, log files."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from loket.supervisor import Supervisor

# A stand-in service: says it is ready, and on SIGTERM notes the time, lingers ``linger`` s and exits.
STAND_IN = """
import signal, sys, time
linger = float(sys.argv[1])
def stop(signum, frame):
    print(f"terminated {time.time()!r}", flush=True)
    time.sleep(linger)
    print(f"exited {time.time()!r}", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop if linger >= 0 else signal.SIG_IGN)
print("ready", flush=True)
time.sleep(60)
"""


def _stand_in(linger: dict[str, float]):
    return lambda name: [sys.executable, "-c", STAND_IN, str(linger.get(name, 0.0))]


def _wait_ready(log_dir: Path, names: list[str]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if all("ready" in _read(log_dir / f"{name}.log") for name in names):
            return
        time.sleep(0.05)
    raise AssertionError("the stand-in services did not start")


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _moment(log: str, word: str) -> float:
    return next(float(line.split()[1]) for line in log.splitlines() if line.startswith(word))


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_intake_has_exited_before_the_other_services_are_told_to_stop(tmp_path: Path) -> None:
    names = ["cases", "norms", "router", "intake"]
    supervisor = Supervisor(names, log_dir=tmp_path, command=_stand_in({"intake": 0.5}))
    supervisor.start()
    _wait_ready(tmp_path, names)

    supervisor.stop(timeout=10)

    logs = {name: _read(tmp_path / f"{name}.log") for name in names}
    intake_gone = _moment(logs["intake"], "exited")
    for name in ("cases", "norms", "router"):
        assert _moment(logs[name], "terminated") > intake_gone
    assert supervisor.exited() == {}


def test_a_service_that_ignores_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    supervisor = Supervisor(["intake", "router"], log_dir=tmp_path, command=_stand_in({"intake": -1}))
    supervisor.start()
    _wait_ready(tmp_path, ["intake", "router"])
    began = time.monotonic()

    supervisor.stop(timeout=0.5)

    assert time.monotonic() - began < 10
    assert "terminated" not in _read(tmp_path / "intake.log")
    assert "exited" in _read(tmp_path / "router.log")


def test_log_files_are_not_held_open_by_the_supervisor(tmp_path: Path) -> None:
    before = _open_fds()
    supervisor = Supervisor(["cases", "intake"], log_dir=tmp_path, command=_stand_in({}))
    supervisor.start()
    try:
        assert _open_fds() <= before
    finally:
        supervisor.stop(timeout=5)

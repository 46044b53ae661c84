"""Test-session rules shared by every suite: a skipped test fails the run."""

from __future__ import annotations

import pytest

pytest_plugins = ("tests.realstack",)

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A skipped test is a failed promise: the integration suite must run against the real servers.
    if _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if _skipped:
        terminalreporter.write_line(f"FAILED: {len(_skipped)} test(s) skipped; nothing may skip here:", red=True)
        for nodeid in _skipped:
            terminalreporter.write_line(f"  {nodeid}", red=True)

"""How a service tells of a dependency that is away: one warning when the outage starts, a summary every so
often while it lasts (attempts, time down), one info when it ends — never a line per failed attempt."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)
#: Seconds between the summaries while a dependency stays away.
SUMMARY_INTERVAL = 60.0


class Outage:
    """The state of one dependency (``broker``, ``database``) as a service's attempts find it."""

    def __init__(self, dependency: str, *, interval: float = SUMMARY_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.dependency = dependency
        self._interval = interval
        self._clock = clock
        self._since: float | None = None
        self._failures = 0
        self._last_summary = 0.0
        self.reason: str | None = None

    @property
    def away(self) -> bool:
        return self._since is not None

    def failed(self, reason: str) -> None:
        """An attempt failed; ``reason`` names the error's type, never data."""
        now = self._clock()
        self._failures += 1
        self.reason = reason
        if self._since is None:
            self._since = self._last_summary = now
            log.warning("dependency_unavailable", dependency=self.dependency, reason=reason)
        elif now - self._last_summary >= self._interval:
            self._last_summary = now
            log.warning("dependency_still_unavailable", dependency=self.dependency, reason=reason,
                        failed_attempts=self._failures, down_seconds=round(now - self._since))

    def succeeded(self) -> None:
        """An attempt succeeded: an outage, if there was one, is over."""
        if self._since is None:
            return
        log.info("dependency_available_again", dependency=self.dependency, failed_attempts=self._failures,
                 down_seconds=round(self._clock() - self._since))
        self._since, self._failures, self.reason = None, 0, None

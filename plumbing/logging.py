"""structlog set-up: key-value context, JSON in production, readable on a terminal.

Never log personal data: log ids, pseudonyms, codes and counts.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import structlog

#: Seconds in which a library says a few things and then one summary: a broker that is away makes aiokafka
#: repeat each complaint for every retry (thousands of lines a minute across its clients).
REPEAT_INTERVAL = 60.0
#: Lines a library may say in one interval before the rest wait for its summary: the first complaints of an
#: outage tell what is wrong, the others say the same in other words.
BURST = 3


class OncePerInterval(logging.Filter):
    """Holds back what the ``libraries``' loggers repeat: per library, a new kind of message (by logger and
    template, not arguments) passes while the library has said fewer than ``burst`` lines in the current
    ``interval``; the first line after an interval passes whatever its kind, as a summary of how many like it,
    and how many other lines of the library, were held back. Other loggers' lines all pass.

    A handler's filter, so that it sees the records of the libraries' child loggers too."""

    def __init__(self, libraries: tuple[str, ...], interval: float = REPEAT_INTERVAL, burst: int = BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._libraries = libraries
        self._interval = interval
        self._burst = burst
        self._clock = clock
        self._seen: dict[tuple[str, object], float] = {}  # (logger, template) -> last seen at
        self._held: dict[tuple[str, object], int] = {}  # (logger, template) -> held back since the last summary
        self._said: dict[str, tuple[float, int]] = {}  # library -> (its interval began at, lines passed in it)

    def filter(self, record: logging.LogRecord) -> bool:
        library = record.name.split(".")[0]
        if library not in self._libraries:
            return True
        key = (record.name, record.msg)
        now = self._clock()
        seen = self._seen.get(key)
        self._seen[key] = now
        new_kind = seen is None or now - seen >= self._interval  # never seen, or not for a while
        began, said = self._said.get(library, (None, 0))
        if began is None or now - began >= self._interval:  # a new interval: this line sums up the last one
            began, said = now, 0
            self._summarise(record, key, library)
        elif not new_kind or said >= self._burst:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._said[library] = (began, said + 1)
        return True

    def _summarise(self, record: logging.LogRecord, key: tuple[str, object], library: str) -> None:
        same = self._held.pop(key, 0)
        others = sum(self._held.pop(k) for k in list(self._held) if k[0].split(".")[0] == library)
        if same or others:
            also = f", and {others} other {library} lines" if others else ""
            record.msg = f"{record.msg} ({same} like it in the last {self._interval:.0f}s not logged{also})"


def configure_logging(level: str = "info", fmt: str = "console") -> None:
    """Route structlog and the standard library's logging through one renderer on stderr."""
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # aiokafka logs every coordinator hiccup at ERROR/WARNING during normal start-up, and every retry while
    # the broker is away: warnings and worse only, a few of them a minute and a summary of the rest.
    logging.getLogger("aiokafka").setLevel(max(numeric, logging.WARNING))
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, OncePerInterval) for f in handler.filters):
            handler.addFilter(OncePerInterval(("aiokafka",)))

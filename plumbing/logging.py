"""structlog set-up: key-value context, JSON in production, readable on a terminal.

Never log personal data: log ids, pseudonyms, codes and counts.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import structlog

#: Seconds in which a library logger says the same thing once: a broker that is away makes aiokafka
#: repeat each complaint for every retry (thousands of lines a second across its clients).
REPEAT_INTERVAL = 60.0


class OncePerInterval(logging.Filter):
    """Lets a message of the ``libraries``' loggers (by logger and template, not arguments) through once per
    ``interval`` seconds; the next one that passes says how many like it were held back. Others pass.

    A handler's filter, so that it sees the records of the libraries' child loggers too."""

    def __init__(self, libraries: tuple[str, ...], interval: float = REPEAT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._libraries = libraries
        self._interval = interval
        self._clock = clock
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}  # (logger, template) -> (passed at, held)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] not in self._libraries:
            return True
        key = (record.name, record.msg)
        now = self._clock()
        passed_at, held = self._seen.get(key, (None, 0))
        if passed_at is not None and now - passed_at < self._interval:
            self._seen[key] = (passed_at, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} ({held} like it in the last {self._interval:.0f}s not logged)"
        self._seen[key] = (now, 0)
        return True


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
    # the broker is away: warnings and worse only, and each kind once a minute.
    logging.getLogger("aiokafka").setLevel(max(numeric, logging.WARNING))
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, OncePerInterval) for f in handler.filters):
            handler.addFilter(OncePerInterval(("aiokafka",)))

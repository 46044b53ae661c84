"""Ports of the local stack against the machine's ephemeral range: a server port inside it can be taken by
any client as its own source port (a client reconnecting to a stopped broker can then hold the broker's port)."""

from __future__ import annotations

from pathlib import Path

import structlog

log = structlog.get_logger(__name__)
RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Linux's default, for machines that do not say.
DEFAULT_RANGE = range(32768, 61000)


def ephemeral_range(source: Path = RANGE_FILE) -> range:
    """The machine's ephemeral port range: the source ports the kernel gives outgoing connections."""
    try:
        low, high = map(int, source.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_RANGE
    return range(low, high + 1)


def ephemeral_note(port: int, ephemeral: range | None = None) -> str | None:
    """Why ``port`` is a risky server port, or None when it lies outside the ephemeral range."""
    ephemeral = ephemeral_range() if ephemeral is None else ephemeral
    if port not in ephemeral:
        return None
    return (f"port {port} lies in this machine's ephemeral range {ephemeral.start}-{ephemeral.stop - 1}, so a client "
            f"may hold it as its own source port; configure a port below {ephemeral.start}")


def warn_if_ephemeral(component: str, *ports: int) -> None:
    """Log one warning per configured port that lies in the ephemeral range."""
    for port in ports:
        note = ephemeral_note(port)
        if note is not None:
            log.warning("stack_port_in_ephemeral_range", component=component, port=port, hint=note)

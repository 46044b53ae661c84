"""A first-come-first-served queue with a number of servers and impatient customers (Erlang-A). Pure.

Customers are offered in the order they arrive. Each is taken by the server that is free first, unless the
wait would outlast the customer's patience: then the customer leaves at the end of their patience and takes
no server's time (a phone caller who hangs up, a walk-in who leaves before being called).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What became of one customer; times in seconds, on the clock the arrivals were given on."""

    arrival: float
    reached: float  # when a server took them, or would have had they waited
    server: int | None  # which server took them; None: they left first
    left: float  # when they left the queue: taken by a server, or given up

    @property
    def served(self) -> bool:
        return self.server is not None

    @property
    def wait(self) -> float:
        return self.left - self.arrival


class Queue:
    """Servers numbered from 0; ``offer`` the customers in the order they arrive."""

    def __init__(self, servers: int) -> None:
        if servers < 1:
            raise ValueError("a queue needs at least one server")
        self._free = [(0.0, server) for server in range(servers)]  # (free from, server): the earliest first
        self._last = float("-inf")

    def offer(self, arrival: float, patience: float, busy: float) -> Outcome:
        """One customer, arriving at ``arrival``, waiting at most ``patience``, keeping a server ``busy`` for
        that long once taken."""
        if arrival < self._last:
            raise ValueError("customers must be offered in the order they arrive")
        self._last = arrival
        free_from, server = self._free[0]
        reached = max(arrival, free_from)
        if reached - arrival > patience:
            return Outcome(arrival=arrival, reached=reached, server=None, left=arrival + patience)
        heapq.heapreplace(self._free, (reached + busy, server))
        return Outcome(arrival=arrival, reached=reached, server=server, left=reached)

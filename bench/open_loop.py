"""An open-loop HTTP/1.1 load client: POSTs sent on a fixed schedule, each timed from when it was due.

    python bench/open_loop.py URL --rate 1000 --seconds 10 --warmup 2 [--token T] [--trace]

Run by bench/intake.py as a process of its own, so its event loop shares nothing with the server's or the
bench's. Request n is due at start + n/rate whatever became of the ones before it (no coordinated omission:
a server that stalls is charged for every request that queued behind the stall); its latency runs from that
due time to the last byte of the answer. The client's own lag (sent − due) is reported beside it: when that
lag is large, the client, not the server, was the bottleneck. Prints one JSON object.

Plain asyncio protocols over keep-alive connections, so the client's own CPU stays small (bench/intake.py
reports it): one request in flight per connection (no pipelining), a new connection whenever none is idle, up
to a pool limit beyond which requests wait for one, their clock running. Every request is built before the clock
starts, each with its own Idempotency-Key, as a channel system sends them. Answers other than 202 are counted
by status (0: the connection broke) and left out of the latencies.

With ``--trace`` (bench/latency.py) the object also lists every measured request: when it was due, when its answer
was complete (both on ``time.perf_counter``, which on Linux is CLOCK_MONOTONIC, the same in every process of the
machine), its status and the event id of its 202 answer; and the offset that turns those times into wall-clock
time. The answers' bodies are kept only then, and read only after the last answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from loket.simulator import QUESTIONS, valid_bsn

#: Connections opened before the clock starts; more are opened when all are busy, up to ``MAX_CONNECTIONS``
#: (an HTTP client library's pool limit: beyond it requests wait for a connection, their clock running).
INITIAL_CONNECTIONS = 32
MAX_CONNECTIONS = 256
#: An idle connection is not used again after this long: uvicorn closes it after 5 s, and a request written
#: just as the server closes it would be lost.
IDLE_SECONDS = 4.0
#: Requests still unanswered this long after the last was due are counted as lost.
DRAIN_SECONDS = 10.0
#: (status or 0 for a broken connection, time the answer was complete, its body when the pool keeps bodies)
Done = Callable[[int, float, bytes], None]


class Connection(asyncio.Protocol):
    """One keep-alive connection; reads one response (Content-Length framed) per request."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.request = b""
        self.done: Done | None = None
        self.answered = 0
        self.idle_since = 0.0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, done: Done) -> None:
        self.request, self.done = request, done
        self.buffer.clear()
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        length = int(head[at + 17:].split(b"\r\n", 1)[0]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        status, done, self.done = int(self.buffer[9:12]), self.done, None
        body = bytes(self.buffer[end + 4:end + 4 + length]) if self.pool.keep_bodies else b""
        self.answered += 1
        if b"\r\nconnection: close" in head:
            assert self.transport is not None
            self.transport.close()
        else:
            self.pool.release(self)
        if done is not None:
            done(status, time.perf_counter(), body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.lost()
        done, self.done = self.done, None
        if done is None:
            return
        if self.answered and not self.buffer:
            # A kept-alive connection the server closed as the request went out: nothing was taken (the
            # Idempotency-Key makes even that safe), so it goes again on a new connection, as clients do.
            self.pool.retried += 1
            self.pool.send_on_new(self.request, done)
        else:
            done(0, time.perf_counter(), b"")


class Pool:
    """Keep-alive connections to one server, at most ``MAX_CONNECTIONS``. Idle ones are taken most recently
    used first, so the rarely used ones age out instead of being picked just as the server closes them."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.waiting: deque[tuple[bytes, Done]] = deque()
        self.open_or_opening = 0
        self.opened = self.retried = self.queued = 0
        self.keep_bodies = False  # hand each answer's body to its ``Done`` (for a trace)

    async def open(self) -> Connection:
        self.open_or_opening += 1
        try:
            _, connection = await asyncio.get_running_loop().create_connection(lambda: Connection(self),
                                                                               self.host, self.port)
        except BaseException:
            self.open_or_opening -= 1
            raise
        self.opened += 1
        return connection

    def submit(self, request: bytes, done: Done) -> None:
        connection = self.take()
        if connection is not None:
            connection.send(request, done)
        elif self.open_or_opening < MAX_CONNECTIONS:
            self.send_on_new(request, done)
        else:
            self.queued += 1
            self.waiting.append((request, done))

    def send_on_new(self, request: bytes, done: Done) -> None:
        async def opened() -> None:
            try:
                connection = await self.open()
            except OSError:
                done(0, time.perf_counter(), b"")
                return
            connection.send(request, done)

        asyncio.ensure_future(opened())

    def release(self, connection: Connection) -> None:
        if self.waiting:
            connection.send(*self.waiting.popleft())
        else:
            connection.idle_since = time.perf_counter()
            self.idle.append(connection)

    def lost(self) -> None:
        self.open_or_opening -= 1
        if self.waiting and self.open_or_opening < MAX_CONNECTIONS:
            self.send_on_new(*self.waiting.popleft())

    def take(self) -> Connection | None:
        now = time.perf_counter()
        while self.idle:
            connection = self.idle.pop()
            if connection.closed:
                continue
            if now - connection.idle_since > IDLE_SECONDS:
                assert connection.transport is not None
                connection.transport.close()
                continue
            return connection
        return None


def phone_questions(count: int, seed: int = 7) -> list[bytes]:
    """``count`` bodies of the simulator's phone questions, four in five from a citizen known by BSN."""
    rng = random.Random(seed)
    texts = [text for channel, text in QUESTIONS if channel == "phone"]
    citizens = [valid_bsn(rng) for _ in range(max(1, count // 3))]
    bodies = []
    for _ in range(count):
        body: dict[str, object] = {"channel": "phone", "text": rng.choice(texts)}
        if rng.random() < 0.8:
            body["party"] = {"bsn": rng.choice(citizens)}
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


def requests(url: str, token: str | None, count: int) -> list[bytes]:
    """``count`` phone questions as the telephony platform sends them, each with a fresh Idempotency-Key."""
    parts = urlsplit(url)
    bodies = phone_questions(min(count, 3000))
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    made = []
    for n in range(count):
        body = bodies[n % len(bodies)]
        made.append((f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n{auth}Idempotency-Key: {uuid.uuid4()}\r\n\r\n").encode() + body)
    return made


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": percentile(ordered, 0.50), "p90": percentile(ordered, 0.90), "p99": percentile(ordered, 0.99),
            "p999": percentile(ordered, 0.999), "max": ordered[-1] if ordered else float("nan")}


async def run(url: str, token: str | None, rate: float, seconds: float, warmup: float,
              trace: bool = False) -> dict[str, object]:
    parts = urlsplit(url)
    pool = Pool(parts.hostname or "127.0.0.1", parts.port or 80)
    pool.keep_bodies = trace
    warm, total = round(rate * warmup), round(rate * (warmup + seconds))
    made = requests(url, token, total)
    for connection in await asyncio.gather(*(pool.open() for _ in range(INITIAL_CONNECTIONS))):
        pool.release(connection)
    latencies: list[float] = []
    lags: list[float] = []
    statuses: dict[int, int] = {}
    traced: list[tuple[float, float, int, bytes]] = []  # with ``trace``: (due, answered, status, body)
    answered = asyncio.Event()  # set once all are sent and none is still waiting for its answer
    outstanding, sending = 0, True

    def answer(due: float, counted: bool) -> Done:
        def done(status: int, at: float, body: bytes) -> None:
            nonlocal outstanding
            outstanding -= 1
            if counted:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    latencies.append(at - due)
                if trace:
                    traced.append((due, at, status, body))
            if not outstanding and not sending:
                answered.set()
        return done

    opened_before = pool.opened
    start = time.perf_counter() + 0.05
    n = 0
    while n < total:
        now = time.perf_counter()
        while n < total and start + n / rate <= now:  # all that are due: a late wake-up catches up at once
            due = start + n / rate
            outstanding += 1
            pool.submit(made[n], answer(due, n >= warm))
            if n >= warm:
                lags.append(time.perf_counter() - due)
            n += 1
        if n < total:
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
    sent_for = time.perf_counter() - (start + warm / rate)
    sending = False
    if not outstanding:
        answered.set()
    try:
        await asyncio.wait_for(answered.wait(), DRAIN_SECONDS)
    except TimeoutError:
        pass
    counted = total - warm
    more: dict[str, object] = {}
    if trace:
        more = {"clock_offset": time.time() - time.perf_counter(),
                "trace": [[due, at, status, json.loads(body)["event_id"] if status == 202 else None]
                          for due, at, status, body in traced]}
    return {
        "rate": rate, "seconds": seconds, "requests": counted, "sent_rate": counted / sent_for,
        "statuses": {str(k): v for k, v in sorted(statuses.items())}, "unanswered": outstanding,
        "latency": summary(latencies), "lag": summary(lags), "connections": pool.opened,
        "connections_during_run": pool.opened - opened_before, "queued_for_connection": pool.queued,
        "retried": pool.retried, **more,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True, help="Requests a second.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Measured seconds.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Seconds at the same rate before, not counted.")
    parser.add_argument("--token", help="Bearer token sent with every request.")
    parser.add_argument("--trace", action="store_true",
                        help="Also list each measured request: due, answered, status, the 202's event id.")
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.token, args.rate, args.seconds, args.warmup, args.trace))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

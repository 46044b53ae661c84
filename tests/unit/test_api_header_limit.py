"""The limit on a request's line and headers under httptools, chunk by chunk as the socket hands them over: each
request's own, a body not counted, and a refusal that answers 431 and then drops what still comes."""

from __future__ import annotations

import asyncio
import json

from uvicorn.config import Config
from uvicorn.server import ServerState

from plumbing import api
from plumbing.api import MAX_HEADER_BYTES, REFUSED_DRAIN_BYTES, header_limited_httptools


class Transport(asyncio.Transport):
    """What the protocol writes, and whether it closed its side or cut the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.eof = self.aborted = self.paused = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.written += data

    def write_eof(self) -> None:
        self.eof = True

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.eof or self.aborted

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def answers(self) -> int:
        return self.written.count(b"HTTP/1.1 ")


async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    while (await receive())["more_body"] if scope["method"] == "POST" else False:
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def connected() -> tuple[asyncio.Protocol, Transport]:
    protocol = header_limited_httptools("1.2.3")(config=Config(app, log_level="warning"), server_state=ServerState(),
                                                 app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


async def answered(transport: Transport, count: int) -> None:
    for _ in range(1000):  # the app's task runs on this loop: give it turns until it has answered
        if transport.answers() >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{transport.answers()} answers, expected {count}: {bytes(transport.written)[:300]!r}")


def request(filler: int, body: bytes = b"") -> bytes:
    method = b"POST" if body else b"GET"
    return (method + b" / HTTP/1.1\r\nHost: intake\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\nX-Filler: " + b"a" * filler + b"\r\n\r\n" + body)


async def test_each_request_has_the_limit_to_itself_however_its_headers_arrive():
    protocol, transport = connected()
    whole = request(12 * 1024)
    for n in range(1, 4):  # 36 KiB of headers on one connection, each request's in two pieces
        protocol.data_received(whole[:6000])
        protocol.data_received(whole[6000:])
        await answered(transport, n)
    assert transport.written.count(b"HTTP/1.1 200") == 3 and not transport.is_closing()


async def test_a_body_is_not_counted_as_headers():
    protocol, transport = connected()
    protocol.data_received(request(100, body=b"x" * (60 * 1024)))
    await answered(transport, 1)
    assert transport.written.startswith(b"HTTP/1.1 200")


async def test_headers_past_the_limit_get_a_431_and_what_still_comes_is_dropped_unread(monkeypatch):
    monkeypatch.setattr(api, "REFUSED_DRAIN_SECONDS", 0.0)
    protocol, transport = connected()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: intake\r\nX-Filler: ")
    sent = 0
    while not transport.eof:
        protocol.data_received(b"a" * 1024)
        sent += 1024
        assert sent <= MAX_HEADER_BYTES + 1024, "still reading past the limit"
    head, body = bytes(transport.written).split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 431 ") and b"content-type: application/problem+json" in head
    assert b"API-Version: 1.2.3" in head and json.loads(body)["status"] == 431
    protocol.data_received(b"a" * (REFUSED_DRAIN_BYTES // 2))  # the client had more on its way: dropped
    assert not transport.aborted and transport.answers() == 1
    protocol.data_received(b"a" * REFUSED_DRAIN_BYTES)  # it does not stop sending: no more is read
    assert transport.paused and not transport.aborted  # a reset now could destroy the answer on its way
    for _ in range(10):  # the time bound, set to none here, cuts it off
        if transport.aborted:
            break
        await asyncio.sleep(0)
    assert transport.aborted

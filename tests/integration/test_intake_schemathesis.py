"""The running intake (a real ``loket intake`` process, publishing to the real broker) against its own
document: schemathesis with all its checks finds no 5xx and no response that differs from the document,
and the body limit holds on the wire.

schemathesis runs as its command-line tool (``schemathesis run``): its pytest loader for a fixture's schema
does not work with the pytest we use. The seed is fixed and printed, the examples are bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from services.intake.http import API_VERSION, create_app
from services.intake.settings import IntakeSettings
from tests.realstack import free_port, wait_healthy

pytestmark = pytest.mark.integration
SEED = 20261202
EXAMPLES = 150
HOOKS = Path(__file__).with_name("intake_schemathesis_hooks.py")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
LIMIT = 8192


@pytest.fixture
async def intake_url(service) -> str:
    port = free_port()
    process = service("intake", LOKET_INTAKE_PORT=str(port), LOKET_PSEUDONYM_SECRET="schemathesis-secret",
                      LOKET_INTAKE_MAX_BODY_BYTES=str(LIMIT))
    url = f"http://127.0.0.1:{port}"
    await wait_healthy(url, process=process)
    return url


def test_schemathesis_finds_no_server_error_and_no_response_unlike_the_document(intake_url, tmp_path):
    command = [str(SCHEMATHESIS), "run", f"{intake_url}/v1/openapi.json", "--checks", "all",
               "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--no-color", "--generation-database", "none",
               "--request-timeout", "10", "--report", "junit", "--report-dir", str(tmp_path)]
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path,
                         env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS),
                              "PYTHONPATH": str(HOOKS.parents[2])})  # the hooks use the tests' own builders
    took = time.monotonic() - started
    output = f"$ {' '.join(command)}\n(exit {run.returncode}, {took:.1f} s)\n{run.stdout}{run.stderr}"
    assert run.returncode == 0, output
    assert "No issues found" in run.stdout and f"Seed: {SEED}" in run.stdout, output
    assert "Specification:    Open API 3.1.0" in run.stdout, output
    print(output)


async def test_the_running_intake_serves_the_document_the_conformance_tests_lint(intake_url):
    @asynccontextmanager
    async def no_kafka(settings, keys):
        yield None

    app = create_app(IntakeSettings(), no_kafka)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        built = (await client.get("/v1/openapi.json")).json()
    async with httpx.AsyncClient(base_url=intake_url) as client:
        served = await client.get("/v1/openapi.json")
    assert served.headers["api-version"] == API_VERSION
    assert "server" not in served.headers  # ADR API-53: no word on what runs it
    assert served.json() == built


async def test_a_body_declared_too_large_is_refused_before_it_is_sent(intake_url):
    status, headers, body = await _exchange(intake_url, [b"POST /v1/questions HTTP/1.1\r\nHost: intake\r\n"
                                                         b"Content-Type: application/json\r\n"
                                                         b"Content-Length: 104857600\r\n\r\n"])
    assert status == 413
    assert headers["content-type"] == "application/problem+json" and headers["api-version"] == API_VERSION
    assert json.loads(body)["status"] == 413


async def test_a_chunked_body_is_refused_once_past_the_limit_not_after_100_megabytes(intake_url):
    head = b"POST /v1/questions HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n" \
           b"Transfer-Encoding: chunked\r\n\r\n"
    chunk = b"400\r\n" + b" " * 1024 + b"\r\n"  # 1 KiB of white space per chunk, 100 MB in all
    question = b'{"channel": "web", "text": "Mijn kliko is kapot"}'
    last = f"{len(question):x}\r\n".encode() + question + b"\r\n0\r\n\r\n"
    status, headers, body = await _exchange(intake_url, [head, *([chunk] * (100 * 1024)), last])
    assert status == 413
    assert headers["content-type"] == "application/problem+json" and headers["api-version"] == API_VERSION


async def test_headers_past_16_kib_are_refused_with_a_431_before_the_rest_is_read(intake_url):
    """httptools itself reads headers of any size (and gathers a long one at a cost growing with the square of its
    size); the intake's protocol stops at h11's 16 KiB."""
    head = b"POST /v1/questions HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\nX-Filler: "
    status, headers, body = await _exchange(intake_url, [head, *([b"a" * 1024] * (100 * 1024)), b"\r\n\r\n"])
    assert status == 431
    assert headers["content-type"] == "application/problem+json" and headers["api-version"] == API_VERSION
    assert json.loads(body)["status"] == 431


async def test_headers_within_the_limit_pass_request_after_request_on_one_connection(intake_url):
    async with httpx.AsyncClient(base_url=intake_url, limits=httpx.Limits(max_connections=1)) as client:
        for _ in range(3):  # 36 KiB in all: the limit is each request's, not the connection's
            response = await client.get("/health/live", headers={"X-Filler": "a" * 12 * 1024})
            assert response.status_code == 200


async def _exchange(url: str, parts: list[bytes]) -> tuple[int, dict[str, str], bytes]:
    """Send ``parts`` until the server answers; its status, headers and body. Fails if it reads them all."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        answer = asyncio.ensure_future(reader.readuntil(b"\r\n\r\n"))
        for part in parts:
            if answer.done():
                break
            writer.write(part)
            drained = asyncio.ensure_future(writer.drain())
            await asyncio.wait({drained, answer}, return_when=asyncio.FIRST_COMPLETED)  # it may stop reading
            if not drained.done():
                drained.cancel()
                break
            if isinstance(drained.exception(), ConnectionError):  # it answered and closed while we were sending
                break
            drained.result()
        else:
            await asyncio.wait_for(asyncio.shield(answer), timeout=30)
            assert len(parts) == 1, f"the server read the whole body before it answered: {answer.result()!r}"
        head = (await asyncio.wait_for(answer, timeout=10)).decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in head[1:] if line)
        body = await reader.readexactly(int(headers["content-length"]))
        return int(head[0].split()[1]), headers, body
    finally:
        writer.close()

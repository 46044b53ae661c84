"""The intake API in-process with a stand-in publisher: each error status as problem+json with API-Version,
odd input found by fuzzing as a 4xx, the received_at window, and Idempotency-Key replays and conflicts."""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client import REGISTRY

from services.intake.exceptions import PublishFailed
from services.intake.http import API_VERSION, create_app
from services.intake.settings import IntakeSettings
from tests.builders import ChannelSystemAuth

QUESTIONS = "/v1/questions"
LIMIT = 4096
JSON = {"content-type": "application/json"}
QUESTION = {"channel": "web", "text": "Mijn kliko is kapot"}


class StandInPublisher:
    """Keeps what it is given; ``down`` makes it fail as Kafka does when the broker is gone."""

    def __init__(self) -> None:
        self.events: list = []
        self.down = False
        self.calls = 0
        self.gate: asyncio.Event | None = None  # when set, a publish waits until it opens

    async def unready_reason(self) -> str | None:
        return "broker unreachable" if self.down else None

    async def publish(self, topic, key, event) -> None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise PublishFailed("Kafka refused the event: KafkaTimeoutError")
        self.events.append(event)


@pytest.fixture
def publisher() -> StandInPublisher:
    return StandInPublisher()


@pytest.fixture
async def client(publisher):
    @asynccontextmanager
    async def open_publisher(settings, keys):
        yield publisher

    app = create_app(IntakeSettings(intake_max_body_bytes=LIMIT, intake_idempotency_max_keys=3), open_publisher)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake", auth=ChannelSystemAuth()) as client:
            yield client


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["api-version"] == API_VERSION
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


@pytest.mark.parametrize("status,request_kwargs", [
    (404, {"method": "POST", "url": "/v1/vragen", "json": QUESTION}),
    (404, {"method": "POST", "url": QUESTIONS + "/", "json": QUESTION}),
    (405, {"method": "GET", "url": QUESTIONS}),
    (413, {"method": "POST", "url": QUESTIONS, "content": b" " * LIMIT + b"{}", "headers": JSON}),
    (415, {"method": "POST", "url": QUESTIONS, "data": QUESTION}),
    (400, {"method": "POST", "url": QUESTIONS, "content": b'{"channel": "web",', "headers": JSON}),
    (422, {"method": "POST", "url": QUESTIONS, "json": {"channel": "fax", "text": "x"}}),
    (503, {"method": "POST", "url": QUESTIONS, "json": QUESTION}),
], ids=["unknown-path", "trailing-slash", "wrong-method", "too-large", "form-encoded", "malformed", "invalid",
        "broker-down"])
async def test_each_error_status_is_problem_json_with_the_api_version(client, publisher, status, request_kwargs):
    publisher.down = status == 503
    response = await client.request(**request_kwargs)
    assert_problem(response, status)
    if status == 503:
        assert response.headers["retry-after"] == "5"


def _with(body_text: str) -> bytes:
    return body_text.encode("utf-8")


@pytest.mark.parametrize("body", [
    _with('{"channel": "web", "text": "kliko \\ud800 kapot"}'),
    _with('{"channel": "web", "text": "x", "party": {"name": "\\udc00"}}'),
    _with('{"channel": "web", "text": "x", "party": {"bsn": "\\ud800"}}'),
    _with('{"channel": "web", "text": "x", "party": {"email": "a\\ud800@b.nl"}}'),
    _with('{"channel": "web", "text": "x", "party": {"phone": "06\\ud800"}}'),
    _with('{"channel": "web", "text": "x", "channel_reference": "\\ud800"}'),
    _with('{"channel": "web", "text": "x", "received_at": "\\ud800"}'),
    _with('{"channel": "\\ud800", "text": "x"}'),
    _with('{"\\ud800": "web", "text": "x"}'),
    b'{"channel": "web", "text": "kliko \xed\xa0\x80 kapot"}',  # a surrogate as raw bytes: not UTF-8
    b'{"channel": "web", "text": "\xff\xfe"}',
    b"[" * 1000 + b"]" * 1000,
    _with('{"channel": "web", "text": "x", "party": ' + "[" * 40 + "]" * 40 + "}"),
    _with('{"channel": "web", "text": "x", "received_at": ' + "9" * 5000 + "}"),
    _with('{"channel": "web", "text": "x", "n": -' + "1" * 5000 + ".5}"),
], ids=["text", "name", "bsn", "email", "phone", "reference", "received-at", "channel", "member-name", "raw-surrogate",
        "invalid-utf8", "1000-deep", "41-deep", "5000-digit-int", "5000-digit-float"])
async def test_odd_input_found_by_fuzzing_is_a_4xx_problem_never_a_500(client, publisher, body):
    response = await client.post(QUESTIONS, content=body, headers=JSON)
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    assert publisher.events == []


async def test_a_chunked_body_past_the_limit_is_refused_before_it_is_read_whole(client, publisher):
    pulled = 0

    async def hundred_megabytes_of_white_space_then_a_question():
        nonlocal pulled
        for _ in range(100 * 1024):
            pulled += 1024
            yield b" " * 1024
        yield b'{"channel": "web", "text": "Mijn kliko is kapot"}'

    response = await client.post(QUESTIONS, content=hundred_megabytes_of_white_space_then_a_question(), headers=JSON)
    assert_problem(response, 413)
    assert pulled <= LIMIT + 1024
    assert publisher.events == []


@pytest.mark.parametrize("received_at,reason", [
    ("9999-12-31T23:59:59Z", "after the intake's clock"),
    ("0001-01-01T00:00:00Z", "before the intake's clock"),
    ("+10 minutes", "after the intake's clock"),
    ("-31 days", "before the intake's clock"),
])
async def test_a_received_at_outside_the_window_is_a_422_with_the_reason(client, publisher, received_at, reason):
    response = await client.post(QUESTIONS, json={**QUESTION, "received_at": _time(received_at)})
    problem = assert_problem(response, 422)
    assert problem["errors"] == [{"field": "received_at", "reason": problem["errors"][0]["reason"]}]
    assert reason in problem["errors"][0]["reason"]
    assert publisher.events == []


@pytest.mark.parametrize("received_at", ["+4 minutes", "-29 days", "-1 seconds"])
async def test_a_received_at_inside_the_window_is_kept(client, publisher, received_at):
    when = _time(received_at)
    response = await client.post(QUESTIONS, json={**QUESTION, "received_at": when})
    assert response.status_code == 202
    assert publisher.events[0].data.received_at == dt.datetime.fromisoformat(when)


@pytest.mark.parametrize("received_at", [1_700_000_000, "1700000000", "2026-11-23 09:30:00+01:00",
                                         "2026-11-23T09:30:00"])
async def test_received_at_is_an_rfc3339_date_time_with_offset(client, received_at):
    assert_problem(await client.post(QUESTIONS, json={**QUESTION, "received_at": received_at}), 422)


@pytest.mark.parametrize("text", [" ", "\n\t ", "\u00a0\u2003"])
async def test_a_question_of_only_white_space_is_a_422_not_a_case(client, publisher, text):
    problem = assert_problem(await client.post(QUESTIONS, json={"channel": "web", "text": text}), 422)
    assert problem["errors"] == [{"field": "text", "reason": "is only white space"}]
    assert publisher.events == []


async def test_a_retry_gets_the_first_answer_and_is_published_once(client, publisher):
    key = {"Idempotency-Key": "form-submit-0001"}
    first = await client.post(QUESTIONS, json=QUESTION, headers=key)
    retry = await client.post(QUESTIONS, content=b'{"text": "Mijn kliko is kapot",  "channel": "web"}',
                              headers={**key, **JSON})
    assert first.status_code == retry.status_code == 202
    assert first.json() == retry.json()
    assert len(publisher.events) == 1


async def test_a_key_reused_with_another_body_is_a_422_and_not_published(client, publisher):
    key = {"Idempotency-Key": "form-submit-0002"}
    await client.post(QUESTIONS, json=QUESTION, headers=key)
    problem = assert_problem(await client.post(QUESTIONS, json={**QUESTION, "text": "Iets anders"}, headers=key), 422)
    assert problem["errors"][0]["field"] == "header.Idempotency-Key"
    assert len(publisher.events) == 1


async def test_a_structured_fields_key_is_the_same_key_unquoted(client, publisher):
    first = await client.post(QUESTIONS, json=QUESTION, headers={"Idempotency-Key": '"form-submit-0003"'})
    retry = await client.post(QUESTIONS, json=QUESTION, headers={"Idempotency-Key": "form-submit-0003"})
    assert first.json() == retry.json()


async def test_a_retry_while_the_first_is_publishing_waits_for_its_answer(client, publisher):
    publisher.gate = asyncio.Event()
    key = {"Idempotency-Key": "form-submit-0004"}
    requests = asyncio.gather(client.post(QUESTIONS, json=QUESTION, headers=key),
                              client.post(QUESTIONS, json=QUESTION, headers=key))
    for _ in range(200):  # let both requests run as far as they can while the first publish is held
        await asyncio.sleep(0)
    assert publisher.calls == 1  # the retry did not publish: it waits for the first one's answer
    publisher.gate.set()
    first, retry = await requests
    assert first.status_code == retry.status_code == 202
    assert first.json() == retry.json()
    assert len(publisher.events) == 1


async def test_a_failed_first_attempt_is_not_remembered(client, publisher):
    key = {"Idempotency-Key": "form-submit-0005"}
    publisher.down = True
    assert_problem(await client.post(QUESTIONS, json=QUESTION, headers=key), 503)
    publisher.down = False
    assert (await client.post(QUESTIONS, json=QUESTION, headers=key)).status_code == 202
    assert len(publisher.events) == 1


@pytest.mark.parametrize("key", ["short", "x" * 129, "with space", "nøgle-1234"])
async def test_idempotency_keys_are_8_to_128_visible_ascii_characters(client, key):
    headers = {"Idempotency-Key": key.encode("utf-8")}
    problem = assert_problem(await client.post(QUESTIONS, json=QUESTION, headers=headers), 422)
    assert problem["errors"][0]["field"] == "header.Idempotency-Key"


async def test_refusals_are_counted_by_reason_and_a_replay_is_not_counted_as_accepted(client, publisher):
    before = _counters()
    key = {"Idempotency-Key": "form-submit-0006"}
    await client.post(QUESTIONS, json=QUESTION, headers=key)
    await client.post(QUESTIONS, json=QUESTION, headers=key)
    await client.post(QUESTIONS, content=b"{", headers=JSON)
    await client.post(QUESTIONS, data=QUESTION)
    await client.get("/nothing-here")  # not a question: not counted
    publisher.down = True
    await client.post(QUESTIONS, json=QUESTION)
    after = _counters()
    assert {name: after[name] - before[name] for name in after} == {
        "accepted": 1, "replayed": 1, "invalid": 2, "unavailable": 1}


def _counters() -> dict[str, float]:
    def value(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return {"accepted": value("loket_intake_questions_accepted_total", {"channel": "web"}),
            "replayed": value("loket_intake_questions_replayed_total", {"channel": "web"}),
            "invalid": value("loket_intake_questions_refused_total", {"reason": "invalid"}),
            "unavailable": value("loket_intake_questions_refused_total", {"reason": "unavailable"})}


def _time(spec: str) -> str:
    """An RFC 3339 time: as given, or relative to now ("+10 minutes", "-31 days")."""
    if spec[0] not in "+-":
        return spec
    amount, unit = spec.split()
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**{unit: int(amount)})).isoformat()


async def test_live_says_the_process_serves_and_ready_says_why_it_cannot_accept_questions(client, publisher):
    assert (await client.get("/health/live")).json() == {"status": "live"}
    assert (await client.get("/health/ready")).json() == {"status": "ready"}
    publisher.down = True
    problem = assert_problem(await client.get("/health/ready"), 503)
    assert problem["detail"] == "not ready: broker unreachable"
    assert (await client.get("/health/live")).status_code == 200  # away is not stuck: nothing to restart


"""Where the simulator's requests go: through the intake's HTTP doors (the real path), or straight onto the
contacts topic as the events the intake would have made of them (for load tests). The only I/O of the
simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any, Protocol

import httpx
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from loket.simulator.exceptions import IntakeUnreachable, NotLetIn, Refused
from loket.simulator.model import Door, Post
from plumbing.deadletters import describe_validation_error
from plumbing.kafka import Record, ensure_topics, event_record, send_all, start_producer, stop_client, topic_name
from schemas.contacts import Channel
from schemas.envelope import CloudEvent, source_urn
from schemas.intake import QuestionSubmission, ReplySubmission, ScoreSubmission
from schemas.topics import CONTACTS
from services.intake import counter, cti, domain, idempotency
from services.intake.auth import ChannelSystem, system_of_channel
from services.intake.exceptions import IntakeError
from services.intake.settings import IntakeSettings

#: Times the intake may answer 503 (the stream is away) to one request before the run gives up.
UNAVAILABLE_ATTEMPTS = 12
#: Times a request is tried when the intake does not answer at all.
TRANSPORT_ATTEMPTS = 3


class Doors(Protocol):
    async def send(self, post: Post, body: dict[str, Any], now: dt.datetime) -> str:
        """Hand over one request (its body stamped); returns the contact id the intake gave, or raises
        ``Refused``."""

    async def flush(self) -> None:
        """Wait until what was handed over is durable."""


def system_of(post: Post) -> ChannelSystem:
    """The channel system that sends this request, whose token it carries."""
    match post.door:
        case Door.QUESTIONS:
            return system_of_channel(Channel(post.body["channel"]))
        case Door.CALL_REPORTS:
            return ChannelSystem.TELEPHONY
        case Door.COUNTER_REPORTS:
            return ChannelSystem.COUNTER
        case Door.FIRST_REPLIES:
            return system_of_channel(Channel(post.body["channel"]))
        case _:
            return ChannelSystem.SURVEY


class IntakeDoors:
    """The intake's HTTP API, each request with its channel system's token; a question with its
    Idempotency-Key, so a request sent again is the same one."""

    def __init__(self, client: httpx.AsyncClient, settings: IntakeSettings) -> None:
        self._client = client
        self._tokens = {system: token.get_secret_value() for system, token in settings.intake_tokens.items()}

    async def send(self, post: Post, body: dict[str, Any], now: dt.datetime) -> str:
        system = system_of(post)
        if system not in self._tokens:
            raise NotLetIn(f"LOKET_INTAKE_TOKENS has no token of the {system.value} system, whose requests these are")
        headers = {"Authorization": f"Bearer {self._tokens[system]}"}
        if post.key:
            headers["Idempotency-Key"] = post.key
        unavailable = failed = 0
        while True:
            try:
                response = await self._client.post(post.door.path, json=body, headers=headers)
            except httpx.TransportError as exc:
                failed += 1
                if failed >= TRANSPORT_ATTEMPTS:
                    raise IntakeUnreachable(f"the intake at {self._client.base_url} does not answer "
                                            f"({type(exc).__name__}); is `loket intake` running?") from None
                await asyncio.sleep(1.0)
                continue
            if response.status_code == 202:
                return str(response.json()["contact_id"])
            if response.status_code in (401, 403):  # no request of this system will be taken: stop at once
                raise NotLetIn(f"the intake did not let the {system.value} system in ({response.status_code}: "
                               f"{_problem(response)}); give the simulator the intake's LOKET_INTAKE_TOKENS")
            if response.status_code != 503:
                raise Refused(response.status_code, _problem(response))
            unavailable += 1
            if unavailable >= UNAVAILABLE_ATTEMPTS:
                raise IntakeUnreachable("the intake keeps answering 503: the contacts stream is away")
            await asyncio.sleep(float(response.headers.get("Retry-After", "5")))

    async def flush(self) -> None:
        return None


def _problem(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return response.text[:200]
    errors = problem.get("errors") or []
    return "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in errors) or str(problem.get("detail")
                                                                                     or problem.get("title", ""))


class KafkaDoors:
    """Straight onto the contacts topic: the events the intake would make of the requests, by its own code and
    with its settings (pseudonym key, OIN), keyed as it keys them; sent in batches."""

    def __init__(self, settings: IntakeSettings, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._topic = topic_name(settings, CONTACTS)
        self._secret = settings.pseudonym_secret.get_secret_value().encode()
        self._source = source_urn(settings.oin, "loket-intake")
        self._records: list[Record] = []

    @classmethod
    async def open(cls, settings: IntakeSettings) -> "KafkaDoors":
        await ensure_topics(settings, [CONTACTS])
        return cls(settings, await start_producer(settings))

    async def close(self) -> None:
        await stop_client(self._producer, 10.0)

    async def send(self, post: Post, body: dict[str, Any], now: dt.datetime) -> str:
        try:
            key, event = intake_event(post, body, secret=self._secret, source=self._source, now=now)
        except ValidationError as exc:
            raise Refused(422, describe_validation_error(exc)) from None
        except IntakeError as exc:
            raise Refused(422, str(exc)) from None
        self._records.append(event_record(self._topic, key, event))
        return str(event.data.contact_id)

    async def flush(self) -> None:
        records, self._records = self._records, []
        await send_all(self._producer, records)


def intake_event(post: Post, body: dict[str, Any], *, secret: bytes, source: str,
                 now: dt.datetime) -> tuple[str, CloudEvent]:
    """The Kafka key and the event the intake makes of a request received at ``now``, by the intake's own code:
    the same ids from the same Idempotency-Key, report id or response id and body."""
    match post.door:
        case Door.QUESTIONS:
            question = QuestionSubmission.model_validate(body)
            identity = idempotency.retry_identity(post.key, idempotency.fingerprint(question)) if post.key else None
            event_id, contact_id = domain.ids_for(identity, lambda: str(uuid.uuid4()))
            asked = domain.question_event(question, secret=secret, source=source, now=now, event_id=event_id,
                                          contact_id=contact_id)
            return asked.data.partition_key(), asked
        case Door.CALL_REPORTS:
            event = cti.to_event(cti.CtiReport.model_validate(body), secret=secret, source=source, now=now)
        case Door.COUNTER_REPORTS:
            event = counter.to_event(counter.CounterReport.model_validate(body), secret=secret, source=source, now=now)
        case Door.FIRST_REPLIES:
            event = domain.reply_event(ReplySubmission.model_validate(body), source=source, now=now)
        case _:
            event = domain.score_event(ScoreSubmission.model_validate(body), source=source, now=now)
    return event.data.contact_id, event

"""Dead letters: turn a refused record into a ``DeadLetter`` event with a readable reason."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Protocol, TypeVar, Union

import structlog
from prometheus_client import Counter
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from plumbing.exceptions import StateFailed
from plumbing.kafka import CLOUDEVENT_HEADERS, Record, event_record
from schemas import DeadLetter, DeadLetterData
from schemas.deadletters import KeptHeader
from schemas.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent

ModelT = TypeVar("ModelT", bound=BaseModel)
#: The media type of the Kafka binding's structured mode, JSON event format (parameters such as charset aside).
STRUCTURED_MEDIA_TYPE = STRUCTURED_CONTENT_TYPE.split(";")[0].lower().encode()
log = structlog.get_logger(__name__)
#: Why a record was parked, as a metric's label (the reason itself is free text, in the dead letter): not a valid
#: event, an unexpected failure handling it, or refused by the database.
INVALID, FAILED, DATABASE = "invalid", "failed", "database"
DEAD_LETTERS = Counter("loket_dead_letters", "Records parked on the dead-letter topic, by the topic they came from "
                       "and why: invalid (not a valid event), failed (an unexpected error handling it), database "
                       "(PostgreSQL refused it).", ["topic", "reason"])


class Refused(Exception):
    """A record could not be decoded or validated; ``reason`` says why, readably."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(model: type[ModelT], raw: bytes | None) -> ModelT:
    """Parse and validate a value, or raise ``Refused`` naming each bad field. For records, ``decode_event``."""
    if raw is None:
        raise Refused("empty record (no value)")
    try:
        return model.__pydantic_validator__.validate_json(raw)  # as model_validate_json, without its wrapper
    except ValidationError as exc:
        raise Refused(describe_validation_error(exc)) from None


def decode_event(model: type[ModelT], record: RawRecord) -> ModelT:
    """Parse a consumed record as one event type: a structured-mode CloudEvent, or ``Refused``."""
    return decode(model, structured_value(record))


def decode_one_of(models: tuple[type[BaseModel], ...], record: RawRecord) -> BaseModel:
    """Parse a consumed record that may be any of several event types (told apart by their ``type``)."""
    raw = structured_value(record)
    if raw is None:
        raise Refused("empty record (no value)")
    try:
        return _union(models).validate_json(raw)
    except ValidationError as exc:
        error = exc
        if any(e["type"] == "union_tag_not_found" for e in exc.errors()):
            # No type to tell the event by: say what its envelope lacks (every required attribute missing), not
            # only that the type is.
            try:
                _ENVELOPE.validate_json(raw)
            except ValidationError as envelope:
                error = envelope
        tags = frozenset(m.event_type() for m in models if issubclass(m, CloudEvent))
        raise Refused(describe_validation_error(error, tags=tags)) from None


def event_type(record: RawRecord) -> str | None:
    """The ``type`` of a structured-mode record, read without validating the rest of it; ``None`` for a record
    that has none to read (which ``decode_event`` refuses, saying why). For a consumer that takes only some of
    a topic's event types and leaves the others, and their validation, to the consumers that take them."""
    try:
        raw = structured_value(record)
        return _TYPED.validate_json(raw).type if raw is not None else None
    except (Refused, ValidationError):
        return None


class _Typed(BaseModel):
    type: str


_TYPED = TypeAdapter(_Typed)
#: Any CloudEvent: the envelope's rules, whatever its data.
_ENVELOPE: TypeAdapter[CloudEvent[Any]] = TypeAdapter(CloudEvent[Any])


def structured_value(record: RawRecord) -> bytes | None:
    """The value of a record in the Kafka binding's structured mode, or ``Refused`` saying why it is not.

    Loket reads structured mode only: a record without the ``content-type`` header, with another media
    type, or in binary mode (``ce_*`` headers) is refused, never guessed at.
    """
    if getattr(record, "headers", None) == CLOUDEVENT_HEADERS:  # as Loket writes them: nothing else to read
        return record.value
    headers = _headers(record)
    content_type = headers.get("content-type")
    if content_type is not None and content_type.split(b";")[0].strip().lower() == STRUCTURED_MEDIA_TYPE:
        return record.value
    if "ce_specversion" in headers:  # binary mode; its content-type, if any, is the data's media type
        raise Refused("binary-mode CloudEvent (ce_ headers): Loket reads the structured mode only")
    if content_type is None:
        raise Refused("no content-type header: not a structured-mode CloudEvent (application/cloudevents+json)")
    raise Refused("the content-type header is not application/cloudevents+json (structured mode, JSON format)")


def _pairs(record: RawRecord) -> list[tuple[str, bytes]]:
    """The record's headers as (name, value) pairs, whether the client gives pairs or a mapping."""
    raw = getattr(record, "headers", None) or ()
    if not isinstance(raw, (tuple, list)) and isinstance(raw, Mapping):  # aiokafka's tuple first: ABC checks cost
        raw = raw.items()
    return [(str(name), value or b"") for name, value in raw]


def _headers(record: RawRecord) -> dict[str, bytes]:
    return {name.lower(): value for name, value in _pairs(record)}


@lru_cache(maxsize=32)
def _union(models: tuple[type[BaseModel], ...]) -> TypeAdapter:
    if len(models) == 1:
        return TypeAdapter(models[0])
    return TypeAdapter(Annotated[Union[models], Field(discriminator="type")])  # noqa: UP007


def describe_validation_error(exc: ValidationError, limit: int = 5, tags: frozenset[str] = frozenset()) -> str:
    """``field.path: message; …`` without echoing input values, which may hold personal data. A location that
    starts with one of ``tags`` (a union's event type, which pydantic puts first) is told without it."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:limit]:
        loc = error["loc"][1:] if error["loc"] and error["loc"][0] in tags else error["loc"]
        where = ".".join(str(p) for p in loc) or "(record)"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


class RawRecord(Protocol):
    """What faust's messages and aiokafka's consumer records both carry (headers as pairs or a mapping)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] | Mapping[str, bytes]


#: Most original value bytes a dead letter keeps, so that it stays well under Kafka's message size limit.
MAX_KEPT_BYTES = 256 * 1024


def dead_letter(record: RawRecord, *, source: str, consumer: str, reason: str, now: dt.datetime) -> DeadLetter:
    """The dead-letter event for one refused record, with its original bytes (up to ``MAX_KEPT_BYTES``)."""
    value = record.value or b""
    data = DeadLetterData(
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        consumer=consumer,
        reason=reason,
        key_base64=DeadLetterData.encode(record.key[:MAX_KEPT_BYTES] if record.key else record.key),
        value_base64=DeadLetterData.encode(value[:MAX_KEPT_BYTES] if record.value is not None else None),
        value_size=len(value),
        value_truncated=len(value) > MAX_KEPT_BYTES,
        headers=[KeptHeader(name=name, value_base64=DeadLetterData.encode(raw)) for name, raw in _pairs(record)],
        failed_at=now,
    )
    return DeadLetter.create(source=source, data=data, subject=dead_letter_key(record), time=now)


def dead_letter_key(record: RawRecord) -> str:
    """Key of a dead letter: where the refused record lives."""
    return f"{record.topic}:{record.partition}:{record.offset}"


def refuse(record: RawRecord, reason: str, *, dead_letters: str, source: str, consumer: str,
           kind: str = INVALID) -> Record:
    """Log a refused record (where, why — never its content), count it by ``kind`` (``INVALID``, ``FAILED`` or
    ``DATABASE``) and return its dead letter for ``dead_letters``."""
    location = dead_letter_key(record)
    DEAD_LETTERS.labels(topic=record.topic, reason=kind).inc()
    log.warning("record_refused", location=location, consumer=consumer, reason=reason)
    letter = dead_letter(record, source=source, consumer=consumer, reason=reason, now=dt.datetime.now(dt.timezone.utc))
    return event_record(dead_letters, location, letter)


def guarded(
    handle: Callable[[RawRecord], list[Record]], record: RawRecord, *, dead_letters: str, source: str, consumer: str
) -> list[Record]:
    """``handle(record)``, or a dead letter when it refuses the record or fails on it.

    Nothing may escape from one record, or one bad record would stop its whole partition (and a
    batch from faust's ``take_events`` is acked even when its body raises): an unexpected error
    parks that record with its reason, and the batch goes on.
    """
    try:
        return handle(record)
    except StateFailed:
        raise  # not the record's fault: parking it would lose what the state should have remembered of it
    except Refused as refused:
        reason, kind = refused.reason, INVALID
    except Exception as exc:  # noqa: BLE001 — see the docstring; the type names the failure, the text may hold input
        reason, kind = f"unexpected {type(exc).__name__} in {consumer}", FAILED
        log.error("record_failed", consumer=consumer, error=type(exc).__name__)
    return [refuse(record, reason, dead_letters=dead_letters, source=source, consumer=consumer, kind=kind)]

"""The router's Kafka adapters: a record in, the records to publish out, the party's state kept up to date.

Party state is kept per partition (see ``plumbing.changelog``) under the party's pseudonym, the
contacts topic's key; a question keyed otherwise is refused, or its state would land in another
partition. Case events are keyed by case id, so a resolved case is first re-keyed by pseudonym onto
an internal topic partitioned like the contacts, and closes the link in the partition that owns
the party.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from aiokafka import ConsumerRecord

from plumbing.calendar import TermCalendar
from plumbing.changelog import PartitionedState
from plumbing.deadletters import Refused, decode_event, decode_one_of, event_type
from plumbing.kafka import InternalTopic, Record, event_record, group_id
from plumbing.settings import KafkaSettings
from schemas import CaseResolved, QuestionAsked
from schemas.topics import CASE_EVENTS, CONTACTS, Service
from services.router import handlers
from services.router.domain import Classifier, PartyState, utc

log = structlog.get_logger(__name__)
SERVICE = Service.ROUTER
#: Event types of the contacts topic that are not the router's.
OTHER_CONTACTS = frozenset(e.event_type() for e in CONTACTS.events if e is not QuestionAsked)
#: A question's type as Loket's intake writes it (compact JSON): a record that has it goes straight to full
#: validation, without reading its type first; whatever it turns out to be is validated in full.
QUESTION_TYPE = f'"type":"{QuestionAsked.event_type()}"'.encode()
#: Party states kept parsed in memory beside their stored bytes.
PARSED_STATES = 10_000


@dataclass(frozen=True)
class InternalTopics:
    """The router's own topics, named after its consumer group (as the faust router named them)."""

    party_state: InternalTopic
    closures: InternalTopic

    @classmethod
    def of(cls, settings: KafkaSettings) -> "InternalTopics":
        group = group_id(settings, SERVICE)
        return cls(InternalTopic(f"{group}-party-state-changelog", compacted=True),
                   InternalTopic(f"{group}-case-closures"))


class RouterRecords:
    """One handler per input topic, each turning a consumer record into the records to publish."""

    def __init__(self, settings: KafkaSettings, state: PartitionedState, closures: str, *,
                 classifier: Classifier, calendar: TermCalendar, source: str) -> None:
        self._settings = settings
        self._state = state
        self._closures = closures
        self._classifier = classifier
        self._calendar = calendar
        self._source = source
        self._parsed: dict[bytes, tuple[bytes, PartyState]] = {}  # key -> (stored bytes, their parse)
        self._latest: dict[int, dt.datetime] = {}  # per partition, the latest receipt time routed: the clock it expires by

    def question(self, record: ConsumerRecord) -> list[Record]:
        """A question routed; what else a channel system reports of a contact (a call's course) is the norms',
        and so is refusing it when it is invalid: here its type is read, and nothing more (there are some
        seven such events for every question)."""
        if QUESTION_TYPE not in (record.value or b"") and event_type(record) in OTHER_CONTACTS:
            return []
        question = decode_one_of(CONTACTS.events, record)
        if not isinstance(question, QuestionAsked):  # a type the contacts topic gained since OTHER_CONTACTS
            return []
        party = question.data.party
        if party and record.key != party.pseudonym.encode():
            raise Refused("the record's key is not the party's pseudonym (contacts are keyed by pseudonym)")
        state = self._party_state(record) if party else None
        latest, received = self._latest.get(record.partition), utc(question.data.received_at)
        if latest is None or received > latest:
            self._latest[record.partition] = received
        outgoing, new_state = handlers.handle_question(
            question, state, classifier=self._classifier, calendar=self._calendar, source=self._source)
        records = [o.record(self._settings) for o in outgoing]
        return records + (self._remember(record, state, new_state) if party else [])

    def case_event(self, record: ConsumerRecord) -> list[Record]:
        """A resolved case of a known party goes, keyed by its pseudonym, to the closures topic."""
        event = decode_one_of(CASE_EVENTS.events, record)
        if isinstance(event, CaseResolved) and event.data.party_pseudonym:
            return [event_record(self._closures, event.data.party_pseudonym, record.value)]
        return []

    def closure(self, record: ConsumerRecord) -> list[Record]:
        resolved = decode_event(CaseResolved, record)  # validated before re-keying, and refused like any record
        state = self._party_state(record)
        return self._remember(record, state, handlers.handle_case_resolved(resolved, state))

    def expire(self, partition: int, raw: bytes) -> bytes | None:
        """A stored party state without what is too old to matter; ``None`` when nothing is left.

        "Old" is measured against the latest question routed in the same partition (never later than
        the wall clock), not the wall clock alone: a partition replaying last month's questions must
        not forget what they need, and while a partition routes nothing it forgets nothing.
        """
        latest = self._latest.get(partition)
        if latest is None:
            return raw
        try:
            state = PartyState.from_bytes(raw)
        except ValueError:
            log.error("party_state_unreadable", changelog=self._state.changelog)
            return raw  # kept as it is: routing refuses it loudly when the party comes back
        kept = state.expired(min(latest, dt.datetime.now(dt.timezone.utc)))
        if kept is None:
            return None
        return raw if kept is state else kept.to_bytes()

    def _party_state(self, record: ConsumerRecord) -> PartyState | None:
        raw = self._state.get(record.partition, record.key)
        if not raw:
            return None
        known = self._parsed.get(record.key)
        if known is not None and known[0] == raw:
            return known[1]
        return PartyState.from_bytes(raw)

    def _remember(self, record: ConsumerRecord, before: PartyState | None, after: PartyState | None) -> list[Record]:
        """Keep the new state; its changelog record goes out with the batch. Call it last."""
        if after is None or after == before:
            return []
        value = after.to_bytes()
        if len(self._parsed) >= PARSED_STATES:
            self._parsed.clear()
        self._parsed[record.key] = (value, after)
        return [self._state.put(record.partition, record.key, value)]

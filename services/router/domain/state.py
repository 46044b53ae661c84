"""What the router remembers per party (by pseudonym), so that a citizen asks only once.

Kept under the party's pseudonym, the contacts topic's key, so it is local to the partition; it
survives restarts through the router's changelog topic.

The state is the router's own, not a message of the contract, so it is a ``msgspec`` struct stored
as MessagePack arrays rather than a pydantic model stored as JSON: a party's state is read and
written for every question it asks and held for every party in memory, and this way a state of
thirty handled questions is encoded in about 5 µs (pydantic's JSON: about 40) and takes some 110
bytes a question instead of 250. States the router wrote as JSON before are still read.
"""

from __future__ import annotations

import datetime as dt
from itertools import takewhile
from typing import Annotated

import msgspec

from schemas.decisions import REPEAT_CONTACT_DAYS

#: A contact on the same subject within this window counts as "had to tell the story again".
REPEAT_WINDOW = dt.timedelta(days=REPEAT_CONTACT_DAYS)
#: Most recent handled questions remembered per party: for redeliveries and repeat contacts.
HANDLED_LIMIT = 30
#: How long a handled question is remembered: long enough for repeat contacts, and far longer than a
#: redelivery takes (minutes). A party with no open case and nothing handled since is forgotten.
HANDLED_KEPT = REPEAT_WINDOW
#: An instant with its offset: a naive one cannot be compared with a question's receipt time.
Instant = Annotated[dt.datetime, msgspec.Meta(tz=True)]


def utc(instant: dt.datetime) -> dt.datetime:
    """An aware instant on the standard library's UTC, as the state keeps its times. pydantic gives the times it
    parses a ``tzinfo`` of its own: against that, every subtraction or comparison with a stored time calls back
    into Python (0.4 µs instead of 0.05), and msgspec encodes it twenty times slower (a state of thirty handled
    questions in 11 µs instead of 2)."""
    return instant.astimezone(dt.timezone.utc)


class _State(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """Immutable, and stored as an array of its fields in order: add new fields at the end, with a default."""


class OpenCaseRef(_State):
    """A case the router opened for this party and has not seen resolved."""

    case_id: str
    subject_code: str
    opened_by: str  # key of the question that opened it: its redelivery is no second question
    due_date: dt.date


class Handled(_State):
    """A question of this party and how it was decided: a redelivery gets the same decision, whatever
    came since, and later questions on the same subject see it as an earlier contact."""

    question_key: str  # digest of the question's source and id
    subject_code: str
    received_at: Instant
    outcome: str
    case_id: str | None = None
    due_date: dt.date | None = None
    repeat_contact: bool = False


class PartyState(_State):
    """One party's open cases per subject and recently handled questions."""

    open_cases: tuple[OpenCaseRef, ...] = ()
    handled: tuple[Handled, ...] = ()

    def open_case_for(self, subject_code: str) -> OpenCaseRef | None:
        return next((c for c in self.open_cases if c.subject_code == subject_code), None)

    def handled_for(self, question_key: str) -> Handled | None:
        return next((h for h in self.handled if h.question_key == question_key), None)

    def is_repeat(self, subject_code: str, question_key: str, received_at: dt.datetime) -> bool:
        """Did the party contact us on this subject in the window before this question (itself excluded)?
        ``received_at`` in ``utc``, as the state's own times are."""
        return any(
            h.subject_code == subject_code and h.question_key != question_key
            and dt.timedelta(0) <= received_at - h.received_at <= REPEAT_WINDOW
            for h in self.handled
        )

    def with_case(self, case: OpenCaseRef) -> PartyState:
        others = tuple(c for c in self.open_cases if c.subject_code != case.subject_code)
        return msgspec.structs.replace(self, open_cases=(*others, case))

    def without_case(self, case_id: str) -> PartyState:
        return msgspec.structs.replace(self, open_cases=tuple(c for c in self.open_cases if c.case_id != case_id))

    def without_subject(self, subject_code: str) -> PartyState:
        return msgspec.structs.replace(self, open_cases=tuple(c for c in self.open_cases
                                                              if c.subject_code != subject_code))

    def with_handled(self, handled: Handled) -> PartyState:
        """Remember a handled question, the most recent last, forgetting the oldest beyond the limit."""
        return msgspec.structs.replace(self, handled=(*self.handled, handled)[-HANDLED_LIMIT:])

    def expired(self, now: dt.datetime) -> PartyState | None:
        """What is left at ``now`` once handled questions older than ``HANDLED_KEPT`` are forgotten;
        ``None`` when nothing is left (open cases stay until they are resolved)."""
        handled = tuple(h for h in self.handled if now - h.received_at <= HANDLED_KEPT)
        if not handled and not self.open_cases:
            return None
        return self if len(handled) == len(self.handled) else msgspec.structs.replace(self, handled=handled)

    def to_bytes(self) -> bytes:
        """The stored form: MessagePack, each struct an array of its fields."""
        return _ENCODER.encode(self)

    @classmethod
    def from_bytes(cls, raw: bytes) -> PartyState:
        """A stored state; ``ValueError`` for bytes that are none."""
        try:
            if raw[:1] == b"{":  # JSON: written by a router before the state was MessagePack
                return _from_json(raw)
            return _DECODER.decode(raw)
        except msgspec.MsgspecError as exc:
            raise ValueError(f"not a party state: {exc}") from None


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(PartyState)


def _from_json(raw: bytes) -> PartyState:
    """A state as the router stored it before: JSON objects with every field named."""
    stored = msgspec.json.decode(raw)
    if not isinstance(stored, dict) or stored.keys() - set(PartyState.__struct_fields__):
        raise msgspec.ValidationError("not a party state object")

    def fields(kind: type[_State], value: object) -> list[object]:
        if not isinstance(value, dict):
            raise msgspec.ValidationError(f"{kind.__name__} is not an object")
        return [value[name] for name in takewhile(value.__contains__, kind.__struct_fields__)]

    def rows(kind: type[_State], name: str) -> list[list[object]]:
        value = stored.get(name, [])
        if not isinstance(value, list):
            raise msgspec.ValidationError(f"{name} is not an array")
        return [fields(kind, item) for item in value]

    return msgspec.convert([rows(OpenCaseRef, "open_cases"), rows(Handled, "handled")], PartyState)

"""The intake's rules: check identifiers, choose the party's pseudonym and the Kafka key. Pure."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from plumbing.pseudonym import IdentifierKind, normalise, pseudonym
from schemas import PartyRef, PersonalData, QuestionAsked, QuestionData
from schemas.intake import PartyIdentifiers, QuestionSubmission
from services.intake.exceptions import InvalidIdentifier

#: Strongest first: the pseudonym is made from the first one present.
IDENTIFIER_STRENGTH: tuple[IdentifierKind, ...] = ("bsn", "kvk", "email", "phone")


#: Idempotency keys map to the same event and contact ids on every retry.
IDEMPOTENCY_NAMESPACE = uuid.UUID("0d6f3c8e-1b7a-4e52-9c3d-4f8a2b6e1c90")
MIN_PHONE_DIGITS = 6


def bsn_is_valid(bsn: str) -> bool:
    """The eleven test (elfproef) of a burgerservicenummer."""
    if len(bsn) != 9 or not bsn.isascii() or not bsn.isdigit() or bsn == "000000000":
        return False
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(bsn, weights)) % 11 == 0


def party_ref(identifiers: PartyIdentifiers, secret: bytes) -> PartyRef | None:
    """The party's reference, pseudonymised from its strongest identifier; None if none was given."""
    if identifiers.bsn is not None and not bsn_is_valid(identifiers.bsn):
        raise InvalidIdentifier("party.bsn", "not a valid BSN (it fails the eleven test)")
    if identifiers.phone is not None and len(normalise("phone", identifiers.phone)) < MIN_PHONE_DIGITS:
        raise InvalidIdentifier("party.phone", f"a phone number needs at least {MIN_PHONE_DIGITS} digits")
    for kind in IDENTIFIER_STRENGTH:
        value = getattr(identifiers, kind)
        if value:
            personal = PersonalData(**identifiers.model_dump())
            return PartyRef(pseudonym=pseudonym(secret, kind, str(value)), identified_by=kind, personal=personal)
    return None


def ids_for(idempotency_key: str | None, new_id: Callable[[], str]) -> tuple[str, str]:
    """Event id and contact id: fresh ones, or with an idempotency key the same ones on every retry."""
    if idempotency_key is None:
        return new_id(), new_id()
    return tuple(str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{idempotency_key}\n{what}")) for what in ("event", "contact"))


def question_event(
    submission: QuestionSubmission,
    *,
    secret: bytes,
    source: str,
    now: dt.datetime,
    event_id: str,
    contact_id: str,
) -> QuestionAsked:
    """The QuestionAsked event for a submission; its subject is the pseudonym or our own contact id."""
    party = party_ref(submission.party, secret) if submission.party else None
    data = QuestionData(
        contact_id=contact_id,
        channel_reference=submission.channel_reference,
        channel=submission.channel,
        subject_code=submission.subject_code,
        text=submission.text,
        party=party,
        received_at=submission.received_at or now,
        agent_outcome=submission.agent_outcome,
    )
    return QuestionAsked.create(source=source, data=data, subject=data.partition_key(), time=now, id=event_id)

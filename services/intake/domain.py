"""The intake's rules: check identifiers, choose the party's pseudonym and the Kafka key. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from plumbing.pseudonym import IdentifierKind, pseudonym
from schemas import PartyRef, PersonalData, QuestionAsked, QuestionData
from schemas.intake import PartyIdentifiers, QuestionSubmission
from services.intake.exceptions import InvalidIdentifier

#: Strongest first: the pseudonym is made from the first one present.
IDENTIFIER_STRENGTH: tuple[IdentifierKind, ...] = ("bsn", "kvk", "email", "phone")


def bsn_is_valid(bsn: str) -> bool:
    """The eleven test (elfproef) of a burgerservicenummer."""
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(bsn, weights)) % 11 == 0


def party_ref(identifiers: PartyIdentifiers, secret: bytes) -> PartyRef | None:
    """The party's reference, pseudonymised from its strongest identifier; None if none was given."""
    if identifiers.bsn is not None and not bsn_is_valid(identifiers.bsn):
        raise InvalidIdentifier("party.bsn", "not a valid BSN (it fails the eleven test)")
    for kind in IDENTIFIER_STRENGTH:
        value = getattr(identifiers, kind)
        if value:
            personal = PersonalData(**identifiers.model_dump())
            return PartyRef(pseudonym=pseudonym(secret, kind, str(value)), identified_by=kind, personal=personal)
    return None


def question_event(
    submission: QuestionSubmission,
    *,
    secret: bytes,
    source: str,
    now: dt.datetime,
    new_id: Callable[[], str],
) -> QuestionAsked:
    """The QuestionAsked event for a submission; its subject is the pseudonym or the contact id."""
    party = party_ref(submission.party, secret) if submission.party else None
    contact_id = submission.contact_id or new_id()
    data = QuestionData(
        contact_id=contact_id,
        channel=submission.channel,
        subject_code=submission.subject_code,
        text=submission.text,
        party=party,
        received_at=submission.received_at or now,
    )
    return QuestionAsked.create(source=source, data=data, subject=data.partition_key(), time=now, id=new_id())

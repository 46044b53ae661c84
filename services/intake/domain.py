"""The intake's rules: check identifiers, choose the party's pseudonym and the Kafka key. Pure."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from plumbing.ids import uuid5
from plumbing.pseudonym import IdentifierKind, bsn_is_valid, normalise, pseudonym
from schemas import PartyRef, PersonalData, QuestionAsked, QuestionData
from schemas.contacts import Attachment, Channel
from schemas.feedback import SatisfactionScored, SatisfactionScoredData
from schemas.intake import PartyIdentifiers, QuestionSubmission, ReplySubmission, ScoreSubmission
from schemas.replies import FirstReplySent, FirstReplySentData
from services.intake.exceptions import InvalidIdentifier, OverLimit
from services.intake.idempotency import fingerprint

#: Strongest first: the pseudonym is made from the first one present.
IDENTIFIER_STRENGTH: tuple[IdentifierKind, ...] = ("bsn", "kvk", "email", "phone")


#: Idempotency keys map to the same event and contact ids on every retry.
IDEMPOTENCY_NAMESPACE = uuid.UUID("0d6f3c8e-1b7a-4e52-9c3d-4f8a2b6e1c90")


def checked(identifiers: PartyIdentifiers) -> PartyIdentifiers:
    """The identifiers as they travel on: a BSN that passes the eleven test, a phone number in E.164.

    The e-mail address stays as given, for the answer goes to it; only its normalised form keys the party.
    """
    if identifiers.bsn is not None and not bsn_is_valid(identifiers.bsn):
        raise InvalidIdentifier("party.bsn", "not a valid BSN (it fails the eleven test)")
    if identifiers.email is not None:
        _normalised("email", identifiers.email)
    if identifiers.phone is None:
        return identifiers
    return identifiers.model_copy(update={"phone": _normalised("phone", identifiers.phone)})


def _normalised(kind: IdentifierKind, value: str) -> str:
    try:
        return normalise(kind, value)
    except ValueError as exc:
        raise InvalidIdentifier(f"party.{kind}", str(exc)) from None


def party_ref(identifiers: PartyIdentifiers, secret: bytes) -> PartyRef | None:
    """The party's reference, pseudonymised from its strongest identifier; None if none was given."""
    identifiers = checked(identifiers)
    for kind in IDENTIFIER_STRENGTH:
        value = getattr(identifiers, kind)
        if value:
            personal = PersonalData(**identifiers.model_dump())
            return PartyRef(pseudonym=pseudonym(secret, kind, str(value)), identified_by=kind, personal=personal)
    return None


def pseudonym_only(identifiers: PartyIdentifiers | None, secret: bytes) -> PartyRef | None:
    """The party's pseudonym without its personal data: for the norms, which need to know a party again (a
    caller, who booked), never whom to reach."""
    party = party_ref(identifiers, secret) if identifiers else None
    return party.model_copy(update={"personal": None}) if party else None


def check_attachments(attachments: tuple[Attachment, ...], max_bytes: int) -> None:
    """Each attachment within the intake's size limit, else ``OverLimit`` naming the first too large."""
    for n, attachment in enumerate(attachments):
        if attachment.size_bytes > max_bytes:
            raise OverLimit(f"attachments.{n}.size_bytes", f"is larger than the {max_bytes} bytes this intake takes")


def ids_for(idempotency_key: str | None, new_id: Callable[[], str]) -> tuple[str, str]:
    """Event id and contact id: fresh ones, or with an idempotency key the same ones on every retry."""
    if idempotency_key is None:
        return new_id(), new_id()
    return tuple(uuid5(IDEMPOTENCY_NAMESPACE, f"{idempotency_key}\n{what}") for what in ("event", "contact"))


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
        attachments=submission.attachments,
    )
    return QuestionAsked.create(source=source, data=data, subject=data.partition_key(), time=now, id=event_id)


def score_event(submission: ScoreSubmission, *, source: str, now: dt.datetime) -> SatisfactionScored:
    """The SatisfactionScored event of a survey response; its id is the same for the response sent again."""
    data = SatisfactionScoredData(contact_id=submission.contact_id, channel=submission.channel,
                                  score=submission.score, scored_at=submission.scored_at or now,
                                  response_reference=submission.response_id)
    # With the body: a corrected score sent under the same response id after a restart is not taken for a copy.
    event_id = uuid5(IDEMPOTENCY_NAMESPACE, f"kto-response\n{submission.response_id}\n{fingerprint(submission)}")
    return SatisfactionScored.create(source=source, data=data, subject=submission.contact_id, time=now, id=event_id)


def reply_event(submission: ReplySubmission, *, source: str, now: dt.datetime) -> FirstReplySent:
    """The FirstReplySent event of a reply; its id is the same for the report sent again with the same body."""
    data = FirstReplySentData(contact_id=submission.contact_id, channel=Channel(submission.channel),
                              sent_at=submission.sent_at or now, reply_reference=submission.id)
    event_id = uuid5(IDEMPOTENCY_NAMESPACE, f"first-reply\n{submission.id}\n{fingerprint(submission)}")
    return FirstReplySent.create(source=source, data=data, subject=submission.contact_id, time=now, id=event_id)

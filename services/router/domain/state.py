"""What the router remembers per party (by pseudonym), so that a citizen asks only once.

Kept under the party's pseudonym, the contacts topic's key, so it is local to the partition; it
survives restarts through the router's changelog topic.
"""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.decisions import REPEAT_CONTACT_DAYS

#: A contact on the same subject within this window counts as "had to tell the story again".
REPEAT_WINDOW = dt.timedelta(days=REPEAT_CONTACT_DAYS)
#: Most recent handled questions remembered per party: for redeliveries and repeat contacts.
HANDLED_LIMIT = 30
#: How long a handled question is remembered: long enough for repeat contacts, and far longer than a
#: redelivery takes (minutes). A party with no open case and nothing handled since is forgotten.
HANDLED_KEPT = REPEAT_WINDOW


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    received_at: AwareDatetime
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
        """Did the party contact us on this subject in the window before this question (itself excluded)?"""
        return any(
            h.subject_code == subject_code and h.question_key != question_key
            and dt.timedelta(0) <= received_at - h.received_at <= REPEAT_WINDOW
            for h in self.handled
        )

    def with_case(self, case: OpenCaseRef) -> "PartyState":
        others = tuple(c for c in self.open_cases if c.subject_code != case.subject_code)
        return self.model_copy(update={"open_cases": (*others, case)})

    def without_case(self, case_id: str) -> "PartyState":
        return self.model_copy(update={"open_cases": tuple(c for c in self.open_cases if c.case_id != case_id)})

    def without_subject(self, subject_code: str) -> "PartyState":
        return self.model_copy(update={"open_cases": tuple(c for c in self.open_cases
                                                           if c.subject_code != subject_code)})

    def with_handled(self, handled: Handled) -> "PartyState":
        """Remember a handled question, the most recent last, forgetting the oldest beyond the limit."""
        return self.model_copy(update={"handled": (*self.handled, handled)[-HANDLED_LIMIT:]})

    def expired(self, now: dt.datetime) -> "PartyState | None":
        """What is left at ``now`` once handled questions older than ``HANDLED_KEPT`` are forgotten;
        ``None`` when nothing is left (open cases stay until they are resolved)."""
        handled = tuple(h for h in self.handled if now - h.received_at <= HANDLED_KEPT)
        if not handled and not self.open_cases:
            return None
        return self if handled == self.handled else self.model_copy(update={"handled": handled})

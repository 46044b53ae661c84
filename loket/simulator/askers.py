"""Who asks what: the catalog's subjects in the simulator's mix, and residents who come back about the same
thing (a repeat contact), now and then to complain that it is still not settled. Pure."""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

from loket.simulator.population import Resident, residents
from loket.simulator.texts import COUNTER_PRODUCTS, REPEAT_COMPLAINT, TEXTS, WEIGHTS
from plumbing.organisation import Organisation, Subject, SubjectKind

#: Share of contacts from a known resident that are about something the resident asked before in the run.
REPEAT_SHARE = 0.12
#: Share of those repeats that are a complaint about having to ask again.
REPEAT_COMPLAINT_SHARE = 0.2
#: Residents a day's contacts are drawn from.
POPULATION = 4000
#: How many of the latest contacts a repeat is drawn from: people come back within days, not months.
RECENT = 300


@dataclass(frozen=True)
class Ask:
    """One contact's question: its subject (a catalog code), the words, and the resident if the channel
    knows them."""

    subject: str
    text: str
    resident: Resident | None
    repeat: bool = False


class Askers:
    """Draws the questions of a day in the order they are asked, remembering who asked what."""

    def __init__(self, organisation: Organisation, rng: random.Random) -> None:
        self._rng = rng
        self._subjects = organisation.subjects
        self._weights = list(accumulate(WEIGHTS.get(subject.code, 1.0) for subject in self._subjects))
        # Another organisation's catalog may lack a product: its appointments are then for what is left.
        products = [(subject, queue, weight) for code, queue, weight in COUNTER_PRODUCTS
                    if (subject := organisation.subject(code)) is not None]
        general = organisation.subject(organisation.general_subject)
        assert general is not None  # the organisation file guarantees it
        self._products = products or [(general, "burgerzaken", 1.0)]
        self._product_weights = list(accumulate(weight for _, _, weight in self._products))
        self._complaint = next((s.code for s in self._subjects if s.kind == SubjectKind.COMPLAINT), None)
        self.residents = residents(POPULATION, rng)
        self._asked: list[tuple[Resident, str]] = []

    def ask(self, known: float) -> Ask:
        """A question; the channel knows who asks with probability ``known``."""
        rng = self._rng
        if rng.random() >= known:
            return Ask(*self._question(self._subject()), resident=None)
        if self._asked and rng.random() < REPEAT_SHARE:
            resident, code = rng.choice(self._asked[-RECENT:])
            if self._complaint and rng.random() < REPEAT_COMPLAINT_SHARE:
                return Ask(self._complaint, REPEAT_COMPLAINT, resident, repeat=True)
            return Ask(code, rng.choice(self._texts(code)), resident, repeat=True)
        resident = rng.choice(self.residents)
        subject, text = self._question(self._subject())
        self._asked.append((resident, subject))
        return Ask(subject, text, resident)

    def appointment(self) -> tuple[Ask, str]:
        """An appointment at the counter: what it is for, who booked it, and its queue (the product)."""
        rng = self._rng
        subject, queue, _ = rng.choices(self._products, cum_weights=self._product_weights)[0]
        resident = rng.choice(self.residents)
        code, text = self._question(subject)
        self._asked.append((resident, code))
        return Ask(code, text, resident), queue

    def _subject(self) -> Subject:
        return self._rng.choices(self._subjects, cum_weights=self._weights)[0]

    def _question(self, subject: Subject) -> tuple[str, str]:
        return subject.code, self._rng.choice(self._texts(subject.code, subject.title))

    def _texts(self, code: str, title: str = "") -> tuple[str, ...]:
        return TEXTS.get(code) or (f"Ik heb een vraag over {title.lower() or code}.",)

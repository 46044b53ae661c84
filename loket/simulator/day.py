"""A day of Zeventerpen: every channel's arrivals on its daily curve, who asks what, and each channel's course.
Pure: ``simulate`` gives the same day for the same scenario and organisation."""

from __future__ import annotations

import random
from collections import defaultdict

from loket.simulator import curves
from loket.simulator.askers import Ask, Askers
from loket.simulator.counter import appointments, walk_ins
from loket.simulator.model import Book, Day, Scenario, kto, lognormal
from loket.simulator.phone import phone
from plumbing.organisation import Organisation
from schemas.contacts import Channel

#: Contacts a day at rate 1 for a municipality of about 100,000 residents, and each channel's daily curve.
#: ``None`` stands for the walk-ins at the counter (its appointments are planned, not drawn).
VOLUMES: dict[Channel | None, tuple[float, curves.Curve]] = {
    Channel.PHONE: (600, curves.PHONE),
    Channel.WEB: (220, curves.WEB),
    Channel.CHAT: (70, curves.CHAT),
    Channel.EMAIL: (160, curves.EMAIL),
    Channel.LETTER: (20, curves.LETTER),
    None: (50, curves.WALK_IN),
}
#: How often each channel knows who asks (the rest are anonymous).
KNOWN: dict[Channel | None, float] = {Channel.PHONE: 0.85, Channel.WEB: 0.9, Channel.CHAT: 0.45, Channel.EMAIL: 1.0,
                                      Channel.LETTER: 1.0, None: 0.6}
#: Web forms: logged in with DigiD (else an e-mail address); the form names the subject.
DIGID, FORM_SUBJECT = 0.75, 0.6
#: Chat: minutes a conversation lasts (mean, deviation); the employee gives the outcome.
CHAT_LENGTH, CHAT_OUTCOME = (420.0, 240.0), 0.3
#: Chance of a survey answer after a web form and after a chat.
WEB_SCORE, CHAT_SCORE = 0.05, 0.15
#: Hours until the first written reply (mean, deviation): web forms and e-mail are mostly answered within two
#: working days, letters within three weeks. Only the replies that fall within the run are sent.
REPLY_HOURS: dict[Channel, tuple[float, float]] = {Channel.WEB: (20.0, 24.0), Channel.EMAIL: (16.0, 20.0),
                                                   Channel.LETTER: (120.0, 90.0)}


def simulate(scenario: Scenario, organisation: Organisation) -> Day:
    """The requests of the simulated run, in the order they are sent, and the simulator's figures."""
    askers = Askers(organisation, scenario.stream("askers"))
    book = Book(scenario, organisation)
    appointments(book, askers)
    by_channel = _asked(scenario, askers)
    phone(book, by_channel.pop(Channel.PHONE, []))
    walk_ins(book, by_channel.pop(None, []))
    for channel, contacts in by_channel.items():
        for number, (seconds, ask) in enumerate(contacts):
            _written(book, channel, seconds, ask, scenario.stream(f"{channel.value}:{number}"))
    return book.day()


def _asked(scenario: Scenario, askers: Askers) -> dict[Channel | None, list[tuple[float, Ask]]]:
    """Each channel's contacts: arrival (seconds after the start) and question, drawn in the order they arrive
    over all channels, so that a resident asks again after asking first."""
    arriving: list[tuple[float, int, Channel | None]] = []
    for order, (channel, (per_day, curve)) in enumerate(VOLUMES.items()):
        name = channel.value if channel else "walk-in"
        hours = curves.arrivals(curve, per_day * scenario.rate, scenario.start_hour, scenario.end_hour,
                                scenario.stream(f"arrivals:{name}"))
        arriving.extend(((hour - scenario.start_hour) * 3600, order, channel) for hour in hours)
    contacts: dict[Channel | None, list[tuple[float, Ask]]] = defaultdict(list)
    for seconds, _, channel in sorted(arriving, key=lambda a: a[:2]):
        contacts[channel].append((seconds, askers.ask(KNOWN[channel])))
    return contacts


def _written(book: Book, channel: Channel, seconds: float, ask: Ask, rng: random.Random) -> None:
    """A question on a channel the simulator does not queue: web, chat, e-mail, letter."""
    resident = ask.resident
    match channel:
        case Channel.WEB:
            party = None if resident is None else ({"bsn": resident.bsn} if rng.random() < DIGID
                                                   else {"email": resident.email, "name": resident.name})
            key = book.question(seconds, channel, ask, party, code=rng.random() < FORM_SUBJECT)
            if rng.random() < WEB_SCORE:
                book.score(seconds + rng.uniform(60, 900), key, channel, kto(rng, 7.2, 0))
            book.first_reply(seconds + 3600 * lognormal(rng, *REPLY_HOURS[channel]), key, channel)
        case Channel.CHAT:
            party = {"email": resident.email} if resident else None
            ended = seconds + lognormal(rng, *CHAT_LENGTH)
            key = book.question(ended, channel, ask, party, received=seconds, outcome=rng.random() < CHAT_OUTCOME)
            if rng.random() < CHAT_SCORE:
                book.score(ended + rng.uniform(10, 120), key, channel, kto(rng, 7.5, 0))
        case Channel.EMAIL:
            party = {"email": resident.email, "name": resident.name} if resident else None
            key = book.question(seconds, channel, ask, party)
            book.first_reply(seconds + 3600 * lognormal(rng, *REPLY_HOURS[channel]), key, channel)
        case Channel.LETTER:
            # The post room registers in the morning what the post brought: received earlier that day.
            party = {"bsn": resident.bsn, "name": resident.name} if resident else None
            key = book.question(seconds, channel, ask, party, received=seconds - rng.uniform(600, 5400))
            book.first_reply(seconds + 3600 * lognormal(rng, *REPLY_HOURS[channel]), key, channel)

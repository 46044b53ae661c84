"""The counter: Burgerzaken works by appointment (booked in the days before, on 15-minute slots at four desks),
and an information desk takes walk-ins with a ticket. As the appointment and queue-ticketing systems report
them, and the questions the desks register. Pure."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from loket.simulator.askers import Ask, Askers
from loket.simulator.model import Book, Door, Report, kto, lognormal
from loket.simulator.queue import Queue
from schemas.contacts import Channel

#: Appointments: desks, slot length, the hours slots are given, and the share of slots booked at rate 1.
DESKS, SLOT, OPENS, CLOSES, BOOKED = 4, dt.timedelta(minutes=15), 9.0, 16.0, 0.85
#: Booked this many days before, at least and at most (the intake takes times up to 30 days back).
BOOKED_DAYS_BEFORE = (1.0, 14.0)
#: Share of appointments nobody comes to; arrival before the slot (seconds: mean, deviation).
NO_SHOW, EARLY = 0.08, (300.0, 240.0)
#: Seconds at the desk: mean and deviation, appointments and walk-ins.
SERVICE, WALK_IN_SERVICE = (600.0, 240.0), (300.0, 180.0)
#: A walk-in waits this long on average before giving up (exponential).
WALK_IN_PATIENCE = 1500.0
WALK_IN_QUEUE = "informatiebalie"
#: Chance of a survey answer after a visit.
SCORE_SHARE = 0.1


def appointments(book: Book, askers: Askers) -> None:
    """The day's appointments in the run's hours: booked beforehand, then arrived, called and served (or
    nobody came)."""
    scenario, figures = book.scenario, book.figures.counter
    rng = scenario.stream("appointments")
    share = min(0.97, BOOKED * scenario.rate)
    day = scenario.start.replace(hour=0, minute=0, second=0, microsecond=0)
    slot, slots = day + dt.timedelta(hours=OPENS), []
    while slot < day + dt.timedelta(hours=CLOSES):
        if scenario.start <= slot < scenario.start + scenario.duration:
            slots.append((slot - scenario.start).total_seconds())
        slot += SLOT
    for desk in range(DESKS):
        free = float("-inf")
        for slot_seconds in slots:
            if rng.random() >= share:
                continue
            ask, queue = askers.appointment()
            free = _appointment(book, rng, slot_seconds, desk, free, ask, queue)
            figures.appointments += 1


def _appointment(book: Book, rng: random.Random, slot: float, desk: int, free: float, ask: Ask, queue: str) -> float:
    """One appointment at ``desk``, free from ``free``; returns when the desk is free again."""
    figures = book.figures.counter
    appointment = book.new_id("appointment")
    report = _reporter(book, appointment, "appointment", queue)
    booked = slot - rng.uniform(*BOOKED_DAYS_BEFORE) * 86400
    party = {"bsn": ask.resident.bsn} if ask.resident else None
    report(booked, "booked", slot=book.time(slot), party=party)
    if rng.random() < NO_SHOW:
        figures.no_shows += 1
        return free
    arrived = slot - max(-900.0, min(1200.0, rng.gauss(*EARLY)))
    report(arrived, "arrived")
    called = max(slot, arrived, free) + rng.uniform(0, 60)
    figures.lateness.append(called - slot)
    report(called, "called", slot=book.time(slot), desk=str(desk + 1))
    service = lognormal(rng, *SERVICE)
    report(called + service, "served", service=round(service, 1))
    _registered(book, rng, called, called + service, ask, appointment, 8.2, (called - slot) / 300)
    return called + service


def walk_ins(book: Book, visits: list[tuple[float, Ask]]) -> None:
    """Walk-ins at the information desk, one desk, first come first served; one who leaves before being called
    is a no-show when the ticket comes up."""
    figures = book.figures.counter
    queue = Queue(1)
    for number, (seconds, ask) in enumerate(visits):
        rng = book.scenario.stream(f"walk-in:{number}")
        service = lognormal(rng, *WALK_IN_SERVICE)
        outcome = queue.offer(seconds, rng.expovariate(1 / WALK_IN_PATIENCE), service)
        ticket = book.new_id("ticket")
        report = _reporter(book, ticket, "ticket", WALK_IN_QUEUE)
        report(seconds, "issued")
        figures.walk_ins += 1
        if not outcome.served:
            report(outcome.reached, "no_show")
            figures.walk_ins_left += 1
            continue
        report(outcome.reached, "called", wait=round(outcome.wait, 1), desk="info")
        report(outcome.reached + service, "served", service=round(service, 1))
        figures.walk_in_waits.append(outcome.wait)
        _registered(book, rng, outcome.reached, outcome.reached + service, ask, ticket, 7.6, outcome.wait / 600)


def _registered(book: Book, rng: random.Random, called: float, done: float, ask: Ask, visit: str, base: float,
                penalty: float) -> None:
    """The desk registers the visit's question when it is done; now and then the visitor rates it."""
    party = {"bsn": ask.resident.bsn, "name": ask.resident.name} if ask.resident else None
    key = book.question(done, Channel.COUNTER, ask, party, received=called, reference=visit, code=True, outcome=True)
    if rng.random() < SCORE_SHARE:
        book.score(done + rng.uniform(60, 1800), key, Channel.COUNTER, kto(rng, base, penalty))


def _reporter(book: Book, visit: str, kind: str, queue: str) -> Report:
    """Posts a report of this visit; report ids are the system's, one per report."""

    def report(seconds: float, type_: str, **fields: Any) -> None:
        body = {"id": book.new_id("visit-report"), "type": type_, kind: visit, "queue": queue, "at": book.time(seconds),
                **{name: value for name, value in fields.items() if value is not None}}
        book.post(seconds, Door.COUNTER_REPORTS, body, visit)

    return report

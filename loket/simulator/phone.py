"""The phone: calls into one queue of the Klantcontactcentrum with a number of agents (Erlang-A), as the
telephony platform reports them, and the questions the agents register. Pure.

A caller waits at most their patience (exponential); one who hangs up often calls again a little later.
Talk and after-call work are lognormal. Waits, abandons and handle times follow from the number of agents.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from loket.simulator.askers import Ask
from loket.simulator.model import Book, Door, Report, kto, lognormal
from loket.simulator.queue import Queue
from schemas.contacts import Channel

QUEUE = "kcc-algemeen"
#: Seconds of talk and of after-call work: mean and standard deviation of a lognormal.
TALK = (270.0, 160.0)
WRAP_UP = (60.0, 40.0)
#: Mean patience in seconds (exponential).
PATIENCE = 150.0
#: A caller who hung up calls again with this chance, at least two minutes later, ten on average after that;
#: at most this many times.
RETRY_SHARE, RETRY_AFTER, RETRY_MEAN, RETRIES = 0.6, 120.0, 600.0, 3
#: Chance that the caller's number is shown, and that the caller identifies with their BSN.
NUMBER_SHOWN, IDENTIFIED = 0.9, 0.7
#: The agent registers the subject (else only the caller's words), and the outcome.
SUBJECT_NOTED, OUTCOME_NOTED = 0.7, 0.4
#: A question of another organisation is put through to it warmly with this chance.
TRANSFER_SHARE = 0.4
#: Chance of a survey answer (KTO) after an answered call, sent within half an hour.
SCORE_SHARE = 0.12


def phone(book: Book, calls: list[tuple[float, Ask]]) -> None:
    """Every call, first attempts at the given seconds after the start, in that order, and the attempts of
    callers who hung up."""
    figures = book.figures.phone
    figures.agents = book.scenario.agents
    queue = Queue(book.scenario.agents)
    pending = [(seconds, number, 0) for number, (seconds, _) in enumerate(calls)]
    heapq.heapify(pending)
    streams: dict[int, random.Random] = {}
    while pending:
        seconds, number, attempt = heapq.heappop(pending)
        rng = streams.setdefault(number, book.scenario.stream(f"call:{number}"))
        retry = _call(book, queue, seconds, calls[number][1], rng, attempt)
        if retry is not None:
            heapq.heappush(pending, (retry, number, attempt + 1))


def _call(book: Book, queue: Queue, seconds: float, ask: Ask, rng: random.Random, attempt: int) -> float | None:
    """One call: its reports, and the question if it was answered. Returns when the caller calls again."""
    figures = book.figures.phone
    talk, wrap_up = lognormal(rng, *TALK), lognormal(rng, *WRAP_UP)
    outcome = queue.offer(seconds, rng.expovariate(1 / PATIENCE), talk + wrap_up)
    call = book.new_id("call")
    shown = ask.resident is not None and rng.random() < NUMBER_SHOWN
    report = _reporter(book, call)
    report(seconds, "queued", caller=ask.resident.phone if shown and ask.resident else None)
    figures.offered += 1
    figures.retries += attempt > 0
    if not outcome.served:
        report(outcome.left, "abandoned", wait=round(outcome.wait, 1))
        figures.abandoned += 1
        figures.abandoned_waits.append(outcome.wait)
        if attempt < RETRIES and rng.random() < RETRY_SHARE:
            return outcome.left + RETRY_AFTER + rng.expovariate(1 / RETRY_MEAN)
        return None
    report(outcome.reached, "answered", wait=round(outcome.wait, 1), agent=f"agent-{outcome.server + 1:02d}")
    figures.answered_waits.append(outcome.wait)
    figures.handle_times.append(talk + wrap_up)
    end = outcome.reached + talk
    subject = book.organisation.subject(ask.subject)
    referral = book.organisation.referral(subject.referral) if subject and subject.referral else None
    if referral and rng.random() < TRANSFER_SHARE:
        report(end, "transferred", target={"organisation": referral.name})
        figures.transferred += 1
    report(end, "ended", talk=round(talk, 1), wrapup=round(wrap_up, 1))
    party = _party(ask, rng)
    key = book.question(end + min(wrap_up, 30.0), Channel.PHONE, ask, party, received=outcome.reached,
                        reference=call, code=rng.random() < SUBJECT_NOTED, outcome=rng.random() < OUTCOME_NOTED)
    if rng.random() < SCORE_SHARE:
        penalty = outcome.wait / 90 + (1.0 if ask.repeat else 0.0)
        book.score(end + wrap_up + rng.uniform(60, 1800), key, Channel.PHONE, kto(rng, 7.8, penalty))
    return None


def _reporter(book: Book, call: str) -> Report:
    """Posts a report of this call; report ids are the platform's, one per report."""

    def report(seconds: float, type_: str, **fields: Any) -> None:
        body = {"id": book.new_id("cti"), "type": type_, "call": call, "queue": QUEUE, "at": book.time(seconds),
                **{name: value for name, value in fields.items() if value is not None}}
        book.post(seconds, Door.CALL_REPORTS, body, call)

    return report


def _party(ask: Ask, rng: random.Random) -> dict[str, str] | None:
    """Who the agent registers: by BSN when the caller gives it, else the number to call back."""
    resident = ask.resident
    if resident is None:
        return None
    if rng.random() < IDENTIFIED:
        return {"bsn": resident.bsn, "name": resident.name}
    return {"phone": resident.phone}

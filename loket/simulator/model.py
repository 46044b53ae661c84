"""The simulated day: what to send to which door of the intake, and when, in simulated time. Pure: no I/O and
no clock but the scenario's start; the same scenario gives the same day."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from loket.simulator.askers import Ask
from loket.simulator.figures import Figures
from plumbing.organisation import Organisation, Subject, SubjectKind
from schemas.contacts import AgentOutcome, Channel

#: Posts a report of one call or visit: ``report(seconds, type, **fields)``.
Report = Callable[..., None]
#: Simulated ids are uuid5 names in this namespace: the same seed and run, the same ids.
SIMULATOR_NAMESPACE = uuid.UUID("5f0e6c1a-3b8d-4d2e-9a71-c4e2b9d0f813")


class Door(StrEnum):
    """The intake's doors the simulator posts to."""

    QUESTIONS = "questions"
    CALL_REPORTS = "call-reports"
    COUNTER_REPORTS = "counter-reports"
    SCORES = "satisfaction-scores"
    FIRST_REPLIES = "first-replies"

    @property
    def path(self) -> str:
        return f"/v1/{self.value}"


@dataclass(frozen=True)
class Post:
    """One request to the intake. Times in ``body`` are datetimes on the simulated clock, stamped when sent."""

    at: dt.datetime  # when it is sent, on the simulated clock
    door: Door
    body: Mapping[str, Any]
    thread: str  # posts of one thread are sent in this order: a call's reports, a question and its score
    key: str | None = None  # a question's Idempotency-Key
    about: str | None = None  # a score or a first reply: its question's key, whose contact_id the intake gave


@dataclass(frozen=True)
class Scenario:
    """What to simulate. ``run`` names the run in every id, so that another run's ids never clash with these."""

    start: dt.datetime  # aware; the hour of day sets where on the daily curves the run begins
    duration: dt.timedelta = dt.timedelta(hours=9)
    seed: int = 7
    agents: int = 10  # on the phone
    rate: float = 1.0  # multiplies every channel's arrivals
    run: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("the start needs a time zone")
        if not dt.timedelta(0) < self.duration <= dt.timedelta(hours=24) - dt.timedelta(
                hours=self.start.hour, minutes=self.start.minute, seconds=self.start.second):
            raise ValueError("the run must end by midnight of the day it starts")
        if self.agents < 1 or self.rate < 0:
            raise ValueError("at least one agent, and a rate of at least 0")

    @property
    def start_hour(self) -> float:
        return self.start.hour + self.start.minute / 60 + self.start.second / 3600

    @property
    def end_hour(self) -> float:
        return self.start_hour + self.duration.total_seconds() / 3600

    def stream(self, purpose: str) -> random.Random:
        """A random stream of its own for each purpose: fewer agents change the queue, not who calls."""
        return random.Random(f"{self.seed}:{purpose}")


@dataclass(frozen=True)
class Day:
    """The simulated day: its requests in the order they are sent, and the simulator's own figures."""

    posts: tuple[Post, ...]
    figures: Figures


@dataclass
class Book:
    """Where a channel's simulation writes its requests and figures."""

    scenario: Scenario
    organisation: Organisation
    figures: Figures = field(default_factory=Figures)
    _posts: list[tuple[dt.datetime, int, Post]] = field(default_factory=list)
    _ids: Counter[str] = field(default_factory=Counter)
    _order: itertools.count = field(default_factory=itertools.count)

    def time(self, seconds: float) -> dt.datetime:
        """The simulated time ``seconds`` after the start, to the millisecond."""
        return self.scenario.start + dt.timedelta(milliseconds=round(seconds * 1000))

    def new_id(self, kind: str) -> str:
        """The next id of a kind, the same in every run of the scenario."""
        number = self._ids[kind]
        self._ids[kind] += 1
        name = f"{self.scenario.seed}\n{self.scenario.run}\n{kind}\n{number}"
        return f"{kind}-{uuid.uuid5(SIMULATOR_NAMESPACE, name)}"

    def post(self, seconds: float, door: Door, body: dict[str, Any], thread: str, **more: str) -> None:
        at = self.time(seconds)
        self._posts.append((at, next(self._order), Post(at=at, door=door, body=body, thread=thread, **more)))
        self.figures.requests[door.value] += 1

    def question(self, seconds: float, channel: Channel, ask: Ask, party: dict[str, str] | None, *,
                 received: float | None = None, reference: str | None = None, code: bool = False,
                 outcome: bool = False) -> str:
        """Register a question; returns its Idempotency-Key. ``code``: the channel names the subject;
        ``outcome``: the front-office employee gives the outcome."""
        key = self.new_id("question")
        body: dict[str, Any] = {"channel": channel.value, "text": ask.text}
        if code:
            body["subject_code"] = ask.subject
        if party:
            body["party"] = party
        if reference:
            body["channel_reference"] = reference
        body["received_at"] = self.time(seconds if received is None else received)
        subject = self.organisation.subject(ask.subject)
        if outcome and subject is not None:
            body["agent_outcome"] = natural_outcome(subject).value
        self.post(seconds, Door.QUESTIONS, body, key, key=key)
        self.figures.questions[channel.value] += 1
        self.figures.repeats += ask.repeat
        self.figures.complaints += bool(subject and subject.kind == SubjectKind.COMPLAINT)
        return key

    def score(self, seconds: float, rated: str, channel: Channel, score: int) -> None:
        """A satisfaction score (KTO) of the question with key ``rated``."""
        body = {"response_id": self.new_id("kto"), "channel": channel.value, "score": score,
                "scored_at": self.time(seconds)}
        self.post(seconds, Door.SCORES, body, rated, about=rated)
        self.figures.scores.append(score)

    def first_reply(self, seconds: float, replied: str, channel: Channel) -> None:
        """The first written reply to the question with key ``replied`` goes out (web, e-mail or letter); only
        within the run: a reply after its end would be sent ahead of its time."""
        if seconds > self.scenario.duration.total_seconds():
            self.figures.replies_later += 1
            return
        body = {"id": self.new_id("reply"), "channel": channel.value, "sent_at": self.time(seconds)}
        self.post(seconds, Door.FIRST_REPLIES, body, replied, about=replied)
        self.figures.replies[channel.value] += 1

    def day(self) -> Day:
        return Day(posts=tuple(post for _, _, post in sorted(self._posts, key=lambda p: p[:2])),
                   figures=self.figures)


def natural_outcome(subject: Subject) -> AgentOutcome:
    """What a front-office employee makes of a subject: the catalog's own way of handling it."""
    if subject.referral:
        return AgentOutcome.REFERRED
    if subject.kind == SubjectKind.CALLBACK:
        return AgentOutcome.CALLBACK
    return AgentOutcome.ANSWERED if subject.answer else AgentOutcome.ESCALATED


def lognormal(rng: random.Random, mean: float, sd: float) -> float:
    """A lognormal draw with this mean and standard deviation (a handle time: never negative, a long tail)."""
    sigma = math.sqrt(math.log(1 + (sd / mean) ** 2))
    return rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)


def kto(rng: random.Random, base: float, penalty: float) -> int:
    """A satisfaction score from 1 to 10 around ``base`` less ``penalty`` (a long wait, a late call)."""
    return max(1, min(10, round(rng.gauss(base - penalty, 1.3))))

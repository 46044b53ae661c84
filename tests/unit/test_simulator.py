"""The traffic simulator's model, timeline and sending loop: pure, seeded, and without servers."""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo

import httpx
import pytest

from loket.simulator import Door, Post, Scenario, simulate
from loket.simulator.command import Options, parse_duration, parse_speed, scenario
from loket.simulator.curves import PHONE, arrivals
from loket.simulator.doors import IntakeDoors, intake_event, system_of
from loket.simulator.exceptions import NotLetIn, Refused
from loket.simulator.queue import Queue
from loket.simulator.send import send
from loket.simulator.texts import COUNTER_PRODUCTS, REPEAT_COMPLAINT, TEXTS, WEIGHTS
from loket.simulator.timeline import Timeline
from plumbing.organisation import load_organisation
from schemas import QuestionData
from schemas.contacts import REFERENCE_PATTERN
from schemas.envelope import source_urn
from schemas.intake import RFC3339_PATTERN
from services.intake.auth import ChannelSystem, development_token
from services.intake.settings import IntakeSettings
from services.router.domain.classifier import Classifier

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = dt.datetime(2026, 11, 24, 8, 0, tzinfo=AMSTERDAM)  # a Tuesday
SECRET, SOURCE = b"simulator-test", source_urn("0" * 20, "loket-intake")


@functools.cache
def organisation():
    return load_organisation()


@functools.cache
def day(seed: int = 7, agents: int = 10, hours: float = 9, run: str = "test"):
    return simulate(Scenario(start=DAY, duration=dt.timedelta(hours=hours), seed=seed, agents=agents, run=run),
                    organisation())


def test_the_same_seed_gives_the_same_day_and_another_seed_another():
    first = simulate(Scenario(start=DAY, seed=7, run="r"), organisation())
    again = simulate(Scenario(start=DAY, seed=7, run="r"), organisation())
    assert first.posts == again.posts and first.figures == again.figures
    assert first.posts != simulate(Scenario(start=DAY, seed=8, run="r"), organisation()).posts


def test_another_run_of_the_same_seed_has_the_same_contacts_under_other_ids():
    one, other = day(run="one"), day(run="other")
    assert [(p.at, p.door) for p in one.posts] == [(p.at, p.door) for p in other.posts]
    assert {p.key for p in one.posts if p.key}.isdisjoint({p.key for p in other.posts if p.key})


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_fewer_agents_make_longer_waits_and_more_abandons(seed):
    few, many = day(seed=seed, agents=8).figures.phone, day(seed=seed, agents=12).figures.phone
    said = (f"seed {seed}: 8 agents wait {few.mean_wait:.1f}s p90 {few.p90_wait:.1f}s abandoned {few.abandoned} "
            f"SL {few.service_level:.1%}; 12 agents {many.mean_wait:.1f}s p90 {many.p90_wait:.1f}s "
            f"abandoned {many.abandoned} SL {many.service_level:.1%}")
    assert few.mean_wait > many.mean_wait and few.p90_wait > many.p90_wait, said
    assert few.abandoned > many.abandoned and few.abandon_ratio > many.abandon_ratio, said
    assert few.service_level < many.service_level, said
    assert few.retries > many.retries, said  # who hung up calls again: the phone gets busier still


def test_a_day_for_a_municipality_of_100000_has_some_hundreds_of_calls_and_realistic_handle_times():
    figures = day().figures
    assert 450 < figures.phone.offered < 800
    assert 240 < figures.phone.mean_handle < 420
    assert set(figures.questions) == {"phone", "web", "chat", "counter", "email", "letter"}
    assert figures.repeats > 0 and figures.complaints > 0 and figures.scores
    assert all(1 <= score <= 10 for score in figures.scores)


def test_phone_peaks_in_the_morning_chat_opens_at_nine_and_letters_are_registered_mid_morning():
    offered = [p.at for p in day().posts if p.door is Door.CALL_REPORTS and p.body["type"] == "queued"]
    morning = sum(1 for at in offered if 9 <= at.hour < 11)
    afternoon = sum(1 for at in offered if 14 <= at.hour < 16)
    assert morning > 1.4 * afternoon, (morning, afternoon)
    chats = [p.body["received_at"] for p in day().posts if p.door is Door.QUESTIONS and p.body["channel"] == "chat"]
    assert chats and min(chats).hour >= 9
    letters = [p.at for p in day().posts if p.door is Door.QUESTIONS and p.body["channel"] == "letter"]
    assert letters and all(10 <= at.hour < 12 for at in letters)


def test_arrivals_follow_the_curve_and_add_up_to_the_days_volume():
    hours = arrivals(PHONE, 20_000, 0, 24, random.Random(1))
    assert 19_000 < len(hours) < 21_000
    assert all(8 <= hour <= 17 for hour in hours)
    by_hour = Counter(int(hour) for hour in hours)
    assert by_hour[9] > by_hour[12] and by_hour[9] > by_hour[16]


def test_every_request_is_one_the_intake_takes_and_turns_into_its_event():
    contact_of: dict[str, str] = {}
    types: Counter[str] = Counter()
    timeline = Timeline(DAY, day().posts[-1].at, DAY, None, replay=True)
    for post in day().posts:
        body = timeline.body(post.body)
        if post.about:
            body["contact_id"] = contact_of[post.about]  # every score and reply is of a question sent before it
        key, event = intake_event(post, body, secret=SECRET, source=SOURCE, now=timeline.stamp(post.at))
        types[event.type.rsplit(".", 1)[1]] += 1
        if post.key:
            contact_of[post.key] = event.data.contact_id
    assert {"question-asked", "call-offered", "call-answered", "call-abandoned", "call-transferred", "call-ended",
            "appointment-booked", "appointment-arrived", "appointment-called", "appointment-served",
            "ticket-issued", "ticket-called", "ticket-served", "satisfaction-scored",
            "first-reply-sent"} <= set(types), types


def test_ids_are_references_the_intake_takes_and_never_repeat():
    posts = day().posts
    ids = [p.body["id"] for p in posts if "id" in p.body] + [p.key for p in posts if p.key] + \
        [p.body["response_id"] for p in posts if p.door is Door.SCORES]
    assert len(ids) == len(set(ids))
    assert all(re.match(REFERENCE_PATTERN, i) for i in ids)


def test_a_calls_reports_come_in_their_order_and_its_question_after_them():
    by_call: dict[str, list[str]] = {}
    for post in day().posts:
        if post.door is Door.CALL_REPORTS:
            by_call.setdefault(post.body["call"], []).append(post.body["type"])
    courses = Counter(" ".join(types) for types in by_call.values())
    assert set(courses) <= {"queued answered ended", "queued abandoned", "queued answered transferred ended"}
    call_of_question = {p.body["channel_reference"]: i for i, p in enumerate(day().posts)
                        if p.door is Door.QUESTIONS and p.body["channel"] == "phone"}
    ended = {p.body["call"]: i for i, p in enumerate(day().posts) if p.body.get("type") == "ended"}
    assert call_of_question.keys() == ended.keys()
    assert all(call_of_question[call] > ended[call] for call in ended)


def test_each_request_carries_its_channel_systems_token():
    systems = {(p.door, p.body.get("channel")): system_of(p) for p in day().posts}
    assert systems[(Door.QUESTIONS, "phone")] is ChannelSystem.TELEPHONY
    assert systems[(Door.QUESTIONS, "web")] is systems[(Door.QUESTIONS, "chat")] is ChannelSystem.WEBSITE
    assert systems[(Door.QUESTIONS, "letter")] is ChannelSystem.POST
    assert systems[(Door.CALL_REPORTS, None)] is ChannelSystem.TELEPHONY
    assert systems[(Door.COUNTER_REPORTS, None)] is ChannelSystem.COUNTER
    assert systems[(Door.SCORES, "phone")] is ChannelSystem.SURVEY
    assert systems[(Door.FIRST_REPLIES, "email")] is ChannelSystem.MAIL
    letter_reply = Post(at=DAY, door=Door.FIRST_REPLIES, body={"channel": "letter"}, thread="t", about="q")
    assert system_of(letter_reply) is ChannelSystem.POST  # a letter's reply takes days: none within this day


def test_written_questions_get_their_first_reply_later_on_their_own_channel_and_only_within_the_run():
    posts = day().posts
    asked = {p.key: (i, p) for i, p in enumerate(posts) if p.door is Door.QUESTIONS}
    replies = [(i, p) for i, p in enumerate(posts) if p.door is Door.FIRST_REPLIES]
    assert {"web", "email"} <= {p.body["channel"] for _, p in replies} <= {"web", "email", "letter"}
    for i, reply in replies:
        at, question = asked[reply.about]
        assert at < i and question.body["channel"] == reply.body["channel"]
        assert question.body["received_at"] < reply.body["sent_at"] <= DAY + dt.timedelta(hours=9)
    figures = day().figures
    written = sum(figures.questions[c] for c in ("web", "email", "letter"))
    assert sum(figures.replies.values()) == len(replies) and len(replies) + figures.replies_later == written


def test_the_simulators_texts_are_found_as_their_subject_by_the_router():
    catalog = organisation()
    codes = {subject.code for subject in catalog.subjects}
    assert set(TEXTS) <= codes and set(WEIGHTS) <= codes and {c for c, _, _ in COUNTER_PRODUCTS} <= codes
    classifier = Classifier(catalog)
    asked = [(code, text) for code, texts in TEXTS.items() for text in texts] + [("klacht", REPEAT_COMPLAINT)]
    misses = []
    for code, text in asked:
        found, _ = classifier.classify(QuestionData(contact_id="c", channel="web", text=text, received_at=DAY))
        if found.code != code:
            misses.append(f"{code} -> {found.code}: {text}")
    assert not misses, misses


def test_queue_serves_first_come_first_served_and_the_impatient_take_no_agents_time():
    queue = Queue(1)
    first = queue.offer(0, patience=100, busy=60)
    gives_up = queue.offer(10, patience=20, busy=60)
    waits = queue.offer(20, patience=100, busy=60)
    assert (first.served, first.wait) == (True, 0)
    assert (gives_up.served, gives_up.left, gives_up.reached) == (False, 30, 60)
    assert (waits.served, waits.reached, waits.wait) == (True, 60, 40)  # the one who left took no agent time
    with pytest.raises(ValueError):
        queue.offer(5, patience=1, busy=1)


def test_compressed_timeline_sends_and_stamps_each_request_when_its_time_comes():
    began = dt.datetime(2026, 12, 2, 14, 0, tzinfo=AMSTERDAM)
    timeline = Timeline(DAY, DAY + dt.timedelta(hours=9), began, speed=120)
    an_hour_in = DAY + dt.timedelta(hours=1)
    assert timeline.due(an_hour_in) == 30
    assert timeline.stamp(an_hour_in) == began + dt.timedelta(seconds=30)
    assert timeline.stamp(DAY - dt.timedelta(days=3)) == began - dt.timedelta(days=3)  # booked days before
    as_fast = Timeline(DAY, DAY + dt.timedelta(hours=9), began, speed=None)
    assert as_fast.due(an_hour_in) == 0 and as_fast.stamp(DAY + dt.timedelta(hours=9)) == began
    assert Timeline(DAY, DAY, began, None, replay=True).stamp(an_hour_in) == an_hour_in
    body = timeline.body({"at": an_hour_in, "wait": 12.5})
    assert RFC3339_PATTERN.match(body["at"]) and body["wait"] == 12.5


class FakeDoors:
    def __init__(self, refuse: set[str] = frozenset()) -> None:
        self.bodies: list[tuple[Door, dict]] = []
        self.refuse = refuse

    async def send(self, post: Post, body: dict, now: dt.datetime) -> str:
        if post.key in self.refuse:
            raise Refused(422, "party.bsn: not a valid BSN")
        self.bodies.append((post.door, body))
        return f"contact-of-{post.key or post.thread}"

    async def flush(self) -> None:
        pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_sending_waits_for_each_requests_time_and_a_score_carries_its_questions_contact_id():
    posts = day(hours=0.5).posts
    timeline = Timeline(DAY, posts[-1].at, DAY, speed=60)
    doors, clock = FakeDoors(), FakeClock()
    sent = await send(day(hours=0.5), timeline, doors, clock=clock, sleep=clock.sleep)
    assert sent.ok and sum(sent.taken.values()) == len(posts)
    assert clock.now == pytest.approx(timeline.due(posts[-1].at))  # paced, not all at once
    scores = [body for door, body in doors.bodies if door is Door.SCORES]
    assert scores and all(body["contact_id"].startswith("contact-of-question-") for body in scores)


async def test_a_refused_question_is_counted_with_its_reason_and_its_score_is_not_sent():
    rated = next(p.about for p in day().posts if p.about)
    clock = FakeClock()
    sent = await send(day(), Timeline(DAY, day().posts[-1].at, DAY, None), FakeDoors(refuse={rated}), clock=clock,
                      sleep=clock.sleep)
    assert sent.refused == {"questions": 1} and sent.orphaned == 1 and not sent.ok
    assert sent.reasons == ["/v1/questions: 422 party.bsn: not a valid BSN"]
    assert clock.slept == []


@pytest.mark.parametrize("text,expected", [("9h", dt.timedelta(hours=9)), ("30m", dt.timedelta(minutes=30)),
                                           ("1h30m", dt.timedelta(minutes=90)), ("45", dt.timedelta(minutes=45))])
def test_durations_are_hours_and_minutes_or_minutes(text, expected):
    assert parse_duration(text) == expected


def test_speed_is_a_factor_or_max_and_nonsense_is_refused():
    assert (parse_speed("120"), parse_speed("60x"), parse_speed("max")) == (120, 60, None)
    for wrong in ("0", "-1", "fast", "9h"):
        with pytest.raises(ValueError):
            parse_speed(wrong)
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_a_replayed_day_has_the_same_ids_every_run_and_live_runs_have_their_own():
    began = dt.datetime(2026, 12, 2, 14, 0, tzinfo=AMSTERDAM)
    replay = Options(date=dt.date(2026, 11, 24))
    assert scenario(replay, began) == scenario(replay, began + dt.timedelta(hours=1))
    assert scenario(replay, began).start == DAY
    assert scenario(Options(), began).run != scenario(Options(), began + dt.timedelta(seconds=1)).run


def _intake(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[IntakeDoors, list[httpx.Request]]:
    """IntakeDoors on a stand-in intake: ``answer(request)`` gives each response; the requests are kept."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://intake")
    return IntakeDoors(client, IntakeSettings()), seen


def _first(door: Door, channel: str | None = None) -> Post:
    return next(p for p in day().posts if p.door is door and (channel is None or p.body.get("channel") == channel))


async def test_requests_carry_their_systems_token_and_a_question_its_idempotency_key():
    doors, seen = _intake(lambda request: httpx.Response(202, json={"event_id": "e", "contact_id": "c-1",
                                                                      "status": "accepted"}))
    question, report = _first(Door.QUESTIONS, "web"), _first(Door.CALL_REPORTS)
    assert await doors.send(question, {"channel": "web", "text": "x"}, DAY) == "c-1"
    await doors.send(report, {}, DAY)
    assert seen[0].url.path == "/v1/questions" and seen[1].url.path == "/v1/call-reports"
    assert seen[0].headers["authorization"] == f"Bearer {development_token(ChannelSystem.WEBSITE)}"
    assert seen[0].headers["idempotency-key"] == question.key
    assert seen[1].headers["authorization"] == f"Bearer {development_token(ChannelSystem.TELEPHONY)}"
    assert "idempotency-key" not in seen[1].headers  # a report's own id is its key


async def test_a_refusal_names_the_field_a_stream_away_is_waited_for_and_a_wrong_token_stops_the_run():
    refused, _ = _intake(lambda request: httpx.Response(
        422, json={"title": "x", "errors": [{"field": "party.bsn", "reason": "not a valid BSN"}]}))
    with pytest.raises(Refused, match="party.bsn: not a valid BSN"):
        await refused.send(_first(Door.QUESTIONS), {}, DAY)
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}, json={"title": "away"}),
                    httpx.Response(202, json={"event_id": "e", "contact_id": "c-2", "status": "accepted"})])
    waited, seen = _intake(lambda request: next(answers))
    assert await waited.send(_first(Door.SCORES), {}, DAY) == "c-2" and len(seen) == 2
    not_let_in, _ = _intake(lambda request: httpx.Response(401, json={"detail": "The bearer token is no channel "
                                                                                 "system's."}))
    with pytest.raises(NotLetIn, match="survey system"):
        await not_let_in.send(_first(Door.SCORES), {}, DAY)

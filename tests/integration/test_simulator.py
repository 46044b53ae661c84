"""The simulator on the real stack: a simulated quarter of an hour through a running intake arrives on the real
contacts topic, each request once, as the very events ``--direct`` makes of it; and ``--direct`` publishes them
as the intake keys them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from aiokafka import ConsumerRecord

from loket.simulator.command import AMSTERDAM, Options, Run, prepare
from loket.simulator.doors import IntakeDoors, KafkaDoors, intake_event
from loket.simulator.send import send
from schemas.envelope import STRUCTURED_CONTENT_TYPE, source_urn
from schemas.topics import CONTACTS
from services.intake.settings import IntakeSettings
from tests.realstack import INTAKE_TEST_SECRET, Topics

pytestmark = pytest.mark.integration
QUARTER = Options(start=dt.time(9, 0), duration=dt.timedelta(minutes=15), speed=None)


def intake_settings(env: dict[str, str]) -> IntakeSettings:
    return IntakeSettings(**{k.removeprefix("LOKET_").lower(): v for k, v in env.items()},
                          pseudonym_secret=INTAKE_TEST_SECRET)


def expected(run: Run, settings: IntakeSettings) -> set[tuple[str, bytes, str, str]]:
    """(id, key, type, data) of the event the intake makes of each request, by its own code."""
    secret = settings.pseudonym_secret.get_secret_value().encode()
    source = source_urn(settings.oin, "loket-intake")
    contact_of: dict[str, str] = {}
    events = set()
    for post in run.day.posts:
        body = run.timeline.body(post.body)
        if post.about:
            body["contact_id"] = contact_of[post.about]
        key, event = intake_event(post, body, secret=secret, source=source, now=run.timeline.stamp(post.at))
        if post.key:
            contact_of[post.key] = event.data.contact_id
        events.add((event.id, key.encode(), event.type, json.dumps(json.loads(event.to_bytes())["data"])))
    return events


def found(records: list[ConsumerRecord]) -> set[tuple[str, bytes, str, str]]:
    events = [json.loads(record.value) for record in records]
    return {(e["id"], r.key, e["type"], json.dumps(e["data"])) for e, r in zip(events, records)}


def normalised(events: set[tuple[str, bytes, str, str]]) -> set[tuple[str, bytes, str, str]]:
    return {(id_, key, type_, json.dumps(json.loads(data), sort_keys=True)) for id_, key, type_, data in events}


async def test_a_simulated_quarter_hour_through_the_intake_arrives_once_as_the_events_direct_mode_makes(
        intake_client, env, topics):
    settings = intake_settings(env)
    run = prepare(QUARTER, dt.datetime.now(AMSTERDAM))
    sent = await send(run.day, run.timeline, IntakeDoors(intake_client, settings))
    assert sent.ok, sent.reasons
    total = len(run.day.posts)
    assert sum(sent.taken.values()) == total and {"questions", "call-reports", "counter-reports"} <= set(sent.taken)

    records = await topics.read(CONTACTS, until=lambda rs: len(rs) >= total)
    assert normalised(found(records)) == normalised(expected(run, settings))

    again = await send(run.day, run.timeline, IntakeDoors(intake_client, settings))  # the same run sent again
    assert again.ok and again.contact_of == sent.contact_of
    assert await topics.count(CONTACTS) == total  # every request the same one: nothing published twice


async def test_direct_mode_publishes_the_intakes_events_keyed_as_the_intake_keys_them(env, topics):
    settings = intake_settings(env)
    run = prepare(QUARTER, dt.datetime.now(AMSTERDAM))
    doors = await KafkaDoors.open(settings)
    try:
        sent = await send(run.day, run.timeline, doors)
    finally:
        await doors.close()
    assert sent.ok and sum(sent.taken.values()) == len(run.day.posts)
    records = await topics.read(CONTACTS, until=lambda rs: len(rs) >= len(run.day.posts))
    assert normalised(found(records)) == normalised(expected(run, settings))
    assert all(dict(record.headers)["content-type"] == STRUCTURED_CONTENT_TYPE.encode() for record in records)


def simulate(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loket", "simulate", *options], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)


async def test_loket_simulate_seed_7_twice_gives_identical_event_streams(env, topics, case_settings):
    """The command itself, run twice onto two deployments' topics: the same records, byte for byte, partition by
    partition. A replayed day (``--date``) is its own; a live run's times, and so its event ids, are its start's
    (docs/simulator.md)."""
    day = (dt.datetime.now(AMSTERDAM) - dt.timedelta(days=1)).date().isoformat()
    options = ("--seed", "7", "--direct", "--date", day, "--start", "09:00", "--duration", "15m", "--speed", "max")
    again = Topics(case_settings.model_copy(update={"topic_prefix": f"{env['LOKET_TOPIC_PREFIX']}again."}))
    streams = []
    for deployment in (topics, again):
        done = await asyncio.to_thread(simulate, {**env, "LOKET_TOPIC_PREFIX": deployment.settings.topic_prefix},
                                       *options)
        assert done.returncode == 0, done.stderr[-2000:]
        total = await deployment.count(CONTACTS)
        records = await deployment.read(CONTACTS, until=lambda rs, total=total: len(rs) >= total)
        streams.append(sorted((r.partition, r.offset, r.key, r.value, tuple(r.headers)) for r in records))
    first, second = streams
    assert len(first) > 100 and {json.loads(r[3])["type"] for r in first} >= {
        "nl.loket.contacts.question-asked", "nl.loket.contacts.call-offered"}
    assert first == second

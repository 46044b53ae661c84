"""Sending a simulated day: each request when its time comes on the run's timeline, through the given doors."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from loket.simulator.doors import Doors
from loket.simulator.exceptions import Refused
from loket.simulator.model import Day, Post
from loket.simulator.timeline import Timeline

#: Requests of different threads (calls, visits, questions) due together are sent this many at a time.
LANES = 8
#: At most this many requests are handed over before waiting until they are durable.
BATCH = 500
#: Refusals whose reasons are kept to show.
REASONS_KEPT = 5


@dataclass
class Sent:
    """What became of the requests."""

    taken: Counter[str] = field(default_factory=Counter)  # per door
    refused: Counter[str] = field(default_factory=Counter)  # per door
    orphaned: int = 0  # scores and first replies not sent, as the question they are about was refused
    reasons: list[str] = field(default_factory=list)  # the first refusals: door, status and why
    contact_of: dict[str, str] = field(default_factory=dict)  # a question's Idempotency-Key: its contact id

    @property
    def ok(self) -> bool:
        return not self.refused and not self.orphaned


async def send(day: Day, timeline: Timeline, doors: Doors, *, sent: Callable[[Post], None] = lambda post: None,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> Sent:
    """Send the day's requests, each once its time has come (``timeline.due``); ``sent`` is told of each.
    Requests of one thread go in their order; a score or a first reply carries the contact id the intake gave
    its question."""
    result = Sent()
    posts, started, i = day.posts, clock(), 0
    while i < len(posts):
        wait = timeline.due(posts[i].at) - (clock() - started)
        if wait > 0:
            await sleep(wait)
        elapsed, j = clock() - started, i + 1
        while j < len(posts) and j - i < BATCH and timeline.due(posts[j].at) <= elapsed:
            j += 1
        await _deliver(posts[i:j], timeline, doors, result, sent)
        await doors.flush()
        i = j
    return result


async def _deliver(posts: Sequence[Post], timeline: Timeline, doors: Doors, result: Sent,
                   sent: Callable[[Post], None]) -> None:
    lanes: dict[int, list[Post]] = {}
    for post in posts:
        lanes.setdefault(zlib.crc32(post.thread.encode()) % LANES, []).append(post)

    async def lane(posts: list[Post]) -> None:
        for post in posts:
            await _one(post, timeline, doors, result)
            sent(post)

    outcomes = await asyncio.gather(*(lane(lane_posts) for lane_posts in lanes.values()), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def _one(post: Post, timeline: Timeline, doors: Doors, result: Sent) -> None:
    body = timeline.body(post.body)
    if post.about is not None:
        contact = result.contact_of.get(post.about)
        if contact is None:
            result.orphaned += 1
            return
        body["contact_id"] = contact
    try:
        contact_id = await doors.send(post, body, timeline.stamp(post.at))
    except Refused as refused:
        result.refused[post.door.value] += 1
        if len(result.reasons) < REASONS_KEPT:
            result.reasons.append(f"{post.door.path}: {refused.status} {refused.reason}")
        return
    result.taken[post.door.value] += 1
    if post.key is not None:
        result.contact_of[post.key] = contact_id

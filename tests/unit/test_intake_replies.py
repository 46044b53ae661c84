"""The web and post doors: attachments by reference within the size limit, and the first written reply to a
web, e-mail or letter question as its own event."""

from __future__ import annotations

import datetime as dt
import typing

import pytest

from schemas.contacts import ATTACHMENT_MAX_BYTES, WRITTEN_CHANNELS
from schemas.intake import ReplySubmission
from schemas.replies import FirstReplySent
from services.intake.auth import ChannelSystem, development_token
from tests.unit.test_intake_api import StandInPublisher, assert_problem, client, publisher  # noqa: F401 (fixtures)

SCAN = {"url": "https://dms.zeventerpen.nl/documenten/9f1c2d7e/inhoud", "name": "brief-bezwaar.pdf",
        "media_type": "application/pdf", "size_bytes": 180_000}
LETTER = {"channel": "letter", "text": "Bezwaar tegen de aanslag afvalstoffenheffing", "attachments": [SCAN]}


async def test_a_letter_with_its_scan_becomes_a_question_carrying_the_reference(client, publisher):  # noqa: F811
    response = await client.post("/v1/questions", json=LETTER)
    assert response.status_code == 202, response.text
    [event] = publisher.events
    assert [a.model_dump() for a in event.data.attachments] == [SCAN]


@pytest.mark.parametrize("attachment,field", [
    ({**SCAN, "size_bytes": ATTACHMENT_MAX_BYTES + 1}, "attachments.0.size_bytes"),
    ({**SCAN, "url": "http://dms.zeventerpen.nl/documenten/1"}, "attachments.0.url"),
    ({**SCAN, "url": "https://dms.zeventerpen.nl/zoek?bsn=111222333"}, "attachments.0.url"),
    ({**SCAN, "url": "https://jan:geheim@dms.zeventerpen.nl/documenten/1"}, "attachments.0.url"),
    ({**SCAN, "media_type": "pdf"}, "attachments.0.media_type"),
    ({**SCAN, "name": ""}, "attachments.0.name"),
], ids=["over-the-schema", "not-https", "query", "user", "media-type", "no-name"])
async def test_an_attachment_the_schema_refuses_is_a_422_naming_it(client, publisher, attachment,  # noqa: F811
                                                                   field):
    problem = assert_problem(await client.post("/v1/questions", json={**LETTER, "attachments": [attachment]}), 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert publisher.events == []


async def test_more_than_ten_attachments_is_a_422(client, publisher):  # noqa: F811
    problem = assert_problem(await client.post("/v1/questions", json={**LETTER, "attachments": [SCAN] * 11}), 422)
    assert problem["errors"][0]["field"] == "attachments"


async def test_an_attachment_over_the_intakes_own_limit_is_a_422_naming_it():
    from contextlib import asynccontextmanager

    import httpx

    from services.intake.http import create_app
    from services.intake.settings import IntakeSettings
    from tests.builders import ChannelSystemAuth

    stand_in = StandInPublisher()

    @asynccontextmanager
    async def open_publisher(settings, keys):
        yield stand_in

    app = create_app(IntakeSettings(intake_attachment_max_bytes=100_000), open_publisher)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake",
                                     auth=ChannelSystemAuth()) as small:
            body = {**LETTER, "attachments": [{**SCAN, "size_bytes": 90_000}, SCAN]}
            problem = assert_problem(await small.post("/v1/questions", json=body), 422)
    assert problem["errors"] == [{"field": "attachments.1.size_bytes",
                                  "reason": "is larger than the 100000 bytes this intake takes"}]
    assert stand_in.events == []


async def test_a_first_reply_becomes_its_event_keyed_by_the_contact_once(client, publisher):  # noqa: F811
    sent_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    reply = {"id": "antw-2026-004711", "contact_id": "c-4711", "channel": "email", "sent_at": sent_at.isoformat()}
    first = await client.post("/v1/first-replies", json=reply)
    again = await client.post("/v1/first-replies", json=reply)
    post_room = {"Authorization": f"Bearer {development_token(ChannelSystem.POST)}"}
    changed = await client.post("/v1/first-replies", json={**reply, "channel": "letter"}, headers=post_room)
    assert (first.status_code, again.json()) == (202, first.json())
    [event] = publisher.events
    assert isinstance(event, FirstReplySent) and event.id == first.json()["event_id"]
    assert (event.data.contact_id, event.data.channel, event.data.sent_at) == ("c-4711", "email", sent_at)
    assert event.subject == "c-4711"
    assert assert_problem(changed, 422)["errors"][0]["field"] == "id"


@pytest.mark.parametrize("body,field", [
    ({"channel": "phone"}, "channel"),
    ({"sent_at": "2026-01-01T00:00:00Z"}, "sent_at"),
    ({"id": "has spaces"}, "id"),
])
async def test_a_reply_that_breaks_a_rule_is_a_422_naming_the_field(client, publisher, body, field):  # noqa: F811
    reply = {"id": "antw-1", "contact_id": "c-1", "channel": "web", **body}
    problem = assert_problem(await client.post("/v1/first-replies", json=reply), 422)
    assert problem["errors"][0]["field"] == field


def test_the_replies_channels_are_the_written_ones():
    channels = typing.get_args(ReplySubmission.model_fields["channel"].annotation)
    assert set(channels) == {c.value for c in WRITTEN_CHANNELS}

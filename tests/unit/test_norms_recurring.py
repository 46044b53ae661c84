"""Recurring problems: per ISO week the top subjects of complaints (what they are about), repeat contacts and
referrals, each decision counted once, counted by hand."""

from __future__ import annotations

import datetime as dt

import httpx

from plumbing.calendar import DUTCH_TIME
from plumbing.organisation import load_organisation
from services.norms.http import create_http_app
from services.norms.reading import Reading
from services.router.domain.classifier import Classifier
from tests.builders import decision

THURSDAY = dt.datetime(2026, 12, 3, 10, 0, tzinfo=DUTCH_TIME)  # week 49; its Monday: 30 November
LAST_WEEK = THURSDAY - dt.timedelta(days=7)


def decided(n: int, at: dt.datetime = THURSDAY, **data: object):
    return decision(f"r-{n}", decided_at=at, **data)


def test_a_week_s_complaints_repeats_and_referrals_by_subject_most_frequent_first():
    reading = Reading(load_organisation())
    events = [
        decided(1, subject_code="klacht", outcome="escalated", rule="complaint", about_subject="container-niet-geleegd"),
        decided(2, subject_code="klacht", outcome="escalated", rule="complaint", about_subject="container-niet-geleegd"),
        decided(3, subject_code="klacht", outcome="escalated", rule="complaint"),  # about nothing recognised
        decided(4, subject_code="paspoort-id", repeat_contact=True),
        decided(5, subject_code="grofvuil", repeat_contact=True),
        decided(6, subject_code="grofvuil", repeat_contact=True),
        decided(7, subject_code="toeslagen", outcome="referred", rule="referral"),
        decided(8, at=LAST_WEEK, subject_code="grofvuil", repeat_contact=True),  # the week before
    ]
    for event in events + events[:2]:  # the first two delivered twice: counted once
        reading.take(event)

    report = reading.recurring.report(THURSDAY)

    this, before = report.weeks[:2]
    assert (this.week, this.starts, before.week) == ("2026-W49", dt.date(2026, 11, 30), "2026-W48")
    assert [(c.subject, c.count) for c in this.complaints] == [("container-niet-geleegd", 2), (None, 1)]
    assert this.complaints[1].title == "Onderwerp niet herkend"
    assert [(c.subject, c.count) for c in this.repeat_contacts] == [("grofvuil", 2), ("paspoort-id", 1)]
    assert [(c.subject, c.count) for c in this.referrals] == [("toeslagen", 1)]
    assert [(c.subject, c.count) for c in before.repeat_contacts] == [("grofvuil", 1)]
    assert len(report.weeks) == 4 and not report.weeks[3].complaints


def test_the_router_reads_what_a_complaint_is_about():
    classifier = Classifier(load_organisation())
    about = classifier.about("Ik heb een klacht: mijn container is al drie weken niet geleegd")
    assert about is not None and about.code == "container-niet-geleegd"
    assert classifier.about("Klacht over de medewerker aan de telefoon") is None


async def test_the_report_as_json_and_as_a_page():
    reading = Reading(load_organisation())
    reading.take(decided(1, subject_code="grofvuil", repeat_contact=True))
    app = create_http_app(lambda: reading, clock=lambda: THURSDAY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://loket") as client:
        plain, versioned = await client.get("/reports/recurring.json"), await client.get("/v1/reports/recurring")
        page = await client.get("/reports/recurring")
    assert plain.json() == versioned.json() and plain.json()["weeks"][0]["repeat_contacts"][0]["count"] == 1
    assert page.status_code == 200 and "Week 49 van 2026" in page.text and "Opnieuw gevraagd" in page.text


def test_a_subject_not_in_the_catalog_is_not_shown_by_its_code():
    reading = Reading(load_organisation())
    reading.take(decided(1, subject_code="<script>nobody</script>", repeat_contact=True))
    [item] = reading.recurring.report(THURSDAY).weeks[0].repeat_contacts
    assert (item.subject, item.title, item.count) == (None, "Onderwerp niet herkend", 1)

"""The norms server's thermometer and staffing: the same JSON at both its addresses, a page in Dutch with the
JSON's numbers, and 503 with Retry-After (and a page that says so) while the history is still being read."""

from __future__ import annotations

import httpx

from plumbing.organisation import load_organisation
from schemas.calls import CallAnswered
from services.norms.http import API_VERSION, create_http_app
from services.norms.page import figure, target, when
from services.norms.reading import Reading
from tests.builders import NOW, event


async def ready() -> None:
    return None


def reading_with_calls() -> Reading:
    reading = Reading(load_organisation())
    for n, wait in enumerate((10.0, 12.0, 40.0)):  # 2 of 3 within 25 s: 66,7%
        reading.take(event(CallAnswered, f"h-{n}:a", contact_id=f"h-{n}", call_reference=f"h-{n}", queue="kcc",
                           wait_seconds=wait, answered_at=NOW))
    return reading


async def get(app, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://loket") as client:
        return await client.get(path)


async def test_the_thermometer_json_is_the_same_at_both_addresses_and_the_page_shows_its_numbers():
    app = create_http_app(reading_with_calls, ready, clock=lambda: NOW)

    versioned, plain = await get(app, "/v1/thermometer"), await get(app, "/thermometer.json")
    page = await get(app, "/thermometer")

    assert versioned.status_code == plain.status_code == page.status_code == 200
    assert versioned.json() == plain.json() and versioned.headers["api-version"] == API_VERSION
    [phone] = [n for n in plain.json()["norms"] if n["id"] == "telefoon-opgenomen"]
    week = next(w for w in phone["windows"] if w["window"] == "7d")
    assert week["actual"] == 2 / 3 and week["label"] == "Onder de norm"
    assert page.headers["content-type"].startswith("text/html")
    assert f'<data value="{2 / 3}">66,7%</data>' in page.text and "Onder de norm" in page.text
    assert when(NOW) in page.text and '<html lang="nl">' in page.text
    assert phone["below_target"] in page.text  # the cause and action, while below target


async def test_while_the_history_is_read_every_figure_answers_503_with_retry_after():
    app = create_http_app(lambda: "reading the topics' history", ready)
    for path in ("/v1/thermometer", "/thermometer.json", "/v1/staffing", "/staffing.json"):
        answer = await get(app, path)
        assert answer.status_code == 503 and answer.headers["retry-after"]
        assert answer.headers["content-type"] == "application/problem+json"
        assert "reading the topics' history" in answer.json()["detail"]
    page = await get(app, "/thermometer")
    assert page.status_code == 503 and "De cijfers worden bijgewerkt" in page.text


def test_figures_and_targets_in_dutch():
    organisation = load_organisation()
    thermometer = Reading(organisation).thermometer(NOW)
    norms = {n.id: n for n in thermometer.norms}
    assert figure(norms["telefoon-opgenomen"], 0.825) == "82,5%" and figure(norms["tevredenheid"], 7.56) == "7,6"
    assert target(norms["telefoon-opgenomen"]) == "ten minste 80%"
    assert target(norms["telefoon-opgehangen"]) == "ten hoogste 5%"
    assert target(norms["tevredenheid"]) == "ten minste een 7,5"

"""The public service thermometer in a real browser: Debian's headless Chromium, driven by selenium, shows the page
and the widget as uvicorn serves them; every figure is the JSON's, axe-core finds no serious WCAG 2.1 AA problem,
the page works without JavaScript, and screenshots are kept as the run's artefacts."""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from plumbing.calendar import DUTCH_TIME
from plumbing.organisation import load_organisation
from schemas.calls import CallAbandoned, CallAnswered, CallEnded
from schemas.envelope import CloudEvent
from schemas.feedback import SatisfactionScored
from schemas.norms import MEASURES, STATUS_LABELS, NormMeasure, Status, Window
from services.norms.http import create_http_app
from services.norms.reading import Reading
from tests.builders import event
from tests.tools import CONFORMANCE, ROOT

pytestmark = pytest.mark.integration

#: A Monday noon, Dutch time: the moment both the page and the JSON hold for.
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=DUTCH_TIME)
AXE = CONFORMANCE / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WINDOW_SIZE = (1280, 2000)


def calls(day: dt.datetime, in_time: int, late: int, abandoned: int) -> list[CloudEvent]:
    """Answered within the 25 s and ended without a transfer, answered after, and hung up on after 40 s."""
    waits = [("a", 10.0)] * in_time + [("a", 60.0)] * late + [("x", 40.0)] * abandoned
    made = []
    for n, (outcome, wait) in enumerate(waits):
        ref = f"{day:%m%d}-{n}"
        common = dict(contact_id=ref, call_reference=ref, queue="kcc")
        at = day + dt.timedelta(minutes=n, seconds=wait)
        if outcome == "x":
            made.append(event(CallAbandoned, f"{ref}:x", abandoned_at=at, wait_seconds=wait, **common))
            continue
        made += [event(CallAnswered, f"{ref}:a", answered_at=at, wait_seconds=wait, **common),
                 event(CallEnded, f"{ref}:end", ended_at=at + dt.timedelta(minutes=3), talk_seconds=180, **common)]
    return made


def scores(day: dt.datetime, *given: int) -> list[CloudEvent]:
    return [event(SatisfactionScored, f"s{day:%m%d}-{n}", contact_id=f"s{day:%m%d}-{n}", channel="phone",
                  score=score, scored_at=day + dt.timedelta(minutes=n), response_reference=f"s{day:%m%d}-{n}")
            for n, score in enumerate(given)]


def reading() -> Reading:
    """Every status at least once today and over the widget's week: calls answered in time met today (9 of 11)
    and nearly over the week (17 of 22: orange), hung up on nearly (1 of 11), transfers met (none), satisfaction
    below (a 6 today after an 8 yesterday: a trend), the other norms without data."""
    shown = Reading(load_organisation())
    today, yesterday = NOW.replace(hour=9), NOW.replace(hour=9) - dt.timedelta(days=1)
    for e in (calls(yesterday, 8, 2, 1) + calls(today, 9, 1, 1) + scores(yesterday, 8, 8)
              + scores(today, 5, 6, 7)):
        shown.take(e)
    return shown


async def always_ready() -> str | None:
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The norms app on a free port, served by uvicorn in a thread (the browser blocks while it waits on it)."""
    shown = reading()
    app = create_http_app(lambda: shown, always_ready, clock=lambda: NOW)
    listening = socket.create_server(("127.0.0.1", 0))  # listens before uvicorn runs: early requests wait in it
    port = listening.getsockname()[1]
    served = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=served.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        httpx.get(f"{base}/health/live", timeout=30).raise_for_status()  # answered once uvicorn accepts
        yield base
    finally:
        served.should_exit = True
        thread.join(timeout=30)
        listening.close()


@pytest.fixture(scope="module")
def shown(server: str) -> dict:
    """``/thermometer.json`` as served: the figures the page must show."""
    answer = httpx.get(f"{server}/thermometer.json", timeout=30)
    answer.raise_for_status()
    figures = answer.json()
    for window in (Window.TODAY, Window.LAST_7_DAYS):  # the page's first column and the widget's
        statuses = {w["status"] for n in figures["norms"] for w in n["windows"] if w["window"] == window.value}
        assert statuses == set(Status), f"the test's events should give every status {window}, gave {statuses}"
    assert any(n["below_target"] for n in figures["norms"])
    return figures


def chromium(*, javascript: bool = True) -> webdriver.Chrome:
    """Debian's Chromium and its driver, never a browser fetched at run time (Selenium Manager stays unused)."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise AssertionError("chromium and chromedriver are not on PATH: run ./dev setup (Debian: apt-get install "
                             "chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=nl",
                     f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where the screenshots are kept: CI's folder for the run's artefacts, else artifacts/ (git-ignored)."""
    folder = Path(os.environ.get("LOKET_TEST_ARTIFACTS") or ROOT / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def in_dutch(norm: dict, actual: float) -> str:
    """The figure as a reader sees it: a share in percent, a score, one decimal after a comma."""
    share = MEASURES[NormMeasure(norm["measure"])].share
    return (f"{actual * 100:.1f}%" if share else f"{actual:.1f}").replace(".", ",")


def assert_cell_shows(cell: WebElement, norm: dict, window: dict) -> None:
    """The cell's colour class, its words and its figure, value and text, are the JSON's."""
    where = f"{norm['id']} over {window['window']}"
    assert cell.is_displayed(), where
    assert cell.get_attribute("class") == window["status"], where
    assert window["label"] == STATUS_LABELS[Status(window["status"])] and window["label"] in cell.text, where
    values = cell.find_elements(By.TAG_NAME, "data")
    if window["actual"] is None:
        assert values == [] and "–" in cell.text, where
        return
    [value] = values
    assert float(value.get_attribute("value")) == window["actual"], where
    assert value.text == in_dutch(norm, window["actual"]), where


def axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(f"axe-core is not installed at {AXE.relative_to(ROOT)}: run ./dev setup")
    return AXE.read_text("utf-8")


def full_page_png(driver: webdriver.Chrome) -> bytes:
    """The whole page, not only the window's part of it (Chrome's DevTools: beyond the viewport)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = dict(x=0, y=0, width=size["width"], height=size["height"], scale=1)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                             "clip": clip})
    return base64.b64decode(shot["data"])


def test_every_figure_on_the_page_is_the_jsons_in_value_words_and_colour(browser, server, shown, artifacts):
    browser.get(f"{server}/thermometer")
    assert browser.title == f"Servicethermometer – {shown['organisation']}"
    (artifacts / "thermometer.png").write_bytes(full_page_png(browser))
    moment = browser.find_element(By.CSS_SELECTOR, "header time").get_attribute("datetime")
    assert dt.datetime.fromisoformat(moment) == dt.datetime.fromisoformat(shown["measured_at"])
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.get_attribute("id") for r in rows] == [f"norm-{n['id']}" for n in shown["norms"]]
    for row, norm in zip(rows, shown["norms"], strict=True):
        assert row.find_element(By.TAG_NAME, "th").text == norm["title"]
        cells = {c.get_attribute("data-window"): c for c in row.find_elements(By.CSS_SELECTOR, "td[data-norm]")}
        assert set(cells) == {w["window"] for w in norm["windows"]}, norm["id"]
        for window in norm["windows"]:
            assert cells[window["window"]].get_attribute("data-norm") == norm["id"]
            assert_cell_shows(cells[window["window"]], norm, window)
    shown_words = {c.text for c in browser.find_elements(By.CSS_SELECTOR, "td .status") if c.is_displayed()}
    for label in STATUS_LABELS.values():
        assert any(label in words for words in shown_words), f"{label!r} is not shown"
    explained = browser.find_element(By.CSS_SELECTOR, "dl.explained")
    for norm in (n for n in shown["norms"] if n["below_target"]):
        assert norm["below_target"] in explained.text


def test_the_widget_shows_the_jsons_figures_for_its_week(browser, server, shown, artifacts):
    browser.get(f"{server}/thermometer/widget")
    (artifacts / "thermometer-widget.png").write_bytes(browser.find_element(By.TAG_NAME, "body").screenshot_as_png)
    items = browser.find_elements(By.CSS_SELECTOR, "li[data-norm]")
    assert [i.get_attribute("data-norm") for i in items] == [n["id"] for n in shown["norms"]]
    for item, norm in zip(items, shown["norms"], strict=True):
        [week] = [w for w in norm["windows"] if w["window"] == item.get_attribute("data-window")]
        assert week["window"] == Window.LAST_7_DAYS.value
        assert_cell_shows(item, norm, week)


@pytest.mark.parametrize("path", ["/thermometer", "/thermometer/widget"])
def test_axe_finds_no_serious_or_critical_wcag_21_aa_violation(browser, server, shown, path):
    browser.get(f"{server}{path}")
    browser.execute_script(axe_source())
    browser.set_script_timeout(60)
    result = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
           .then(r => done({passes: r.passes.length, violations: r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))}))
           .catch(e => done({error: String(e)}));""", WCAG_21_AA)
    assert "error" not in result, result
    assert result["passes"] > 0, "axe checked nothing: was it injected?"
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}"
                                  for v in serious)


def test_the_page_works_without_javascript(server, shown):
    html = httpx.get(f"{server}/thermometer", timeout=30).text
    assert "<script" not in html.lower()
    driver = chromium(javascript=False)
    try:
        driver.get("data:text/html,<title>off</title><script>document.title = 'on'</script>")
        assert driver.title == "off", "JavaScript still runs: the test would prove nothing"
        driver.get(f"{server}/thermometer")
        table = driver.find_element(By.TAG_NAME, "table")
        assert table.is_displayed()
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == len(shown["norms"]) and all(r.is_displayed() for r in rows)
        figures = [d.text for d in table.find_elements(By.TAG_NAME, "data")]
        windows = [{w["window"]: w for w in n["windows"]} for n in shown["norms"]]
        expected = [in_dutch(n, by[w]["actual"]) for n, by in zip(shown["norms"], windows, strict=True)
                    for w in Window if by.get(w) and by[w]["actual"] is not None]
        assert figures == expected
    finally:
        driver.quit()

"""The norms HTTP server: the public service thermometer (a page, its JSON and a widget to embed), the staffing
advice, ``/metrics`` for Prometheus and ``/health`` (``/live``, ``/ready``) for the process manager.

``/reports/recurring`` (and its JSON) shows the organisation's own people which subjects keep coming back in
complaints, repeat contacts and referrals: counts only, no personal data; put it behind the organisation's own
access control if it should not be public.

The JSON is an API of its own (``/v1``, in the OAS document, with ``API-Version`` and problem+json), also at the
addresses the thermometer promises its readers: ``/thermometer.json`` and ``/staffing.json``. While the service
reads the topics' history after a start, the figures are not whole yet: each answers 503 with ``Retry-After``,
and the page says so in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from plumbing.api import ApiSettings, create_api, problem, problem_response
from plumbing.health import RETRY_AFTER_SECONDS, ReadyCheck, add_health_endpoints
from plumbing.http import add_metrics_endpoint
from plumbing.openapi import ApiInfo
from schemas.norms import RecurringProblems, Staffing, Thermometer
from services.norms.page import render_page, render_recurring, render_widget
from services.norms.reading import Reading

API_VERSION = "1.0.0"
#: The figures' source: the reading once the history is read, else why not (a sentence).
Figures = Callable[[], Reading | str]
Clock = Callable[[], dt.datetime]


async def _not_measuring() -> str | None:
    return "not measuring"  # an app that was given no way to tell cannot say it is ready


def _nothing() -> Reading | str:
    return "not measuring"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def api_info(contact: dict[str, str]) -> ApiInfo:
    return ApiInfo(
        title="Loket servicethermometer",
        version=API_VERSION,
        description="How the organisation keeps its service norms (servicenormen), live: per norm the figure over "
        "today, the last 7 and the last 30 days against the target, with its status and trend; and the staffing "
        "the phone norm needs. Public, without personal data. Errors are application/problem+json (RFC 9457).",
        contact=contact,
        tags=[{"name": "reports", "description": "Reports for the organisation's own people."},
              {"name": "staffing", "description": "Staffing advice for the phone queue (Erlang C)."},
              {"name": "thermometer", "description": "The public service thermometer."}],
    )


def create_http_app(figures: Figures = _nothing, ready: ReadyCheck = _not_measuring, clock: Clock = _now,
                    contact: dict[str, str] | None = None) -> FastAPI:
    """The norms server's app. ``figures`` gives the reading to show (or why there is none yet), ``ready`` says
    why the service cannot measure now (``None`` when it can), ``clock`` the moment the figures hold for."""
    info = api_info(contact or ApiSettings().contact())
    app = create_api(info, max_body_bytes=1024)
    add_metrics_endpoint(app)
    add_health_endpoints(app, ready, info.version)

    def answer(read: Callable[[Reading, dt.datetime], Any]) -> Any:
        """``read`` of the reading now, or 503 problem+json while there is none."""
        reading = figures()
        if isinstance(reading, str):
            return problem_response(problem(503, f"no figures yet: {reading}"), info.version,
                                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return read(reading, clock())

    def page(render: Callable[[Any], str], read: Callable[[Reading, dt.datetime], Any]) -> HTMLResponse:
        """A page of ``read`` of the reading now, or the page saying the figures are coming (503)."""
        reading = figures()
        if isinstance(reading, str):
            return HTMLResponse(render(None), status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return HTMLResponse(render(read(reading, clock())))

    @app.get(f"{info.base_path}/thermometer", tags=["thermometer"], response_model=Thermometer,
             operation_id="getThermometer", summary="The service thermometer", responses=_UNAVAILABLE)
    @app.get("/thermometer.json", include_in_schema=False, response_model=Thermometer)
    async def thermometer_json() -> Any:
        """Every norm, in the organisation's order, over each of its windows."""
        return answer(Reading.thermometer)

    @app.get(f"{info.base_path}/staffing", tags=["staffing"], response_model=Staffing,
             operation_id="getStaffing", summary="Staffing advice for the phone queue", responses=_UNAVAILABLE)
    @app.get("/staffing.json", include_in_schema=False, response_model=Staffing)
    async def staffing_json() -> Any:
        """Agents the phone norm needs now and in the next hour, by Erlang C from the live load."""
        return answer(Reading.staffing)

    @app.get(f"{info.base_path}/reports/recurring", tags=["reports"], response_model=RecurringProblems,
             operation_id="getRecurringProblems", summary="Recurring problems per week", responses=_UNAVAILABLE)
    @app.get("/reports/recurring.json", include_in_schema=False, response_model=RecurringProblems)
    async def recurring_json() -> Any:
        """Per week (the latest 4) the top subjects of complaints, of repeat contacts and of referrals."""
        return answer(_recurring)

    @app.get("/reports/recurring", include_in_schema=False, response_class=HTMLResponse)
    async def recurring_page() -> HTMLResponse:
        """The same for the organisation's own people: a page with a section per week."""
        return page(render_recurring, _recurring)

    @app.get("/thermometer", include_in_schema=False, response_class=HTMLResponse)
    async def thermometer_page() -> HTMLResponse:
        return page(render_page, Reading.thermometer)

    @app.get("/thermometer/widget", include_in_schema=False, response_class=HTMLResponse)
    async def widget() -> HTMLResponse:
        """A compact page to embed in the organisation's website (an iframe): the last 7 days' figures, a link
        to the whole thermometer."""
        return page(render_widget, Reading.thermometer)

    return app


def _recurring(reading: Reading, now: dt.datetime) -> RecurringProblems:
    return reading.recurring.report(now)


_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The service is still reading the topics' history after a start: try again after "
          "Retry-After seconds."}}

"""The whole flow through the public HTTP API and the topics, all four services as their own processes."""

import asyncio
import json
from collections import Counter

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from loket.supervisor import Supervisor
from schemas import CaseResolved, DeadLetter, DecisionData, QuestionAsked, RoutingDecided
from schemas.topics import CASE_EVENTS, CONTACTS, DEAD_LETTERS, DECISIONS, TopicSpec
from services.case.auth import mint_token
from services.norms.app import READER_GROUP
from tests.builders import ChannelSystemAuth
from tests.integration.test_simulator import simulate
from tests.realstack import eventually, http_ports, last_weekday, metrics_sum, wait_healthy

pytestmark = pytest.mark.e2e
BSN = "111222333"


@pytest.fixture
def running(env, tmp_path):
    """``loket run``'s supervisor on this test's own topics, database and ports."""
    ports = http_ports()
    # Its own state folder too: the norms service keeps faust's working files there, not in the user's .loket/.
    supervisor = Supervisor(env={**env, **ports, "LOKET_STATE_DIR": str(tmp_path / "state")}, log_dir=tmp_path / "logs")
    supervisor.start()
    yield {"intake": f"http://127.0.0.1:{ports['LOKET_INTAKE_PORT']}",
           "norms": f"http://127.0.0.1:{ports['LOKET_NORMS_PORT']}",
           "cases": f"http://127.0.0.1:{ports['LOKET_CASE_PORT']}"}
    died = supervisor.exited()
    supervisor.stop()
    assert not died, f"services died during the test: {died}; see their logs in {tmp_path / 'logs'}"


async def _metric(norms: str, name: str, **labels: str) -> float | None:
    """The value of one sample on the norms service's /metrics, or None when it is not there."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{norms}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


async def test_question_to_decision_to_case_to_metric(running, topics, case_settings):
    await wait_healthy(running["intake"])
    await wait_healthy(running["norms"])
    async with httpx.AsyncClient(base_url=running["intake"], auth=ChannelSystemAuth()) as client:
        escalated = await client.post("/v1/questions", json={"channel": "phone", "text": "Mijn kliko is kapot",
                                                             "party": {"bsn": BSN}})
        answered = await client.post("/v1/questions", json={"channel": "web", "text": "paspoort aanvragen"})
    assert escalated.status_code == answered.status_code == 202
    contact_id = escalated.json()["contact_id"]

    def decided(records):
        return {RoutingDecided.model_validate_json(r.value).data.contact_id: RoutingDecided.model_validate_json(r.value)
                for r in records}

    decisions = decided(await topics.read(DECISIONS, until=lambda rs: len(decided(rs)) >= 2, timeout=90))
    case_id = decisions[contact_id].data.case_id
    assert decisions[contact_id].data.outcome == "escalated" and case_id

    contacts = await topics.read(CONTACTS, until=lambda rs: len(rs) >= 2)
    keys = {QuestionAsked.model_validate_json(r.value).data.contact_id: r.key for r in contacts}
    assert keys[contact_id].decode() == decisions[contact_id].data.party_pseudonym  # the pseudonym, never the BSN
    assert all(BSN.encode() not in key for key in keys.values())

    conn = await asyncpg.connect(case_settings.database_url.get_secret_value())
    try:
        row = await eventually(lambda: conn.fetchrow("SELECT * FROM cases WHERE case_id = $1", case_id), timeout=60)
        assert row["status"] == "registered" and row["department"] == "openbare-ruimte"
        assert row["party_pseudonym"] == decisions[contact_id].data.party_pseudonym
    finally:
        await conn.close()

    async def metrics_show_both() -> bool:
        answered_n = await metrics_sum(running["norms"], "loket_decisions_total", outcome="answered", channel="web")
        escalated_n = await metrics_sum(running["norms"], "loket_decisions_total", outcome="escalated",
                                         channel="phone")
        return answered_n == 1.0 and escalated_n == 1.0

    await eventually(metrics_show_both, timeout=60)
    assert await _metric(running["norms"], "loket_first_contact_resolution_ratio") == 0.5


async def test_poison_message_is_parked_and_the_next_question_flows(running, topics):
    await wait_healthy(running["intake"])
    await topics.produce(CONTACTS, b"<xml>not an event</xml>", key=b"poison")
    async with httpx.AsyncClient(base_url=running["intake"], auth=ChannelSystemAuth()) as client:
        response = await client.post("/v1/questions", json={"channel": "chat", "text": "grofvuil ophalen"})
    assert response.status_code == 202

    letters = await topics.read(DEAD_LETTERS, until=lambda rs: len(rs) >= 1, timeout=90)
    letter = DeadLetter.model_validate_json(letters[0].value)
    assert letter.data.original_value() == b"<xml>not an event</xml>"
    assert letter.data.reason.startswith("(record): Invalid JSON")
    decisions = await topics.read(DECISIONS, until=lambda rs: any(
        RoutingDecided.model_validate_json(r.value).data.contact_id == response.json()["contact_id"] for r in rs))
    assert decisions


async def test_a_resolved_case_no_longer_joins_the_partys_next_question_on_its_subject(running, topics, case_settings):
    """Ask once: the second question joins the open case. Resolved through the back-office API, the case is
    closed for the router too: the third question opens a new case. The klantbeeld shows all of it."""
    for url in running.values():
        await wait_healthy(url)
    question = {"channel": "phone", "text": "Mijn kliko is kapot", "party": {"bsn": BSN}}
    first = await _decided(running, topics, question)
    assert first.outcome == "escalated" and first.case_id
    second = await _decided(running, topics, {**question, "channel": "web"})
    assert (second.outcome, second.case_id) == ("linked", first.case_id)

    token = mint_token(case_settings, "e2e-medewerker", [first.department])
    async with httpx.AsyncClient(base_url=f"{running['cases']}/v1",
                                 headers={"authorization": f"Bearer {token}"}) as office:
        case = await eventually(lambda: _found(office, first.case_id), timeout=60)
        claimed = await office.post(f"/cases/{first.case_id}/claims", headers={"if-match": case.headers["etag"]})
        assert claimed.status_code == 200, claimed.text
        resolved = await office.post(f"/cases/{first.case_id}/resolutions", headers={"if-match": claimed.headers["etag"]},
                                     json={"resolution": "De kliko is vervangen."})
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["status"] == "resolved"

        # The router has the resolution once it consumed it from the case events and from its closures topic.
        await topics.read(CASE_EVENTS, until=lambda rs: any(
            r.value and CaseResolved.event_type().encode() in r.value for r in rs), timeout=60)
        await eventually(lambda: topics.consumed_all("router", CASE_EVENTS), timeout=60)
        await eventually(lambda: topics.consumed_all("router", ROUTER_CLOSURES), timeout=60)
        third = await _decided(running, topics, {**question, "channel": "counter"})
        assert third.outcome == "escalated" and third.case_id not in (None, first.case_id)

        async def whole_story() -> httpx.Response | None:
            picture = await office.post("/klantbeelden/_zoek", json={"bsn": BSN},
                                        headers={"loket-purpose": "klant aan de lijn"})
            body = picture.json()
            return picture if len(body["contacts"]) == 3 and len(body["cases"]) == 2 else None

        picture = (await eventually(whole_story, timeout=60)).json()
        assert BSN not in str(picture)
        assert {c["case_id"] for c in picture["cases"]} == {first.case_id, third.case_id}


#: The router's own topic of resolved cases re-keyed by party (``services.router.kafka.InternalTopics``).
ROUTER_CLOSURES = TopicSpec("loket-router-case-closures", key="Party pseudonym.", description="", events=())


async def _decided(running, topics, question: dict) -> DecisionData:
    """Ask ``question`` through the intake; its routing decision."""
    async with httpx.AsyncClient(base_url=running["intake"], auth=ChannelSystemAuth()) as client:
        response = await client.post("/v1/questions", json=question)
    assert response.status_code == 202, response.text
    contact_id = response.json()["contact_id"]

    def this_one(records) -> DecisionData | None:
        found = [d.data for r in records if (d := RoutingDecided.model_validate_json(r.value)).data.contact_id == contact_id]
        return found[0] if found else None

    return this_one(await topics.read(DECISIONS, until=this_one, timeout=90))


async def _found(office: httpx.AsyncClient, case_id: str) -> httpx.Response | None:
    response = await office.get(f"/cases/{case_id}")
    return response if response.status_code == 200 else None


async def test_a_simulated_morning_through_the_intake_shows_on_the_thermometer_as_computed_from_its_events(
        running, topics):
    """``loket simulate`` through the intake; the test computes the phone, decision and satisfaction norms itself
    from the events on the topics (docs/norms.md's formulas, written out plainly) and finds the same on
    /thermometer.json and /metrics, and every contact event counted by type."""
    await wait_healthy(running["norms"])
    await wait_healthy(running["intake"])
    day = last_weekday()
    print(f"seed {SIMULATED_SEED}, day {day}")
    done = await asyncio.to_thread(simulate, {}, "--seed", str(SIMULATED_SEED), "--date", day, "--start", "09:00",
                                   "--duration", "2h", "--speed", "max", "--intake", running["intake"])
    assert done.returncode == 0, done.stderr[-2000:]

    async def everything_measured() -> bool:
        return (await topics.consumed_all("router", CONTACTS) and await topics.consumed_all(READER_GROUP, CONTACTS)
                and await topics.consumed_all(READER_GROUP, DECISIONS))

    await eventually(everything_measured, timeout=180, interval=1)
    total = await topics.count(CONTACTS)
    contacts = await topics.read(CONTACTS, until=lambda rs: len(rs) >= total)
    decisions = await topics.read(DECISIONS, until=lambda rs, n=await topics.count(DECISIONS): len(rs) >= n)
    expected = computed_norms([json.loads(r.value) for r in contacts], [json.loads(r.value) for r in decisions])

    async with httpx.AsyncClient() as client:
        thermometer = (await client.get(f"{running['norms']}/thermometer.json")).json()
    shown = {n["id"]: w["actual"] for n in thermometer["norms"] for w in n["windows"] if w["window"] == "7d"}
    assert {norm: shown[norm] for norm in expected} == pytest.approx(expected, abs=1e-12)
    for norm, value in expected.items():
        metric = "loket_norm_score" if norm == "tevredenheid" else "loket_norm_attainment_ratio"
        assert await _metric(running["norms"], metric, norm=norm, window="7d") == pytest.approx(value, abs=1e-12)
    by_type = Counter((json.loads(r.value)["type"].removeprefix("nl.loket.contacts.")) for r in contacts)
    for kind in ("question-asked", "call-offered", "call-answered", "ticket-called", "satisfaction-scored"):
        counted = await metrics_sum(running["norms"], "loket_contacts_total", type=kind)
        assert counted == by_type[kind], kind


SIMULATED_SEED = 5


def computed_norms(contacts: list[dict], decisions: list[dict]) -> dict[str, float]:
    """The phone norms, first-contact resolution, referrals and satisfaction, straight from the events (by event
    id, once each): answered within 25 s over calls answered or abandoned after 5 s; abandoned after 5 s over
    the same; answered or referred over decisions; referred over decisions; the mean of the first score of each
    survey response."""
    once = {e["id"]: e for e in contacts}.values()
    answered = [e["data"]["wait_seconds"] for e in once if e["type"] == "nl.loket.contacts.call-answered"]
    abandoned = [e["data"]["wait_seconds"] for e in once if e["type"] == "nl.loket.contacts.call-abandoned"]
    counted = len(answered) + sum(1 for wait in abandoned if wait > 5)
    outcomes = [d["data"]["outcome"] for d in {d["id"]: d for d in decisions}.values()]
    scores: dict[str, int] = {}
    for e in once:
        if e["type"] == "nl.loket.contacts.satisfaction-scored":
            scores.setdefault(e["data"]["response_reference"], e["data"]["score"])
    assert counted > 50 and len(outcomes) > 50 and len(scores) > 5, (counted, len(outcomes), len(scores))
    return {
        "telefoon-opgenomen": sum(1 for wait in answered if wait <= 25) / counted,
        "telefoon-opgehangen": sum(1 for wait in abandoned if wait > 5) / counted,
        "direct-geholpen": sum(1 for o in outcomes if o in ("answered", "referred")) / len(outcomes),
        "doorverwezen": sum(1 for o in outcomes if o == "referred") / len(outcomes),
        "tevredenheid": sum(scores.values()) / len(scores),
    }

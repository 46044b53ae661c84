"""The back-office API in this process, on the real PostgreSQL: who may see and change what (401, 403, lists
filtered in SQL), explicit conflicts (409, 412, 428), the outbox of a change, the clocks and alarms a resumption
moves, and an access-log row for every read of personal data, the klantbeeld found by BSN, e-mail or phone in a
POST body."""

import asyncio
import datetime as dt
import json
import random
from collections import Counter

import asyncpg
import httpx
import pytest

from plumbing.calendar import DUTCH_TIME
from plumbing.pseudonym import pseudonym
from schemas import PartyRef, PersonalData
from services.case.api import create_app
from services.case.auth import mint_token
from services.case.commands import Role
from services.case.domain import open_case as new_case
from services.case.settings import CaseSettings
from services.case.store import Contact, PgCaseStore
from tests.builders import NOW, SOURCE, open_case

pytestmark = pytest.mark.integration

KEY = "integration-test-key-of-at-least-32-characters"
PSEUDONYM_KEY = "integration-pseudonym-key"
AFVAL, PARKEREN, BURGERZAKEN = "afval-reiniging", "parkeren", "burgerzaken"
#: The API's clock: Tuesday 1 December 2026, in the morning.
TODAY = dt.date(2026, 12, 1)
JAN = PersonalData(bsn="111222333", name="J. Jansen", email="Jan.Jansen@example.nl", phone="+31612345678")
QUESTION = "Mijn container is kapot, kunt u hem vervangen?"


class Clock:
    def __init__(self, day: dt.date) -> None:
        self.day = day

    def __call__(self) -> dt.datetime:
        return dt.datetime(self.day.year, self.day.month, self.day.day, 10, tzinfo=DUTCH_TIME)


@pytest.fixture
def settings(env):
    return CaseSettings(**{k.removeprefix("LOKET_").lower(): v for k, v in env.items()}, case_jwt_secret=KEY,
                    pseudonym_secret=PSEUDONYM_KEY)


@pytest.fixture
async def pool(settings):
    pool = await asyncpg.create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def clock():
    return Clock(TODAY)


@pytest.fixture
async def client(settings, pool, clock):
    async def ready():
        return None

    app = create_app(settings, lambda: pool, ready, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://backoffice") as client:
        yield client


@pytest.fixture
def rng():
    seed = random.randrange(2**32)
    print(f"random seed: {seed}")  # shown with a failure
    return random.Random(seed)


def bearer(settings, worker: str, *departments: str, role: Role = Role.WORKER, **token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, worker, departments, role, **token)}"}


def party(kind: str, personal: PersonalData = JAN) -> PartyRef:
    return PartyRef(pseudonym=pseudonym(PSEUDONYM_KEY.encode(), kind, getattr(personal, kind)), identified_by=kind,
                    personal=personal)


async def seed(pool, *requests) -> None:
    stored = await PgCaseStore(pool).add_all([new_case(r, source=SOURCE, now=NOW) for r in requests])
    assert len(stored.opened) == len(requests)


async def changed(client, settings, case_id: str, action: str, worker: dict[str, str], body: object = None,
                  version: int | None = None) -> httpx.Response:
    if version is None:
        version = (await client.get(f"/v1/cases/{case_id}", headers=worker)).json()["version"]
    headers = {**worker, "If-Match": f'"{version}"'}
    if body is None:
        return await client.post(f"/v1/cases/{case_id}/{action}", headers=headers)
    return await client.post(f"/v1/cases/{case_id}/{action}", headers=headers, json=body)


async def reads(pool) -> list[dict]:
    rows = await pool.fetch("SELECT worker_id, role, what, party_pseudonym, case_id, purpose FROM personal_data_reads "
                            "ORDER BY id")
    return [dict(r) for r in rows]


def problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


async def test_without_a_valid_token_every_route_is_401_with_a_bearer_challenge(client, settings, pool):
    await seed(pool, open_case("z-1", department=AFVAL))
    expired = bearer(settings, "anna", AFVAL, ttl=dt.timedelta(minutes=1),
                     now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2))
    forged = bearer(CaseSettings(case_jwt_secret="not-the-key-but-also-32-characters-long"), "anna", AFVAL)
    routes = [("GET", "/v1/cases", None), ("GET", "/v1/cases/z-1", None), ("GET", "/v1/cases/z-1/party", None),
              ("POST", "/v1/cases/z-1/claims", None), ("POST", "/v1/klantbeelden/_zoek", {"bsn": "111222333"}),
              ("GET", "/v1/admin/personal-data-reads", None)]
    for headers, why in (({}, "Send a bearer token"), (expired, "expired"), (forged, "signature"),
                         ({"Authorization": "Basic YW5uYTpnZWhlaW0="}, "Send a bearer token")):
        for method, path, body in routes:
            answer = await client.request(method, path, headers={**headers, "Loket-Purpose": "test", "If-Match": '"1"'},
                                          json=body)
            assert why in problem(answer, 401)["detail"], (method, path)
            assert answer.headers["www-authenticate"].startswith("Bearer")
    assert await reads(pool) == [] and await pool.fetchval("SELECT version FROM cases") == 1


async def test_another_departments_case_is_403_to_read_change_or_read_its_party(client, settings, pool):
    await seed(pool, open_case("z-1", department=AFVAL, party=party("bsn"), question=QUESTION))
    parkeren = bearer(settings, "piet", PARKEREN)
    assert "afval-reiniging" in problem(await client.get("/v1/cases/z-1", headers=parkeren), 403)["detail"]
    problem(await client.get("/v1/cases/z-1/party", headers={**parkeren, "Loket-Purpose": "nieuwsgierig"}), 403)
    problem(await changed(client, settings, "z-1", "claims", parkeren, version=1), 403)
    problem(await changed(client, settings, "z-1", "notes", parkeren, {"text": "hallo"}, version=1), 403)
    assert await reads(pool) == []  # nothing was read
    assert await pool.fetchval("SELECT version FROM cases WHERE case_id = 'z-1'") == 1
    problem(await client.get("/v1/cases/z-404", headers=parkeren), 404)
    admin = bearer(settings, "root", role=Role.ADMIN)
    assert (await client.get("/v1/cases/z-1", headers=admin)).status_code == 200


async def test_the_list_holds_my_departments_cases_only_counted_and_paged_in_sql(client, settings, pool, rng):
    departments = [AFVAL, PARKEREN, BURGERZAKEN]
    placed = {f"z-{n:03}": rng.choice(departments) for n in range(60)}
    await seed(pool, *(open_case(case_id, department=d) for case_id, d in placed.items()))
    counts = Counter(placed.values())
    mine = {case_id for case_id, d in placed.items() if d in (AFVAL, PARKEREN)}
    worker = bearer(settings, "anna", AFVAL, PARKEREN)
    seen, url, pages = [], "/v1/cases?limit=7", 0
    while url:
        page = (await client.get(url, headers=worker)).json()
        assert page["total"] == counts[AFVAL] + counts[PARKEREN]  # the count is the filtered one: SQL's
        assert len(page["items"]) == min(7, page["total"] - page["offset"])  # every page full but the last
        seen += [item["case_id"] for item in page["items"]]
        url, pages = page["next"], pages + 1
    assert sorted(seen) == sorted(mine) and pages == -(-len(mine) // 7)
    everything = (await client.get("/v1/cases?limit=1", headers=bearer(settings, "root", role=Role.ADMIN))).json()
    assert everything["total"] == 60
    only = (await client.get("/v1/cases?limit=200", headers=bearer(settings, "bea", BURGERZAKEN))).json()
    assert {item["department"] for item in only["items"]} <= {BURGERZAKEN} and only["total"] == counts[BURGERZAKEN]
    nobody = (await client.get("/v1/cases", headers=bearer(settings, "x", "geen-afdeling"))).json()
    assert (nobody["total"], nobody["items"], nobody["next"]) == (0, [], None)


async def test_the_list_filters_by_status_overdue_due_date_subject_and_assignee(client, settings, pool):
    await seed(pool, open_case("late", department=AFVAL, due_date=dt.date(2026, 11, 30)),
               open_case("soon", department=AFVAL, due_date=dt.date(2026, 12, 3), subject_code="container-kapot"),
               open_case("later", department=AFVAL, due_date=dt.date(2026, 12, 20)))
    anna = bearer(settings, "anna", AFVAL)
    assert (await changed(client, settings, "soon", "claims", anna)).status_code == 200
    assert (await changed(client, settings, "later", "suspensions", anna, {"reason": "wacht op foto"})).status_code \
        == 200

    async def ids(query: str) -> list[str]:
        answer = await client.get(f"/v1/cases?{query}", headers=anna)
        assert answer.status_code == 200, answer.text
        return [item["case_id"] for item in answer.json()["items"]]

    assert await ids("") == ["late", "soon", "later"]  # soonest due first
    assert await ids("overdue=true") == ["late"]
    assert await ids("overdue=false") == ["soon", "later"]
    assert await ids("due_before=2026-12-04") == ["late", "soon"]
    assert await ids("subject=container-kapot") == ["soon"]
    assert await ids("assignee=anna") == ["soon"]
    assert await ids("status=in_progress") == ["soon"]
    assert await ids("status=suspended") == ["later"]
    assert await ids("status=registered") == ["late", "later"]  # suspension is a state beside the status
    problem(await client.get("/v1/cases?status=open", headers=anna), 422)


async def test_conflicts_are_explicit_claimed_by_another_stale_or_missing_if_match_resolved_twice(
        client, settings, pool):
    await seed(pool, open_case("z-1", department=AFVAL))
    anna, bob = bearer(settings, "anna", AFVAL), bearer(settings, "bob", AFVAL)
    claimed = await changed(client, settings, "z-1", "claims", anna, version=1)
    assert claimed.status_code == 200 and claimed.headers["etag"] == '"2"' == f'"{claimed.json()["version"]}"'
    assert claimed.json()["assignee"] == "anna" and claimed.json()["status"] == "in_progress"
    assert "held by anna" in problem(await changed(client, settings, "z-1", "claims", bob, version=2), 409)["detail"]
    stale = problem(await changed(client, settings, "z-1", "notes", anna, {"text": "nog bezig"}, version=1), 412)
    assert "version 2" in stale["detail"]
    missing = await client.post("/v1/cases/z-1/notes", headers=anna, json={"text": "zonder versie"})
    assert "If-Match" in problem(missing, 428)["detail"]
    assert "only they or a coordinator" in problem(await changed(client, settings, "z-1", "releases", bob), 403)[
        "detail"]
    resolved = await changed(client, settings, "z-1", "resolutions", anna, {"resolution": "Vervangen op 3 december."})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = await changed(client, settings, "z-1", "resolutions", anna, {"resolution": "Nogmaals."})
    assert "resolved already" in problem(again, 409)["detail"]
    problem(await changed(client, settings, "z-1", "extensions", anna, {"weeks": 5, "reason": "te lang"}), 422)
    history = [(h["action"], h["changed_by"]) for h in (await client.get("/v1/cases/z-1", headers=anna)).json()[
        "history"]]
    assert history == [("opened", "loket-cases"), ("claimed", "anna"), ("resolved", "anna")]


async def test_two_claims_on_the_same_version_at_once_one_wins_and_the_other_is_told_it_is_stale(client, settings,
                                                                                              pool):
    await seed(pool, open_case("z-1", department=AFVAL))
    answers = await asyncio.gather(*(changed(client, settings, "z-1", "claims", bearer(settings, who, AFVAL), version=1)
                                     for who in ("anna", "bob")))
    assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'nl.loket.cases.case-claimed'") == 1


async def test_a_coordinator_releases_and_transfers_a_case_a_colleague_holds(client, settings, pool):
    await seed(pool, open_case("z-1", department=AFVAL))
    assert (await changed(client, settings, "z-1", "claims", bearer(settings, "anna", AFVAL))).status_code == 200
    cora = bearer(settings, "cora", AFVAL, role=Role.COORDINATOR)
    transferred = await changed(client, settings, "z-1", "transfers", cora,
                                {"department": PARKEREN, "reason": "gaat over een parkeervergunning"})
    assert transferred.status_code == 200, transferred.text
    case = transferred.json()
    assert (case["department"], case["assignee"], case["status"]) == (PARKEREN, None, "registered")
    assert case["history"][-1]["reason"] == "afval-reiniging → parkeren: gaat over een parkeervergunning"
    problem(await client.get("/v1/cases/z-1", headers=cora), 403)  # no longer hers to see
    unknown = await changed(client, settings, "z-1", "transfers", bearer(settings, "piet", PARKEREN),
                            {"department": "nergens", "reason": "x"})
    assert "no department" in problem(unknown, 422)["detail"]


async def test_a_change_and_its_events_commit_together_without_personal_data(client, settings, pool):
    await seed(pool, open_case("z-1", department=AFVAL, party=party("bsn"), question=QUESTION))
    anna = bearer(settings, "anna", AFVAL)
    await pool.execute("DELETE FROM outbox")  # the opening's own events are the case service's business
    for action, body in (("claims", None), ("suspensions", {"reason": "wacht op foto's"}), ("resumptions", None),
                         ("transfers", {"department": PARKEREN, "reason": "parkeren"})):
        assert (await changed(client, settings, "z-1", action, anna, body)).status_code == 200, action
    resolved = await changed(client, settings, "z-1", "resolutions", bearer(settings, "piet", PARKEREN),
                             {"resolution": "Opgelost."})
    assert resolved.status_code == 200
    rows = await pool.fetch("SELECT topic, message_key, event_type, payload FROM outbox ORDER BY id")
    assert [(r["topic"], r["event_type"]) for r in rows] == [
        ("loket.case-events.v1", "nl.loket.cases.case-claimed"),
        ("loket.case-events.v1", "nl.loket.cases.case-suspended"),
        ("loket.case-events.v1", "nl.loket.cases.case-resumed"),
        ("loket.case-events.v1", "nl.loket.cases.case-transferred"),
        ("loket.backoffice.parkeren.v1", "nl.loket.cases.work-item"),
        ("loket.case-events.v1", "nl.loket.cases.case-resolved")]
    assert [json.loads(r["payload"])["id"] for r in rows] == [
        "z-1:claimed:2", "z-1:suspended:3", "z-1:resumed:4", "z-1:transferred:5", "z-1:queued:5", "z-1:resolved:6"]
    assert {r["message_key"] for r in rows} == {"z-1"}
    for row in rows:
        for personal in (JAN.bsn, JAN.name, JAN.email, JAN.phone, "Jansen", QUESTION):
            assert personal.lower() not in row["payload"].lower(), (row["event_type"], personal)
    # A refused change leaves no trace: no version, no history, no event.
    before = await pool.fetchval("SELECT count(*) FROM outbox")
    problem(await changed(client, settings, "z-1", "resolutions", bearer(settings, "piet", PARKEREN),
                          {"resolution": "Nog eens."}), 409)
    assert await pool.fetchval("SELECT count(*) FROM outbox") == before
    assert await pool.fetchval("SELECT version FROM cases") == 6


async def test_resumption_moves_the_due_date_and_every_alarm_not_yet_raised(client, settings, pool, clock):
    # Opened Monday 23 November 2026 with a norm of ten working days: due Monday 7 December.
    await seed(pool, open_case("z-1", department=AFVAL, asked_on=dt.date(2026, 11, 23), norm_working_days=10,
                               due_date=dt.date(2026, 12, 7)))
    await pool.execute("UPDATE deadline_alarms SET emitted_at = now() WHERE level = 'warning'")
    anna = bearer(settings, "anna", AFVAL)
    clock.day = dt.date(2026, 11, 25)
    assert (await changed(client, settings, "z-1", "suspensions", anna, {"reason": "wacht op de melder"})).status_code \
        == 200
    clock.day = dt.date(2026, 12, 2)  # seven days later, five of them working days (25, 26, 27, 30 Nov, 1 Dec)
    resumed = (await changed(client, settings, "z-1", "resumptions", anna)).json()
    assert (resumed["service_due"], resumed["suspended"], resumed["suspended_on"]) == ("2026-12-14", False, None)
    alarms = {r["level"]: r["due_on"] for r in await pool.fetch("SELECT level, due_on FROM deadline_alarms")}
    assert alarms["breached"] == dt.date(2026, 12, 14)  # moved with the clock
    assert alarms["warning"] == dt.date(2026, 12, 3)  # raised already, so left as it was (8 of 10 working days)
    # 23 working days (1.5 * 15) from 23 November: past the closing day 24 December and Christmas.
    assert alarms["escalated"] == dt.date(2026, 12, 28)


async def test_reading_a_cases_party_needs_a_purpose_and_is_logged(client, settings, pool):
    await seed(pool, open_case("z-1", department=AFVAL, party=party("bsn"), question=QUESTION))
    anna = bearer(settings, "anna", AFVAL)
    missing = await client.get("/v1/cases/z-1/party", headers=anna)
    assert "Loket-Purpose" in problem(missing, 400)["detail"]
    assert await reads(pool) == []
    answer = await client.get("/v1/cases/z-1/party", headers={**anna, "Loket-Purpose": "terugbelverzoek uitvoeren"})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert answer.json()["party"]["bsn"] == JAN.bsn and answer.json()["question"] == QUESTION
    assert await reads(pool) == [{"worker_id": "anna", "role": "worker", "what": "case-party",
                                  "party_pseudonym": party("bsn").pseudonym, "case_id": "z-1",
                                  "purpose": "terugbelverzoek uitvoeren"}]
    case = (await client.get("/v1/cases/z-1", headers=anna)).text
    assert JAN.bsn not in case and "Jansen" not in case and QUESTION not in case  # the case itself has none


@pytest.mark.parametrize(("kind", "asked_with"), [("bsn", {"bsn": "111222333"}),
                                                  ("email", {"email": "JAN.JANSEN@Example.NL"}),
                                                  ("phone", {"phone": "06-12345678"})])
async def test_the_klantbeeld_is_found_by_an_identifier_in_the_body_and_every_read_is_logged(
        client, settings, pool, kind, asked_with):
    ref = party(kind)
    await seed(pool, open_case("z-1", department=AFVAL, party=ref), open_case("z-2", department=PARKEREN, party=ref),
               open_case("z-3", department=AFVAL, party=party("bsn", PersonalData(bsn="123456782"))))
    await PgCaseStore(pool).add_contacts([
        Contact(f"q-{n}", f"c-{n}", ref.pseudonym, "phone", "container-kapot", outcome, "rule", case_id, AFVAL,
                NOW + dt.timedelta(hours=n))
        for n, (outcome, case_id) in enumerate([("escalated", "z-1"), ("linked", "z-1"), ("answered", None)])])
    anna = bearer(settings, "anna", AFVAL)
    answer = await client.post("/v1/klantbeelden/_zoek", headers={**anna, "Loket-Purpose": "klant aan de lijn"},
                               json=asked_with)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert [c["case_id"] for c in found["cases"]] == ["z-1", "z-2"]  # the other party's case is not there
    assert [c["contact_id"] for c in found["contacts"]] == ["c-2", "c-1", "c-0"]  # most recent first
    for raw in (*asked_with.values(), JAN.bsn, "Jansen", ref.pseudonym):
        assert raw.strip().lower() not in answer.text.lower()
    assert await reads(pool) == [{"worker_id": "anna", "role": "worker", "what": "klantbeeld",
                                  "party_pseudonym": ref.pseudonym, "case_id": None, "purpose": "klant aan de lijn"}]
    detail = (await client.get("/v1/cases/z-1", headers=anna)).json()
    assert [c["contact_id"] for c in detail["contacts"]] == ["c-0", "c-1"]  # the case's own contacts


@pytest.mark.parametrize(("body", "field"), [({"bsn": "111222334"}, "bsn"), ({"phone": "+31 6 1"}, "phone"),
                                             ({"email": "jan@"}, "email"), ({}, "(body)"),
                                             ({"bsn": "111222333", "phone": "0612345678"}, "(body)")])
async def test_a_klantbeeld_needs_exactly_one_valid_identifier_and_never_echoes_it(client, settings, pool, body,
                                                                                  field):
    answer = await client.post("/v1/klantbeelden/_zoek", json=body,
                               headers={**bearer(settings, "anna", AFVAL), "Loket-Purpose": "klant aan de lijn"})
    refused = problem(answer, 422)
    assert field in [e["field"] for e in refused["errors"]]
    for value in body.values():
        assert value not in answer.text
    assert await reads(pool) == []


async def test_the_access_log_is_for_admins_only(client, settings, pool):
    await seed(pool, open_case("z-1", department=AFVAL, party=party("bsn")))
    anna = bearer(settings, "anna", AFVAL)
    for n in range(3):
        assert (await client.get("/v1/cases/z-1/party", headers={**anna, "Loket-Purpose": f"reden {n}"})).status_code \
            == 200
    for worker in (anna, bearer(settings, "cora", AFVAL, role=Role.COORDINATOR)):
        assert "admin" in problem(await client.get("/v1/admin/personal-data-reads", headers=worker), 403)["detail"]
    page = (await client.get("/v1/admin/personal-data-reads?limit=2",
                             headers=bearer(settings, "root", role=Role.ADMIN))).json()
    assert page["total"] == 3 and [r["purpose"] for r in page["items"]] == ["reden 2", "reden 1"]
    assert page["next"] is not None and "offset=2" in page["next"]


async def test_while_the_service_has_no_database_the_api_answers_503_and_health_is_served(settings):
    async def starting():
        return "starting"

    app = create_app(settings, lambda: None, starting)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://backoffice") as client:
        answer = await client.get("/v1/cases", headers=bearer(settings, "anna", AFVAL))
        assert problem(answer, 503) and answer.headers["retry-after"] == "5"
        assert (await client.get("/health/live")).status_code == 200
        assert problem(await client.get("/health/ready"), 503)["detail"] == "not ready: starting"
        assert (await client.get("/metrics")).status_code == 200

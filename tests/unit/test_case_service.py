"""Case service rules and handler, on the in-memory store."""

from schemas import CaseOpened
from schemas.topics import CASE_EVENTS
from services.case.handlers import open_case
from tests.builders import NOW, SOURCE, open_case as request
from tests.fakes import FakeCaseStore


async def test_request_opens_a_registered_case_and_announces_it():
    store = FakeCaseStore()
    assert await open_case(request("z-1"), store=store, source=SOURCE, now=NOW) is True
    assert store.cases["z-1"].status == "registered"
    topic, key, payload = store.outbox[0]
    assert (topic, key) == (CASE_EVENTS.name, "z-1")
    assert CaseOpened.model_validate_json(payload).data.case_id == "z-1"


async def test_redelivered_request_has_no_second_effect():
    store = FakeCaseStore()
    await open_case(request("z-1"), store=store, source=SOURCE, now=NOW)
    assert await open_case(request("z-1"), store=store, source=SOURCE, now=NOW) is False
    assert len(store.cases) == 1 and len(store.outbox) == 1


async def test_case_opened_carries_no_personal_data():
    from schemas import PartyRef, PersonalData

    party = PartyRef(pseudonym="a" * 64, identified_by="bsn", personal=PersonalData(bsn="111222333", name="J. Jansen"))
    store = FakeCaseStore()
    await open_case(request("z-2", party=party), store=store, source=SOURCE, now=NOW)
    payload = store.outbox[0][2].decode()
    assert "111222333" not in payload and "Jansen" not in payload
    assert "a" * 64 in payload

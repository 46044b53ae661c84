"""Case service rules, handler and batch handler, on the in-memory store and stand-ins for aiokafka."""

import asyncio

from aiokafka import TopicPartition
from structlog.testing import capture_logs

from plumbing.kafka import CLOUDEVENT_HEADERS
from plumbing.processor import BatchProcessor, Route
from plumbing.settings import KafkaSettings
from schemas import CaseOpened, DeadLetter
from schemas.cases import WorkItem
from schemas.topics import CASE_EVENTS
from services.case.handlers import open_cases
from services.case.kafka import CaseRequests
from tests.builders import NOW, SOURCE, open_case as request
from tests.fakes import FakeCaseStore, FakeConsumer, FakeProducer, Journal, record
from tests.realstack import eventually

REQUESTS = "requests"


async def test_request_opens_a_registered_case_announces_it_and_queues_it_for_its_department():
    store = FakeCaseStore()
    assert (await open_cases([request("z-1")], store=store, source=SOURCE, now=NOW)).opened == ["z-1"]
    assert store.cases["z-1"].status == "registered"
    (topic, key, payload), (queue, queue_key, item) = store.outbox
    assert (topic, key) == (CASE_EVENTS.name, "z-1")
    assert CaseOpened.model_validate_json(payload).data.case_id == "z-1"
    assert (queue, queue_key) == ("loket.backoffice.openbare-ruimte.v1", "z-1")
    assert WorkItem.model_validate_json(item).data.why == "opened"


async def test_redelivered_request_has_no_second_effect():
    store = FakeCaseStore()
    await open_cases([request("z-1")], store=store, source=SOURCE, now=NOW)
    again = await open_cases([request("z-1")], store=store, source=SOURCE, now=NOW)
    assert again.opened == [] and again.refused == {}
    assert len(store.cases) == 1 and len(store.outbox) == 2


async def test_case_opened_carries_no_personal_data():
    from schemas import PartyRef, PersonalData

    party = PartyRef(pseudonym="a" * 64, identified_by="bsn", personal=PersonalData(bsn="111222333", name="J. Jansen"))
    store = FakeCaseStore()
    await open_cases([request("z-2", party=party)], store=store, source=SOURCE, now=NOW)
    opened, queued = (payload.decode() for _, _, payload in store.outbox)
    assert not any(secret in text for secret in ("111222333", "Jansen") for text in (opened, queued))
    assert "a" * 64 in opened


def _request_record(offset: int, case_id: str, **fields) -> object:
    return record(0, offset, key=case_id.encode(), value=request(case_id, **fields).to_bytes(), topic=REQUESTS,
                  headers=CLOUDEVENT_HEADERS)


async def _processed(store: FakeCaseStore, records: list, stopping: asyncio.Event | None = None):
    """A processor with the case requests' batch handler, run until it commits (or is stopped)."""
    journal, stopping = Journal(), stopping or asyncio.Event()
    consumer = FakeConsumer(journal, {TopicPartition(REQUESTS, 0)})
    handler = CaseRequests(store, KafkaSettings(), SOURCE, stopping)
    proc = BatchProcessor(consumer, FakeProducer(journal), {REQUESTS: Route(batch=handler)}, dead_letters="dl",
                          source=SOURCE, name="cases", batch_size=100)
    consumer.batches.append(({TopicPartition(REQUESTS, 0): records}, {}))
    running = asyncio.create_task(proc.run(stopping))
    await eventually(lambda: running.done() or any(entry[0] == "commit" for entry in journal), timeout=30,
                     interval=0.05)
    stopping.set()
    await running
    return journal


async def test_a_batch_is_stored_at_once_and_committed_after_it_bad_records_and_refused_cases_parked():
    store = FakeCaseStore(refuses=frozenset({"kapot"}))
    journal = await _processed(store, [_request_record(0, "z-1"), _request_record(1, "z-2"),
                                       record(0, 2, key=b"z-3", value=b'{"half"', topic=REQUESTS,
                                              headers=CLOUDEVENT_HEADERS),
                                       _request_record(3, "z-4", case_type="kapot"), _request_record(4, "z-1")])
    assert sorted(store.cases) == ["z-1", "z-2"] and store.attempts == 1  # one store call for the batch
    letters = [DeadLetter.model_validate_json(entry[3]).data for entry in journal if entry[0] == "send"]
    assert sorted(letter.offset for letter in letters) == [2, 3]
    assert any(letter.reason.startswith("PostgreSQL refused the case") for letter in letters)
    assert journal[-1] == ("commit", {0: 5})


async def test_while_the_database_is_away_the_batch_is_tried_again_and_committed_only_once_stored():
    store = FakeCaseStore(away_for=3)
    with capture_logs() as told:
        journal = await _processed(store, [_request_record(0, "z-1")])
    assert store.attempts == 4 and list(store.cases) == ["z-1"]
    assert journal[-1] == ("commit", {0: 1})
    about_it = [line["event"] for line in told if line.get("dependency") == "database"]
    assert about_it == ["dependency_unavailable", "dependency_available_again"]


async def test_a_service_stopped_while_the_database_is_away_commits_nothing():
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stopping.set)
    store = FakeCaseStore(away_for=10**6)
    journal = await _processed(store, [_request_record(0, "z-1")], stopping)
    assert not any(entry[0] == "commit" for entry in journal) and store.cases == {}

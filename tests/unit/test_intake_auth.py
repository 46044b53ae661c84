"""Each intake door lets in its own channel systems: 401 without a token or with one no system has, 403 with
another system's, and the log names the system that called, never the body."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from pydantic import ValidationError

from services.intake.auth import CHANNELS_OF, ChannelSystem, development_token
from services.intake.settings import IntakeSettings
from tests.builders import ChannelSystemAuth
from tests.unit.test_intake_api import StandInPublisher, assert_problem, client, publisher  # noqa: F401 (fixtures)

NOW = dt.datetime.now(dt.timezone.utc).isoformat()
#: One valid body per door, with the system it belongs to.
DOORS = {
    "phone-question": ("/v1/questions", {"channel": "phone", "text": "Mijn kliko is kapot"}, "telephony"),
    "web-question": ("/v1/questions", {"channel": "web", "text": "Mijn kliko is kapot"}, "website"),
    "chat-question": ("/v1/questions", {"channel": "chat", "text": "Mijn kliko is kapot"}, "website"),
    "counter-question": ("/v1/questions", {"channel": "counter", "text": "Paspoort ophalen"}, "counter"),
    "email-question": ("/v1/questions", {"channel": "email", "text": "Mijn kliko is kapot"}, "mail"),
    "letter": ("/v1/questions", {"channel": "letter", "text": "Bezwaar tegen de aanslag"}, "post"),
    "call-report": ("/v1/call-reports", {"id": "cti-auth-1", "type": "queued", "call": "call-auth-1",
                                         "queue": "algemeen", "at": NOW}, "telephony"),
    "counter-report": ("/v1/counter-reports", {"id": "qm-auth-1", "type": "issued", "ticket": "A012",
                                               "queue": "burgerzaken", "at": NOW}, "counter"),
    "email-reply": ("/v1/first-replies", {"id": "antw-1", "contact_id": "c-1", "channel": "email", "sent_at": NOW},
                    "mail"),
    "letter-reply": ("/v1/first-replies", {"id": "brief-1", "contact_id": "c-2", "channel": "letter"}, "post"),
    "web-reply": ("/v1/first-replies", {"id": "web-1", "contact_id": "c-3", "channel": "web"}, "website"),
    "score": ("/v1/satisfaction-scores", {"response_id": "kto-auth-1", "contact_id": "c-1", "channel": "phone",
                                          "score": 8, "scored_at": NOW}, "survey"),
}


def bearer(system: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {development_token(ChannelSystem(system))}"}


@pytest.mark.parametrize("door", DOORS)
async def test_the_doors_own_system_is_let_in(client, publisher, door):  # noqa: F811
    path, body, system = DOORS[door]
    response = await client.post(path, json=body, headers=bearer(system))
    assert response.status_code == 202, response.text
    assert len(publisher.events) == 1


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-channel-systems-token-at-all", "Basic dXNlcjpwdw==",
                                           "Bearer"], ids=["none", "unknown-token", "basic", "empty"])
async def test_without_a_systems_token_it_is_a_401_that_says_how_to_authenticate(client, publisher, door,  # noqa: F811
                                                                                 authorization):
    path, body, _ = DOORS[door]
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(transport=client._transport, base_url="http://intake") as bare:
        response = await bare.post(path, json=body, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert publisher.events == []


@pytest.mark.parametrize("door", DOORS)
async def test_another_systems_token_is_a_403_naming_the_doors_system(client, publisher, door):  # noqa: F811
    path, body, own = DOORS[door]
    for other in ChannelSystem:
        if other.value == own:
            continue
        problem = assert_problem(await client.post(path, json=body, headers=bearer(other)), 403)
        assert own in problem["detail"] and other.value in problem["detail"]
    assert publisher.events == []


async def test_a_401_comes_before_the_body_is_judged(client, publisher):  # noqa: F811
    async with httpx.AsyncClient(transport=client._transport, base_url="http://intake") as bare:
        response = await bare.post("/v1/questions", json={"channel": "fax"})
    assert_problem(response, 401)


async def test_the_log_names_the_calling_system_never_the_body(client, publisher, capsys):  # noqa: F811
    secret_text = "Mijn buurman Jan de Vries op nummer 12 maakt herrie"
    await client.post("/v1/questions", json={"channel": "chat", "text": secret_text,
                                             "party": {"bsn": "111222333", "email": "jan@example.nl"}})
    await client.post("/v1/questions", json={"channel": "chat", "text": secret_text}, headers=bearer("post"))
    logged = capsys.readouterr().out
    assert "question_accepted" in logged and "system=website" in logged
    for personal in (secret_text, "111222333", "jan@example.nl", development_token(ChannelSystem.POST)):
        assert personal not in logged


def test_every_channel_has_exactly_one_system():
    for channel in {c for channels in CHANNELS_OF.values() for c in channels}:
        assert sum(channel in channels for channels in CHANNELS_OF.values()) == 1
    from schemas.contacts import Channel
    assert {c for channels in CHANNELS_OF.values() for c in channels} == set(Channel)


@pytest.mark.parametrize("tokens,reason", [
    ('{"telephony": "short"}', "at least 24 characters"),
    ('{"telephony": "the-same-token-for-two-systems", "website": "the-same-token-for-two-systems"}',
     "a token of its own"),
    ('{"fax": "a-token-for-a-system-that-is-none"}', "telephony"),
])
def test_tokens_that_could_mix_systems_up_are_refused_at_start(monkeypatch, tokens, reason):
    monkeypatch.setenv("LOKET_INTAKE_TOKENS", tokens)
    with pytest.raises(ValidationError, match=reason):
        IntakeSettings()


def test_a_system_left_out_of_the_tokens_cannot_call_and_is_no_development_one(monkeypatch):
    monkeypatch.setenv("LOKET_INTAKE_TOKENS", '{"telephony": "a-production-token-of-the-cti-platform"}')
    settings = IntakeSettings()
    assert set(settings.intake_tokens) == {ChannelSystem.TELEPHONY} and settings.development_tokens() == []


def test_the_test_clients_auth_picks_the_system_of_the_door():
    for path, body, system in DOORS.values():
        request = httpx.Request("POST", f"http://intake{path}", json=body)
        sent = next(ChannelSystemAuth().auth_flow(request))
        assert sent.headers["Authorization"] == bearer(system)["Authorization"]

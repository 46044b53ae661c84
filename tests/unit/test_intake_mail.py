"""The mail door's reading of a message, and its SMTP answers, without a network."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.smtp import Envelope

from schemas.contacts import Channel
from schemas.intake import QuestionAccepted
from services.intake.exceptions import InvalidIdentifier, PublishFailed
from services.intake.mail import (CUT, MAX_TEXT, MailDoor, idempotency_key, not_a_question, question_text,
                                  submission)


def mail(body: str = "Mijn kliko is kapot.", *, subtype: str = "plain", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "J. Jansen <j.jansen@example.nl>")
    message["To"] = "kcc@zeventerpen.nl"
    message["Subject"] = headers.pop("Subject", "Kliko")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, subtype=subtype)
    return message


def parsed(message: EmailMessage) -> EmailMessage:
    """As the door sees it: the bytes read back."""
    return BytesParser(policy=policy.default).parsebytes(message.as_bytes())  # type: ignore[return-value]


def test_a_citizens_mail_is_a_question_from_its_sender_with_subject_and_body():
    question = submission("bounce-address@example.nl", parsed(mail("Wanneer\n\n  wordt hij vervangen?")))
    assert question.channel is Channel.EMAIL
    assert question.text == "Kliko\n\nWanneer\nwordt hij vervangen?"
    assert question.party.email == "j.jansen@example.nl"  # From, not the envelope's sender


def test_an_html_only_mail_is_read_as_text():
    html = "<html><body><p>Mijn <b>kliko</b> is kapot.</p><script>x()</script><p>Groet</p></body></html>"
    text = question_text(parsed(mail(html, subtype="html")))
    assert "<" not in text and "kliko" in text and "Groet" in text


def test_a_long_mail_is_cut_to_what_the_stream_takes():
    text = question_text(parsed(mail("woord " * 2000)))
    assert len(text) == MAX_TEXT and text.endswith(CUT)


def test_control_characters_become_spaces():
    assert question_text(parsed(mail("kliko\x0ckapot"))) == "Kliko\n\nkliko kapot"


@pytest.mark.parametrize(("mail_from", "headers", "why"), [
    ("", {}, "null sender (a bounce)"),
    ("<>", {}, "null sender (a bounce)"),
    ("j@example.nl", {"Auto_Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
    ("j@example.nl", {"Auto_Submitted": "auto-generated; owner-email=x@example.nl"}, "Auto-Submitted: auto-generated"),
    ("j@example.nl", {"Precedence": "bulk"}, "Precedence: bulk"),
    ("j@example.nl", {"Precedence": "auto_reply"}, "Precedence: auto_reply"),
], ids=["empty sender", "null sender", "auto-reply", "auto-generated", "bulk", "auto_reply"])
def test_auto_replies_and_bounces_are_not_questions(mail_from, headers, why):
    assert not_a_question(mail_from, parsed(mail(**headers))) == why


def test_a_mail_that_says_it_is_not_automatic_is_a_question():
    assert not_a_question("j@example.nl", parsed(mail(Auto_Submitted="no"))) is None


def test_a_delivery_report_is_a_bounce():
    report = EmailMessage()
    report["From"] = "MAILER-DAEMON@example.nl"
    report.set_content("Delivery failed")
    report.make_mixed()
    report.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"')
    assert not_a_question("postmaster@example.nl", parsed(report)) == "delivery report (a bounce)"


def key(message: EmailMessage) -> str:
    message = parsed(message)
    return idempotency_key(message, submission("x@example.nl", message))


def test_a_message_delivered_twice_has_one_key_and_another_message_another():
    first, again = mail(Message_ID="<a1@example.nl>"), mail(Message_ID="<a1@example.nl>", Received="from relay")
    assert key(first) == key(again)  # a relay's header on the way changes nothing
    assert key(mail()) != key(first)
    assert key(mail("Iets anders", Message_ID="<a1@example.nl>")) != key(first)  # a mailer reusing its ids


@pytest.mark.parametrize("header", [b"From: a@", b"Message-ID: <>", b"From: <a@[1.2.3.4"],
                         ids=["half an address", "empty Message-ID", "broken address literal"])
async def test_a_header_python_cannot_read_is_passed_over_not_answered_500(header):
    sent = Envelope()
    sent.mail_from, sent.rcpt_tos = "j@example.nl", ["kcc@zeventerpen.nl"]
    sent.content = header + b"\r\nSubject: Kliko\r\n\r\nkapot\r\n"
    answer = await MailDoor(Accepting()).handle_DATA(None, None, sent)  # type: ignore[arg-type]
    assert answer == "250 2.0.0 OK: question e-1"  # the envelope's sender stands in for a From unread


def test_a_body_in_a_charset_python_does_not_know_is_still_read():
    raw = (b"From: j@example.nl\r\nSubject: Kliko\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n"
           b"kapot\r\n")
    assert question_text(BytesParser(policy=policy.default).parsebytes(raw)) == "Kliko\n\nkapot"


async def test_an_unforeseen_failure_is_a_451_so_the_sender_tries_again():
    answer = await MailDoor(Accepting(RuntimeError("bug"))).handle_DATA(None, None, envelope(mail()))  # type: ignore[arg-type]
    assert answer.startswith("451 4.3.0")


class Accepting:
    def __init__(self, fails: Exception | None = None) -> None:
        self.fails, self.taken = fails, []

    async def __call__(self, question, key):
        if self.fails is not None:
            raise self.fails
        self.taken.append((question, key))
        return QuestionAccepted(event_id="e-1", contact_id="c-1")


def envelope(message: EmailMessage, mail_from: str = "j.jansen@example.nl") -> Envelope:
    e = Envelope()
    e.mail_from, e.rcpt_tos, e.content = mail_from, ["kcc@zeventerpen.nl"], message.as_bytes()
    return e


async def test_the_door_answers_250_once_the_question_is_accepted():
    accept = Accepting()
    answer = await MailDoor(accept).handle_DATA(None, None, envelope(mail()))  # type: ignore[arg-type]
    assert answer == "250 2.0.0 OK: question e-1" and len(accept.taken) == 1


async def test_while_the_stream_is_away_the_door_answers_451_so_the_sender_tries_again():
    door = MailDoor(Accepting(PublishFailed("away")))
    answer = await door.handle_DATA(None, None, envelope(mail()))  # type: ignore[arg-type]
    assert answer.startswith("451 4.3.0")


async def test_an_auto_reply_is_taken_and_dropped_not_answered_with_an_error():
    accept = Accepting()
    out_of_office = envelope(mail(Auto_Submitted="auto-replied"))
    answer = await MailDoor(accept).handle_DATA(None, None, out_of_office)  # type: ignore[arg-type]
    assert answer.startswith("250") and "dropped" in answer and accept.taken == []


@pytest.mark.parametrize(("message", "refusal"), [
    (mail("", Subject=""), "550 5.6.0 Not a question Loket can take: text unusable"),
    (mail(From="not an address"), "550 5.6.0 Not a question Loket can take: party.email unusable"),
], ids=["no text", "no address"])
async def test_a_mail_that_can_never_be_a_question_is_refused_for_good(message, refusal):
    sent = envelope(message, mail_from="x@example.nl")
    answer = await MailDoor(Accepting()).handle_DATA(None, None, sent)  # type: ignore[arg-type]
    assert answer == refusal


async def test_an_address_the_intake_cannot_use_is_refused_for_good():
    door = MailDoor(Accepting(InvalidIdentifier("party.email", "not deliverable")))
    assert (await door.handle_DATA(None, None, envelope(mail()))).startswith("550 5.1.7")  # type: ignore[arg-type]


async def test_a_message_that_cannot_be_read_at_all_is_refused_for_good(monkeypatch):
    def unreadable(*args, **kwargs):
        raise LookupError("unknown encoding")

    monkeypatch.setattr("services.intake.mail.question_text", unreadable)
    answer = await MailDoor(Accepting()).handle_DATA(None, None, envelope(mail()))  # type: ignore[arg-type]
    assert answer == "550 5.6.0 Not a message Loket can read"

"""The mail door on the real stack: e-mails sent with smtplib to a running ``loket intake`` become questions on
the real contacts topic; auto-replies, bounces and oversized mail do not, and each gets its proper SMTP answer."""

from __future__ import annotations

import asyncio
import smtplib
from email import policy
from email.message import EmailMessage

import pytest

from plumbing.pseudonym import pseudonym
from schemas import QuestionAsked
from schemas.contacts import Channel
from schemas.topics import CONTACTS
from tests.realstack import free_port, listening_port, wait_healthy

pytestmark = pytest.mark.integration
SECRET = "mail-door-secret"
LIMIT = 16 * 1024


def mail(sender: str, subject: str, body: str, *, subtype: str = "plain", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "kcc@zeventerpen.nl", subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, subtype=subtype)
    return message


def deliver(port: int, message: EmailMessage, mail_from: str | None = None) -> tuple[int, str]:
    """One SMTP transaction with a real client; the server's answer to the message's DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("mail.example.nl")
        client.mail(message["From"] if mail_from is None else mail_from)
        client.rcpt("kcc@zeventerpen.nl")
        code, text = client.data(message.as_bytes(policy=policy.SMTP))  # CRLF line ends, as on the wire
        return code, text.decode()


async def test_mails_become_questions_and_machines_mail_does_not(service, topics, tmp_path):
    http, smtp = free_port(), listening_port()
    process = service("intake", LOKET_INTAKE_PORT=str(http), LOKET_INTAKE_SMTP_PORT=str(smtp),
                      LOKET_PSEUDONYM_SECRET=SECRET, LOKET_INTAKE_MAIL_MAX_BYTES=str(LIMIT), LOKET_LOG_LEVEL="debug")
    await wait_healthy(f"http://127.0.0.1:{http}", process=process)

    async def sent(message: EmailMessage, mail_from: str | None = None) -> tuple[int, str]:
        return await asyncio.to_thread(deliver, smtp, message, mail_from)

    plain = mail("J. Jansen <j.jansen@example.nl>", "Kliko kapot", "Mijn kliko is kapot.\nGroet, Jan",
                 Message_ID="<k1@example.nl>")
    html = mail("p.pieters@example.nl", "Paspoort", "<p>Wanneer kan ik mijn <b>paspoort</b> ophalen?</p>",
                subtype="html")
    code, first = await sent(plain)
    assert code == 250 and first.startswith("2.0.0 OK: question ")
    assert await sent(plain) == (250, first)  # delivered again (the same Message-ID): the same question
    assert (await sent(html))[0] == 250
    out_of_office = mail("j.jansen@example.nl", "Afwezig", "Ik ben afwezig", Auto_Submitted="auto-replied")
    assert await sent(out_of_office) == (250, "2.0.0 OK: not a question, dropped")
    bounce = mail("MAILER-DAEMON@example.nl", "Undelivered", "Delivery failed")
    assert await sent(bounce, mail_from="") == (250, "2.0.0 OK: not a question, dropped")
    code, text = await sent(mail("j.jansen@example.nl", "Groot", "Een lange regel tekst.\n" * (LIMIT // 10)))
    assert code == 552, text  # too big: the sender's server tells the sender

    records = await topics.read(CONTACTS, until=lambda rs: len(rs) >= 2)
    questions = [QuestionAsked.model_validate_json(r.value) for r in records]
    assert await topics.count(CONTACTS) == 2  # not the mail delivered twice, nor what a machine sent
    by_party = {q.data.party.personal.email: q for q in questions}
    jan, piet = by_party["j.jansen@example.nl"], by_party["p.pieters@example.nl"]
    assert first.endswith(jan.id) and jan.data.channel is Channel.EMAIL
    assert jan.data.text == "Kliko kapot\n\nMijn kliko is kapot.\nGroet, Jan"
    assert jan.subject == pseudonym(SECRET.encode(), "email", "j.jansen@example.nl")
    assert piet.data.text == "Paspoort\n\nWanneer kan ik mijn\npaspoort\nophalen?"
    logged = (tmp_path / "intake.log").read_text()  # at debug level, aiosmtpd's own logger included
    assert "mail_accepted" in logged and "mail_not_a_question" in logged
    assert not any(address in logged for address in ("j.jansen", "p.pieters", "kcc@zeventerpen", "Kliko", "paspoort"))

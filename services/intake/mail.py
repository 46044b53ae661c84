"""The mail door: an SMTP receiver (aiosmtpd) that turns e-mail to the municipality into questions.

What a message says is read here (pure functions); what becomes of it is the intake's own use case, the same
as for a question posted over HTTP. The answers follow RFC 5321, so that the sending mail server does the
right thing: 250 once the question is durable in the contacts stream; 451 (try again later) while it cannot
be, so the sender's server keeps the message and delivers it again; 550 for a message that can never be a
question; 552 for one over the size limit (aiosmtpd's own answer). Auto-replies and bounces are taken (250)
and dropped: answering them would start a loop. Nothing of a message (address, subject, body) is logged:
aiosmtpd's own logger, which would log the addresses, is held at WARNING.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from bs4 import BeautifulSoup
from pydantic import ValidationError

from schemas.contacts import Channel
from schemas.intake import QuestionAccepted, QuestionSubmission
from services.intake.exceptions import InvalidIdentifier, PublishFailed

log = structlog.get_logger(__name__)
#: The longest question text the contacts stream takes; a longer mail is cut here, with ``CUT`` at its end.
MAX_TEXT = 4000
CUT = " […]"
#: The most characters of an HTML body read for its text.
MAX_HTML = 256 * 1024
#: aiosmtpd's own logger: it logs each command (the sender's and recipient's addresses) at INFO and, at DEBUG,
#: every line of the message. Held at WARNING whatever the service's level: no personal data in the logs.
AIOSMTPD_LOGGER = "mail.log"
#: Control characters a question's text may not hold (tab and line breaks it may): read as a space.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: ``Precedence`` values that mark mail sent by a machine to many (RFC 3834 section 2; de-facto, not standard).
MACHINE_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
#: What ``accept`` is: the intake's use case for one submission, with the message's idempotency key.
Accept = Callable[[QuestionSubmission, str], Awaitable[QuestionAccepted]]


def not_a_question(mail_from: str | None, message: EmailMessage) -> str | None:
    """Why a message is not a citizen's question (an auto-reply or a bounce), or None when it may be one."""
    if not mail_from or mail_from == "<>":
        return "null sender (a bounce)"
    if message.get_content_type() == "multipart/report":
        return "delivery report (a bounce)"
    auto = (_header(message, "Auto-Submitted") or "no").split(";")[0].strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(message, "Precedence").lower()
    if precedence in MACHINE_PRECEDENCE:
        return f"Precedence: {precedence}"
    return None


def body_text(message: EmailMessage) -> str:
    """The message's text: its plain-text body, or its HTML body read as text when it has no plain one."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except LookupError:  # a charset Python does not know: read as Latin-1, which takes every byte
        content = part.get_payload(decode=True).decode("latin-1")
    if part.get_content_type() == "text/html":
        # Only the start is parsed (the text is cut at MAX_TEXT anyway): a large HTML mail does not hold up the
        # event loop the intake's HTTP API shares.
        return BeautifulSoup(content[:MAX_HTML], "html.parser").get_text("\n")
    return content


def question_text(message: EmailMessage) -> str:
    """Subject and body as one text, white space tidied, cut to what the stream takes."""
    subject = " ".join(CONTROL.sub(" ", _header(message, "Subject")).split())
    body = "\n".join(line.strip() for line in CONTROL.sub(" ", body_text(message)).splitlines() if line.strip())
    text = "\n\n".join(piece for piece in (subject, body) if piece)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - len(CUT)] + CUT


def sender(mail_from: str, message: EmailMessage) -> str:
    """The party's e-mail address: the message's From, else (none, or one Python cannot read) the envelope's
    sender."""
    return parseaddr(_header(message, "From"))[1] or mail_from


def _header(message: EmailMessage, name: str) -> str:
    """A header's text, or "" when it is absent or Python's e-mail package cannot read it."""
    try:
        return str(message.get(name, "")).strip()
    except Exception:  # e.g. IndexError on "From: a@": a broken header is as good as none
        return ""


def idempotency_key(message: EmailMessage, question: QuestionSubmission) -> str:
    """The same for a message delivered twice (the same Message-ID and the same question; relays may add
    headers on the way), another for another question under a Message-ID a broken mailer used before."""
    message_id = _header(message, "Message-ID")
    return "mail:" + hashlib.sha256(f"{message_id}\n{question.model_dump_json()}".encode()).hexdigest()


def submission(mail_from: str, message: EmailMessage) -> QuestionSubmission:
    """The question a message asks; ``ValidationError`` when it has no text, or its sender is no address."""
    return QuestionSubmission.model_validate({"channel": Channel.EMAIL, "text": question_text(message) or None,
                                              "party": {"email": sender(mail_from, message)}})


class MailDoor:
    """aiosmtpd's handler: each message's ``DATA`` becomes a question through ``accept``."""

    def __init__(self, accept: Accept) -> None:
        self._accept = accept

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        try:
            message = BytesParser(policy=policy.default).parsebytes(content)
            assert isinstance(message, EmailMessage)  # what policy.default gives
            if (reason := not_a_question(envelope.mail_from, message)) is not None:
                log.info("mail_not_a_question", reason=reason)
                return "250 2.0.0 OK: not a question, dropped"
            question = submission(envelope.mail_from or "", message)
            key = idempotency_key(message, question)
        except ValidationError as exc:
            # The one rule across fields a mail can break is "subject_code or text": without a location.
            fields = sorted({".".join(str(p) for p in error["loc"]) or "text" for error in exc.errors()})
            log.info("mail_refused", fields=fields)
            return f"550 5.6.0 Not a question Loket can take: {', '.join(fields)} unusable"
        except Exception as exc:  # a header or a part Python's e-mail package cannot read: never readable
            log.info("mail_refused", error=type(exc).__name__)
            return "550 5.6.0 Not a message Loket can read"
        try:
            accepted = await self._accept(question, key)
        except InvalidIdentifier as exc:
            log.info("mail_refused", fields=[exc.field])
            return f"550 5.1.7 Not a question Loket can take: {exc.field} unusable"
        except PublishFailed:
            return "451 4.3.0 Loket cannot take mail now; try again later"
        except Exception as exc:  # not the message's fault: the sender's server keeps it and tries again
            log.error("mail_not_taken", error=type(exc).__name__)
            return "451 4.3.0 Loket could not take this message now; try again later"
        log.info("mail_accepted", event_id=accepted.event_id)
        return f"250 2.0.0 OK: question {accepted.event_id}"


async def serve_mail(accept: Accept, host: str, port: int, max_bytes: int) -> asyncio.Server:
    """The SMTP receiver on ``host:port`` in the running event loop, refusing messages over ``max_bytes``
    (552). Close the returned server to stop it."""
    logging.getLogger(AIOSMTPD_LOGGER).setLevel(logging.WARNING)
    door = MailDoor(accept)
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(door, data_size_limit=max_bytes, hostname="loket", ident="Loket intake"), host, port)
    return server

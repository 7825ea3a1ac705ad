"""Outbound customer mail as raw MIME: threading headers, loop marker and plus-address Reply-To."""

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from supportpilot.mail.threading import ticket_token
from supportpilot.models import utc_now
from supportpilot.regex_store import compiled

LOOP_HEADER = "X-SupportPilot-Loop"
_MAX_REFERENCES = 20
_REPLY_PREFIXES = compiled(r"^(?:\s*(?:re|antw|aw|sv|vs)\s*(?:\[\d+\])?\s*:)+\s*", re.IGNORECASE)
_SUBJECT_TOKEN = compiled(r"\[#SP-[0-9A-Z]{26}\]", re.IGNORECASE)


@dataclass(frozen=True)
class OutboundMail:
    recipient: str
    subject: str
    body: str
    language: str
    ticket_id: str
    automated: bool
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComposedMail:
    raw: bytes
    message_id: str  # without angle brackets, as the mail parser and thread references store it


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def plus_address(support_address: str, ticket_id: str) -> str:
    """support+<ticket id>@domain: the customer's reply threads even when the subject is changed."""
    mailbox, _, domain = support_address.rpartition("@")
    return f"{mailbox}+{ticket_id.lower()}@{domain}"


def reply_subject(original: str, ticket_id: str, fallback: str) -> str:
    """'Re: <subject> [#SP-<id>]', however many Re:/Antw: and tokens the original already had."""
    base = " ".join(_SUBJECT_TOKEN.sub(" ", original).split())
    base = _REPLY_PREFIXES.sub("", base)
    token = ticket_token(ticket_id)
    return f"Re: {base} {token}" if base else f"{fallback} {token}"


def _angle(message_id: str) -> str:
    return f"<{message_id}>"


def _references(mail: OutboundMail) -> list[str]:
    """The conversation so far, ending with the message we answer (RFC 5322 section 3.6.4)."""
    ancestors = [ref for ref in dict.fromkeys(mail.references) if ref != mail.in_reply_to]
    return [*ancestors, *([mail.in_reply_to] if mail.in_reply_to else [])]


def compose_mail(
    mail: OutboundMail, *, support_address: str, local_id: str, now: datetime | None = None
) -> ComposedMail:
    message_id = f"{local_id}@{_domain(support_address)}"
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = support_address
    message["To"] = mail.recipient
    message["Reply-To"] = plus_address(support_address, mail.ticket_id)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now or utc_now())
    message["Message-ID"] = _angle(message_id)
    if mail.in_reply_to:
        message["In-Reply-To"] = _angle(mail.in_reply_to)
    references = _references(mail)
    if references:
        message["References"] = " ".join(_angle(ref) for ref in references[-_MAX_REFERENCES:])
    # RFC 3834: only machine-written mail is Auto-Submitted; a person's reply is not.
    if mail.automated:
        message["Auto-Submitted"] = "auto-replied"
    message[LOOP_HEADER] = "1"
    message.set_content(mail.body, charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = mail.language  # after set_content, which replaces all Content-* headers
    return ComposedMail(raw=message.as_bytes(), message_id=message_id)

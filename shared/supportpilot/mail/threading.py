"""Ticket references in mail: subject tokens such as "[#SP-<ulid>]" and plus-addresses."""

import re
from collections.abc import Iterable
from email.utils import parseaddr

from supportpilot.ids import is_ulid
from supportpilot.regex_store import compiled

_SUBJECT_TOKEN = compiled(r"\[#SP-([0-9A-Z]{26})\]", re.IGNORECASE)


def ticket_token(ticket_id: str) -> str:
    return f"[#SP-{ticket_id}]"


def tokens_in_subject(subject: str) -> list[str]:
    """Upper-cased ticket ids of all valid tokens in the subject, in order, without duplicates."""
    ticket_ids: list[str] = []
    for match in _SUBJECT_TOKEN.finditer(subject):
        ticket_id = match.group(1).upper()
        if is_ulid(ticket_id) and ticket_id not in ticket_ids:
            ticket_ids.append(ticket_id)
    return ticket_ids


def _split_address(address: str) -> tuple[str, str] | None:
    local, at, domain = parseaddr(address)[1].strip().lower().rpartition("@")
    return (local, domain) if at and local and domain else None


def plus_address_ticket(recipients: Iterable[str], support_address: str) -> str | None:
    """Ticket id from a recipient like "support+<ulid>@shop.example", when it is our support mailbox."""
    support = _split_address(support_address)
    if support is None:
        return None
    for recipient in recipients:
        parts = _split_address(recipient)
        if parts is None or parts[1] != support[1]:
            continue
        mailbox, plus, tag = parts[0].partition("+")
        if plus and mailbox == support[0] and is_ulid(tag):
            return tag.upper()
    return None

"""Inbound e-mail parsing: raw MIME bytes to clean ticket data (pure functions, no AWS, no I/O)."""

from supportpilot.mail.parse import ParsedAttachment, ParsedMail, parse_mail
from supportpilot.mail.text import html_to_text, split_reply
from supportpilot.mail.threading import plus_address_ticket, ticket_token, tokens_in_subject

__all__ = [
    "ParsedAttachment",
    "ParsedMail",
    "html_to_text",
    "parse_mail",
    "plus_address_ticket",
    "split_reply",
    "ticket_token",
    "tokens_in_subject",
]

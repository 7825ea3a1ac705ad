"""Finding the ticket a mail belongs to: subject tokens and plus-addresses."""

from supportpilot.ids import new_ulid
from supportpilot.mail.threading import plus_address_ticket, ticket_token, tokens_in_subject

TICKET = "01JD0000000000000000000000"
SUPPORT = "support@shop.example.nl"


def test_token_round_trips_through_a_subject():
    ticket_id = new_ulid()
    subject = f"Re: {ticket_token(ticket_id)} Waar is mijn pakket?"
    assert ticket_token(ticket_id) == f"[#SP-{ticket_id}]"
    assert tokens_in_subject(subject) == [ticket_id]


def test_tokens_are_case_insensitive_deduplicated_and_upper_cased():
    subject = f"RE: [#sp-{TICKET.lower()}] Fwd: [#SP-{TICKET}] [#SP-01JD0000000000000000000001]"
    assert tokens_in_subject(subject) == [TICKET, "01JD0000000000000000000001"]


def test_invalid_tokens_are_ignored():
    assert tokens_in_subject("[#SP-123] [#SP-01JD000000000000000000000I] [SP-01JD0000000000000000000000]") == []
    assert tokens_in_subject("[#SP-81JD0000000000000000000000]") == []  # first char out of ULID range
    assert tokens_in_subject("") == []


def test_plus_address_of_the_support_mailbox():
    recipients = ["alex@example.com", f"Shop <Support+{TICKET.lower()}@Shop.Example.NL>"]
    assert plus_address_ticket(recipients, SUPPORT) == TICKET


def test_plus_address_must_match_mailbox_and_domain():
    assert plus_address_ticket([f"support+{TICKET}@other.example.nl"], SUPPORT) is None
    assert plus_address_ticket([f"sales+{TICKET}@shop.example.nl"], SUPPORT) is None
    assert plus_address_ticket(["support+not-a-ticket@shop.example.nl"], SUPPORT) is None
    assert plus_address_ticket([SUPPORT, "", "garbage"], SUPPORT) is None
    assert plus_address_ticket([f"support+{TICKET}@shop.example.nl"], "not an address") is None

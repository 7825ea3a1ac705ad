"""Customer mail as it leaves the desk: language, disclosure, subject token, threading headers."""

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from supportpilot.mail.parse import parse_mail
from supportpilot.mail.threading import plus_address_ticket, tokens_in_subject
from supportpilot.models import Channel, CustomerIdentity, CustomerProfile, OrderSummary, Ticket
from supportpilot.notify import OutboundMail, compose_mail, reply_subject
from supportpilot.notify.templates import (
    DISCLOSURE,
    TemplateNotApplicable,
    acknowledgement,
    auto_reply,
    language_for,
    operator_reply,
)

TICKET_ID = "01JD0000000000000000000000"
SUPPORT = "support@shop.example.nl"
NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def ticket(language: str | None = "nl", orders: list[OrderSummary] | None = None) -> Ticket:
    return Ticket(
        id=TICKET_ID,
        channel=Channel.EMAIL,
        customer=CustomerIdentity(id="C1", kind="email", value="jan@example.nl"),
        subject="Waar blijft mijn bestelling?",
        language=language,
        created_at=NOW,
        updated_at=NOW,
        profile=CustomerProfile(customer_id="C1", orders=orders or []),
    )


def outbound(automated: bool = True, **changes) -> OutboundMail:
    fields = {
        "recipient": "jan@example.nl",
        "subject": reply_subject("Waar blijft mijn bestelling?", TICKET_ID, "Uw vraag"),
        "body": "Hallo,\n\nUw pakket is onderweg.\n",
        "language": "nl",
        "ticket_id": TICKET_ID,
        "automated": automated,
        "in_reply_to": "abc123@mail.example.nl",
        "references": ("first@mail.example.nl", "abc123@mail.example.nl"),
    } | changes
    return OutboundMail(**fields)


def headers_of(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def test_an_automated_reply_threads_under_the_customers_mail_and_is_marked_as_ours():
    composed = compose_mail(outbound(), support_address=SUPPORT, local_id="01JDMSG0000000000000000000", now=NOW)
    mail = headers_of(composed.raw)
    assert composed.message_id == "01JDMSG0000000000000000000@shop.example.nl"
    assert mail["Message-ID"] == f"<{composed.message_id}>"
    assert mail["In-Reply-To"] == "<abc123@mail.example.nl>"
    assert mail["References"] == "<first@mail.example.nl> <abc123@mail.example.nl>"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-SupportPilot-Loop"] == "1"
    assert mail["From"] == SUPPORT and mail["To"] == "jan@example.nl"
    assert mail["Reply-To"] == f"support+{TICKET_ID.lower()}@shop.example.nl"
    assert mail["Content-Language"] == "nl"
    assert mail.get_content().replace("\r\n", "\n") == "Hallo,\n\nUw pakket is onderweg.\n"


def test_the_answered_message_ends_the_references_even_when_listed_earlier():
    mail = outbound(references=("abc123@mail.example.nl", "later@shop.example.nl"))
    composed = compose_mail(mail, support_address=SUPPORT, local_id="01JDMSG0000000000000000000")
    assert headers_of(composed.raw)["References"] == "<later@shop.example.nl> <abc123@mail.example.nl>"


def test_a_first_mail_without_a_customer_message_id_has_no_threading_headers():
    composed = compose_mail(
        outbound(in_reply_to=None, references=()), support_address=SUPPORT, local_id="01JDMSG0000000000000000000"
    )
    mail = headers_of(composed.raw)
    assert mail["In-Reply-To"] is None and mail["References"] is None


def test_our_own_mail_coming_back_is_recognised_by_the_inbound_parser_and_threads_to_the_ticket():
    composed = compose_mail(outbound(), support_address=SUPPORT, local_id="01JDMSG0000000000000000000")
    parsed = parse_mail(composed.raw)
    assert parsed.automated_reason and "X-SupportPilot-Loop" in parsed.automated_reason
    assert tokens_in_subject(parsed.subject) == [TICKET_ID]
    assert plus_address_ticket([headers_of(composed.raw)["Reply-To"]], SUPPORT) == TICKET_ID


def test_an_operator_reply_is_not_marked_auto_submitted_but_still_carries_the_loop_marker():
    mail = headers_of(compose_mail(outbound(automated=False), support_address=SUPPORT, local_id="01JDM").raw)
    assert mail["Auto-Submitted"] is None
    assert mail["X-SupportPilot-Loop"] == "1"


def test_non_ascii_subject_and_body_survive_the_trip():
    mail = outbound(subject="Re: Bestelling café ü € [#SP-01JD0000000000000000000000]", body="Groetjes ☕\n")
    parsed = parse_mail(compose_mail(mail, support_address=SUPPORT, local_id="01JDM").raw)
    assert parsed.subject == "Re: Bestelling café ü € [#SP-01JD0000000000000000000000]"
    assert parsed.text == "Groetjes ☕"


@pytest.mark.parametrize(
    "original",
    [
        "Waar blijft mijn bestelling?",
        "Re: Waar blijft mijn bestelling?",
        "RE: Antw: re: Waar blijft mijn bestelling?",
        f"Re: [#SP-{TICKET_ID}] Waar blijft mijn bestelling?",
        f"AW: Waar blijft mijn bestelling? [#sp-{TICKET_ID.lower()}]",
    ],
)
def test_the_subject_gets_one_re_and_one_token(original):
    assert reply_subject(original, TICKET_ID, "Uw vraag") == f"Re: Waar blijft mijn bestelling? [#SP-{TICKET_ID}]"


def test_an_empty_subject_gets_the_fallback_and_the_token():
    assert reply_subject("  Re:  ", TICKET_ID, "Uw vraag") == f"Uw vraag [#SP-{TICKET_ID}]"


@pytest.mark.parametrize(("language", "expected"), [("nl", "nl"), ("en", "en"), ("de", "en"), (None, "en")])
def test_dutch_only_for_dutch_tickets_english_otherwise(language, expected):
    assert language_for(ticket(language)) == expected


def test_the_acknowledgement_is_in_the_customers_language_and_says_a_machine_wrote_it():
    dutch = acknowledgement("nl", ticket("nl"), SUPPORT)
    english = acknowledgement("en", ticket("en"), SUPPORT)
    assert "Bedankt voor uw bericht" in dutch and DISCLOSURE["nl"] in dutch and SUPPORT in dutch
    assert "Thank you for your message" in english and DISCLOSURE["en"] in english and SUPPORT in english
    assert f"[#SP-{TICKET_ID}]" in dutch


def test_the_order_status_reply_gives_reference_status_and_tracking_with_the_disclosure():
    order = OrderSummary(
        reference="#1001",
        source=Channel.SHOPIFY,
        delivery_status="in_transit",
        tracking_number="3STEST0000001",
        tracking_url="https://track.example.nl/3STEST0000001",
    )
    text = auto_reply("order_status_tracking", "nl", ticket("nl", [order]), SUPPORT)
    assert "bestelling #1001: deze is onderweg." in text
    assert "Track & trace-code: 3STEST0000001" in text
    assert "https://track.example.nl/3STEST0000001" in text
    assert DISCLOSURE["nl"] in text
    english = auto_reply("order_status_tracking", "en", ticket("en", [order]), SUPPORT)
    assert "order #1001: it is on its way." in english and DISCLOSURE["en"] in english


def test_an_unknown_delivery_status_is_named_rather_than_guessed():
    order = OrderSummary(reference="#1002", source=Channel.SHOPIFY, delivery_status="held_at_customs")
    assert "has the status 'held_at_customs'" in auto_reply(
        "order_status_tracking", "en", ticket("en", [order]), SUPPORT
    )


def test_the_order_status_reply_needs_a_known_order():
    with pytest.raises(TemplateNotApplicable):
        auto_reply("order_status_tracking", "en", ticket("en"), SUPPORT)


def test_an_unknown_template_is_a_programming_error():
    with pytest.raises(ValueError, match="no auto-reply template"):
        auto_reply("refund_promise", "en", ticket("en"), SUPPORT)


def test_an_operator_reply_goes_out_as_written_without_the_disclosure():
    text = operator_reply("  Hallo Jan, ik heb het voor u nagevraagd.  ")
    assert text == "Hallo Jan, ik heb het voor u nagevraagd.\n"
    assert all(disclosure not in text for disclosure in DISCLOSURE.values())
    with pytest.raises(ValueError):
        operator_reply("   ")

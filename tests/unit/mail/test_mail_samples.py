"""The sample mails in events/mail/ parse into what a support agent expects to see."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportpilot.mail.parse import parse_mail
from supportpilot.mail.threading import plus_address_ticket, tokens_in_subject

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "mail"
SAMPLE_NAMES = (
    "order_status_nl.eml",
    "html_only_en.eml",
    "windows1252_nl.eml",
    "reply_with_token_en.eml",
    "attachment_en.eml",
    "auto_reply_nl.eml",
    "bounce.eml",
    "truncated.eml",
)


def parse_sample(name: str):
    return parse_mail((SAMPLES / name).read_bytes())


def test_every_sample_has_a_unique_message_id():
    ids = [parse_sample(name).message_id for name in SAMPLE_NAMES]
    assert ids == [f"sample-{number}@mail.example.com" for number in range(1, 9)]


def test_dutch_order_question_is_clean_text_with_signature_apart():
    mail = parse_sample("order_status_nl.eml")
    assert mail.text.startswith("Hallo,\n\nIk heb op 1 juni bestelling #1001 geplaatst")
    assert mail.text.endswith("familie Voorbeeld-Één).")
    assert mail.signature == "Met vriendelijke groet,\n\nJan Voorbeeld\n+31 6 00000000"
    assert mail.quoted == ""
    assert mail.from_address == "jan.voorbeeld@example.nl"
    assert mail.from_name == "Jan Voorbeeld"
    assert mail.to_addresses == ("support@shop.example.nl",)
    assert mail.subject == "Waar blijft mijn bestelling #1001?"
    assert mail.date == datetime(2024, 6, 10, 7, 14, 3, tzinfo=UTC)
    assert mail.automated_reason is None
    assert mail.warnings == ()


def test_html_only_mail_becomes_text_with_blockquote_as_quote():
    mail = parse_sample("html_only_en.eml")
    assert mail.text == (
        "Hello,\n\n"
        "The kettle from order #1001 arrived yesterday, but it is defective: the switch won't stay on "
        "and the base gets very hot after a few seconds. I\u2019ve stopped using it.\n\n"
        "Details:\n\n"
        "- Model: Example Kettle 1.7 L\n"
        "- Bought: 28 May 2024\n\n"
        "Can you send a replacement, or should I return it first?"
    )
    assert mail.signature == "Thanks,\nAlex Example"
    assert mail.quoted.startswith("On Mon, 10 Jun 2024 at 10:15, Shop Support <support@shop.example.nl> wrote:")
    assert "> Good news: your order #1001 has been shipped" in mail.quoted
    assert "Track your parcel" in mail.quoted
    assert "https://" not in mail.quoted + mail.text
    assert "alert" not in mail.text and "margin" not in mail.text
    assert mail.in_reply_to == ("shipped-1001@shop.example.nl",)
    assert mail.from_address == "alex.example@example.com"


def test_windows_1252_mail_keeps_euro_sign_and_accents():
    mail = parse_sample("windows1252_nl.eml")
    assert "maar ik heb de € 49,95 nog steeds niet terug." in mail.text
    assert "het apparaat één keer flink lekte" in mail.text
    assert "Ik vind het niet reëel" in mail.text
    assert mail.subject == (
        "Terugbetaling retour cafetière #1001 nog niet ontvangen - wanneer krijg ik mijn geld terug?"
    )
    assert mail.from_name == "Jan Voorbeeld (Café De Hoek)"
    assert mail.signature == "Met vriendelijke groeten,\nJan Voorbeeld"
    assert mail.warnings == ()


def test_reply_links_to_ticket_and_hides_the_history():
    mail = parse_sample("reply_with_token_en.eml")
    assert tokens_in_subject(mail.subject) == ["01JD0000000000000000000000"]
    assert plus_address_ticket(mail.to_addresses, "support@shop.example.nl") == "01JD0000000000000000000000"
    assert mail.in_reply_to == ("reply-2@shop.example.nl",)
    assert mail.references == ("sample-2@mail.example.com", "reply-2@shop.example.nl")
    assert mail.text == (
        "Hi,\n\nThe serial number on the bottom of the kettle is KT-2000-123456. I still have\n"
        "the original box, so a pickup would work for me any weekday after 14:00."
    )
    assert mail.signature == "Best regards,\nAlex Example\n+31 6 00000000"
    assert mail.quoted.startswith("________________________________\nFrom: Shop Support")
    assert mail.quoted.endswith("> Thanks,\n> Alex Example")


def test_attachments_are_decoded_including_the_inline_photo():
    mail = parse_sample("attachment_en.eml")
    pdf, photo = mail.attachments
    assert (pdf.filename, pdf.content_type) == ("delivery-note-1001.pdf", "application/pdf")
    assert pdf.content is not None and pdf.content.startswith(b"%PDF-1.4")
    assert pdf.size == len(pdf.content)
    assert (photo.filename, photo.content_type) == ("damaged-box.png", "image/png")
    assert photo.content is not None and photo.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert mail.text.endswith("Could you send a new lid, or refund the pan?")
    assert mail.signature == "Kind regards,\nAlex Example"


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        ("auto_reply_nl.eml", "Auto-Submitted: auto-replied"),
        ("bounce.eml", "delivery status notification (multipart/report)"),
    ],
)
def test_machine_generated_mail_is_flagged(sample, reason):
    assert parse_sample(sample).automated_reason == reason


def test_auto_reply_text_is_still_readable():
    assert "Ik ben afwezig tot en met maandag 24 juni" in parse_sample("auto_reply_nl.eml").text


def test_truncated_mail_returns_the_text_part_with_warnings():
    mail = parse_sample("truncated.eml")
    assert mail.text == (
        "Hallo,\n\nIn bestelling #1001 zat een mok met een barst in het oor. Hierbij een foto.\n"
        "Kan ik een nieuwe krijgen?"
    )
    assert mail.signature == "Groetjes,\nJan"
    assert [attachment.filename for attachment in mail.attachments] == ["mok.png"]
    assert "mail is malformed: multipart closing boundary not found (mail may be truncated)" in mail.warnings

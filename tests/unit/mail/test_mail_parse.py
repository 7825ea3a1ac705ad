"""parse_mail on hand-built mails: charsets, structure, attachments, automated mail, hostile input."""

import base64

import pytest

from supportpilot.mail.parse import parse_mail

HEADERS = (
    "From: Jan Voorbeeld <Jan.Voorbeeld@Example.NL>\r\n"
    "To: support@shop.example.nl\r\n"
    "Subject: Vraag over bestelling #1001\r\n"
    "Message-ID: <test-1@mail.example.com>\r\n"
    "MIME-Version: 1.0\r\n"
)


def text_mail(body: bytes, content_type: str = "text/plain; charset=utf-8", encoding: str = "8bit") -> bytes:
    head = f"{HEADERS}Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
    return head.encode() + body


def mail_with_attachment(payload: bytes, filename: str = "big.zip") -> bytes:
    encoded = base64.encodebytes(payload).decode()
    return (
        f"{HEADERS}Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZie bijlage.\r\n"
        f'--b1\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename="{filename}"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b1--\r\n"
    ).encode()


# --- charsets ------------------------------------------------------------------------------------


def test_iso_8859_1_body_is_decoded():
    mail = parse_mail(text_mail("Caf\xe9 en re\xebel".encode("latin-1"), "text/plain; charset=iso-8859-1"))
    assert mail.text == "Café en reëel"
    assert mail.warnings == ()


def test_base64_utf8_body_is_decoded():
    body = base64.encodebytes("Prijs: € 49,95 — één keer".encode()).replace(b"\n", b"\r\n")
    assert parse_mail(text_mail(body, encoding="base64")).text == "Prijs: € 49,95 — één keer"


def test_body_declared_utf8_that_is_windows_1252_is_repaired():
    mail = parse_mail(text_mail("Terugbetaling van € 49,95 graag".encode("cp1252")))
    assert mail.text == "Terugbetaling van € 49,95 graag"
    assert mail.warnings == ("body declared utf-8 is not valid: decoded as windows-1252",)


def test_unknown_charset_falls_back_to_utf8_with_replacement():
    mail = parse_mail(text_mail("héllo".encode() + b"\x81", "text/plain; charset=x-foo"))
    assert mail.text == "héllo\ufffd"
    assert mail.warnings == ("unknown charset 'x-foo' decoded as utf-8 with replacement",)


def test_encoded_word_headers_are_decoded():
    raw = (
        b"From: =?utf-8?B?SsOpcsO0bWUgVm9vcmJlZWxk?= <j@example.nl>\r\n"
        b"Subject: =?windows-1252?Q?Retour_=80_49,95?=\r\n   =?utf-8?Q?_graag_terug?=\r\n\r\nhoi\r\n"
    )
    mail = parse_mail(raw)
    assert mail.from_name == "Jérôme Voorbeeld"
    assert mail.subject == "Retour € 49,95 graag terug"


def test_subject_whitespace_is_collapsed_and_missing_subject_is_empty():
    assert parse_mail(b"Subject:  Vraag \r\n\tover   retour\r\n\r\nx").subject == "Vraag over retour"
    assert parse_mail(b"From: a@example.com\r\n\r\nx").subject == ""


def test_raw_utf8_header_is_decoded():
    assert parse_mail("Subject: Bestelling één\r\n\r\nx".encode()).subject == "Bestelling één"


# --- structure -----------------------------------------------------------------------------------


def test_alternative_prefers_plain_text_over_html():
    raw = (
        f"{HEADERS}Content-Type: multipart/alternative; boundary=alt\r\n\r\n"
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain version\r\n"
        "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML version</p>\r\n--alt--\r\n"
    ).encode()
    assert parse_mail(raw).text == "Plain version"


def test_alternative_with_empty_plain_part_uses_html():
    raw = (
        f"{HEADERS}Content-Type: multipart/alternative; boundary=alt\r\n\r\n"
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n"
        "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Only here</p>\r\n--alt--\r\n"
    ).encode()
    assert parse_mail(raw).text == "Only here"


def test_nested_related_keeps_inline_image_as_attachment():
    png = base64.b64encode(b"\x89PNG fake").decode()
    raw = (
        f"{HEADERS}Content-Type: multipart/mixed; boundary=m\r\n\r\n"
        "--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
        "--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZie foto [image001.png]\r\n"
        "--a\r\nContent-Type: multipart/related; boundary=r\r\n\r\n"
        "--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Zie foto <img src=cid:x></p>\r\n"
        "--r\r\nContent-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <x>\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n--r--\r\n--a--\r\n--m--\r\n"
    ).encode()
    mail = parse_mail(raw)
    assert mail.text == "Zie foto [image001.png]"
    assert [(a.filename, a.content_type, a.content) for a in mail.attachments] == [
        ("attachment-1", "image/png", b"\x89PNG fake")
    ]


def test_text_part_with_filename_is_an_attachment_not_body():
    raw = (
        f"{HEADERS}Content-Type: multipart/mixed; boundary=m\r\n\r\n"
        "--m\r\nContent-Type: text/plain\r\n\r\nBody text\r\n"
        '--m\r\nContent-Type: text/plain; name="log.txt"\r\nContent-Disposition: inline; filename="log.txt"'
        "\r\n\r\nlog line\r\n--m--\r\n"
    ).encode()
    mail = parse_mail(raw)
    assert mail.text == "Body text"
    assert [(a.filename, a.content) for a in mail.attachments] == [("log.txt", b"log line")]


def test_rfc2231_and_encoded_word_filenames_are_decoded():
    raw = (
        f"{HEADERS}Content-Type: multipart/mixed; boundary=m\r\n\r\n"
        "--m\r\nContent-Type: text/plain\r\n\r\nx\r\n"
        "--m\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename*=utf-8''factuur%20%E2%82%AC%2049%2C95.pdf\r\n\r\nA\r\n"
        '--m\r\nContent-Type: application/pdf; name="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="\r\n\r\nB\r\n--m--\r\n'
    ).encode()
    assert [a.filename for a in parse_mail(raw).attachments] == ["factuur € 49,95.pdf", "résumé.pdf"]


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\\\Users\\\\jan\\\\foto.jpg", "foto.jpg"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("..", "attachment-1"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_attachment_filenames_are_sanitised(filename, expected):
    [attachment] = parse_mail(mail_with_attachment(b"data", filename)).attachments
    assert attachment.filename == expected


# --- attachment size limit -----------------------------------------------------------------------


def test_attachment_over_the_limit_is_left_out_with_a_warning():
    mail = parse_mail(mail_with_attachment(b"x" * 2048), max_attachment_bytes=1024)
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.size, attachment.content) == ("big.zip", 2048, None)
    assert mail.text == "Zie bijlage."
    assert mail.warnings == (
        "attachment 'big.zip' (2048 bytes) exceeds the 1024-byte limit: kept only in the raw mail",
    )


def test_attachment_at_the_limit_is_kept():
    [attachment] = parse_mail(mail_with_attachment(b"x" * 1024), max_attachment_bytes=1024).attachments
    assert attachment.content == b"x" * 1024


def test_default_limit_is_25_mib():
    mail = parse_mail(mail_with_attachment(bytes(26 * 1024 * 1024)))  # its speed: bench/parse_bench.py
    assert mail.attachments[0].content is None
    assert mail.warnings == (
        "attachment 'big.zip' (27262976 bytes) exceeds the 26214400-byte limit: kept only in the raw mail",
    )


def test_long_text_is_truncated_with_a_warning():
    mail = parse_mail(text_mail(b"a" * 500), max_text_chars=100)
    assert mail.text == "a" * 100
    assert mail.warnings == ("text of 500 characters truncated to 100",)


# --- automated mail ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "is_automated"),
    [
        ("Auto-Submitted: auto-generated", True),
        ("Auto-Submitted: no", False),
        ("Precedence: bulk", True),
        ("Precedence: junk", True),
        ("Precedence: list", True),
        ("Precedence: auto_reply", True),
        ("Precedence: first-class", False),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: Ik ben afwezig", True),
        ("X-Auto-Response-Suppress: OOF, AutoReply", True),
        ("X-Auto-Response-Suppress: All", True),
        ("X-Auto-Response-Suppress: DR, RN", False),
        ("Return-Path: <>", True),
        ("Return-Path: <jan@example.nl>", False),
        ("X-SupportPilot-Loop: 1", True),
    ],
)
def test_automated_headers(header, is_automated):
    mail = parse_mail(f"{header}\r\n{HEADERS}\r\nhallo\r\n".encode())
    assert (mail.automated_reason is not None) is is_automated


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@example.com", "postmaster@example.nl"])
def test_mail_system_senders_are_automated(sender):
    mail = parse_mail(f"From: {sender}\r\nSubject: Undeliverable\r\n\r\nfailed\r\n".encode())
    assert mail.automated_reason == "From is a mail system mailbox"


def test_normal_mail_is_not_automated():
    assert parse_mail(text_mail(b"Waar is mijn pakket?")).automated_reason is None


# --- headers -------------------------------------------------------------------------------------


def test_addresses_and_ids_are_normalised():
    raw = (
        b"From: Jan Voorbeeld <Jan.Voorbeeld@Example.NL>\r\n"
        b"To: Support <Support@Shop.Example.NL>, alex@example.com, not-an-address\r\n"
        b"Message-ID:  <ABC@mail.example.com> \r\n"
        b"In-Reply-To: <x1@shop.example.nl>\r\n"
        b"References: <x0@shop.example.nl>\r\n <x1@shop.example.nl> <x1@shop.example.nl>\r\n"
        b"Date: Mon, 3 Jun 2024 10:00:00 -0000\r\n\r\nhoi\r\n"
    )
    mail = parse_mail(raw)
    assert mail.from_address == "jan.voorbeeld@example.nl"
    assert mail.to_addresses == ("support@shop.example.nl", "alex@example.com")
    assert mail.message_id == "ABC@mail.example.com"
    assert mail.in_reply_to == ("x1@shop.example.nl",)
    assert mail.references == ("x0@shop.example.nl", "x1@shop.example.nl")
    assert mail.date is not None and mail.date.utcoffset() is not None


def test_unparseable_from_and_date_become_none():
    mail = parse_mail(b"From: @@@\r\nDate: yesterday-ish\r\n\r\nhoi\r\n")
    assert (mail.from_address, mail.from_name, mail.date) == (None, None, None)
    assert "Date header is unparseable" in mail.warnings


# --- hostile input -------------------------------------------------------------------------------


def test_empty_input():
    mail = parse_mail(b"")
    assert (mail.text, mail.subject, mail.message_id, mail.attachments) == ("", "", None, ())
    assert mail.warnings == ("mail is empty",)


def test_missing_header_body_separator_keeps_the_text():
    mail = parse_mail(b"Subject: hoi\r\nwaar is mijn pakket?\r\n")
    assert mail.subject == "hoi"
    assert mail.text == "waar is mijn pakket?"
    assert "mail is malformed: missing header/body separator" in mail.warnings


def test_binary_noise_does_not_raise():
    mail = parse_mail(bytes(range(256)) * 20)
    assert isinstance(mail.text, str)
    assert all(ch == "\n" or ch == "\t" or ch.isprintable() for ch in mail.text)


def test_deeply_nested_multiparts_do_not_raise():
    depth = 200
    raw = HEADERS.encode()
    for level in range(depth):
        raw += f"Content-Type: multipart/mixed; boundary=b{level}\r\n\r\n--b{level}\r\n".encode()
    raw += b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    assert "MIME nesting deeper than 20 levels ignored" in parse_mail(raw).warnings

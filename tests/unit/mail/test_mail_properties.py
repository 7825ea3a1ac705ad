"""Property tests: hostile bytes never make parse_mail raise, split_reply never loses text."""

from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportpilot.mail.parse import ParsedMail, parse_mail
from supportpilot.mail.text import html_to_text, split_reply

SAMPLE_MAILS = [
    path.read_bytes() for path in sorted((Path(__file__).resolve().parents[3] / "events" / "mail").glob("*.eml"))
]
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_well_formed(mail: ParsedMail) -> None:
    assert isinstance(mail, ParsedMail)
    assert all(isinstance(warning, str) and warning for warning in mail.warnings)
    assert all(attachment.size >= 0 for attachment in mail.attachments)


@FAST
@given(st.binary(max_size=2000))
def test_parse_mail_never_raises_on_arbitrary_bytes(raw):
    assert_well_formed(parse_mail(raw))


@st.composite
def mutated_samples(draw):
    raw = bytearray(draw(st.sampled_from(SAMPLE_MAILS)))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=12) | st.sampled_from([b"\r\n", b"--", b"=?", b"<", b"\x00"]))
        if action == "insert":
            raw[position:position] = chunk
        elif action == "delete":
            del raw[position : position + len(chunk)]
        else:
            raw[position : position + len(chunk)] = chunk
    return bytes(raw[: draw(st.integers(0, len(raw)))])


@FAST
@given(mutated_samples())
def test_parse_mail_never_raises_on_mutated_or_truncated_samples(raw):
    assert_well_formed(parse_mail(raw, max_attachment_bytes=64))


def non_whitespace_counts(text: str) -> Counter:
    return Counter(ch for ch in text if not ch.isspace())


mail_like_lines = st.lists(
    st.sampled_from(
        [
            "",
            "> quoted",
            ">",
            "-- ",
            "Thanks,",
            "Met vriendelijke groet,",
            "Jan Voorbeeld",
            "Sent from my iPhone",
            "On Mon, 3 Jun 2024 at 10:00, Shop <support@shop.example.nl> wrote:",
            "Op ma 3 jun 2024 om 10:00 schreef Shop <support@shop.example.nl>:",
            "-----Original Message-----",
            "From: a@example.com",
            "Sent: today",
            "Subject: x",
            "Dit e-mailbericht is uitsluitend bestemd voor de geadresseerde.",
            "Waar is mijn bestelling #1001?",
        ]
    )
    | st.text(max_size=40),
    max_size=30,
).map("\n".join)


@FAST
@given(st.one_of(st.text(max_size=500), mail_like_lines))
def test_split_reply_never_loses_characters(text):
    new_text, quoted, signature = split_reply(text)
    assert non_whitespace_counts(new_text + quoted + signature) == non_whitespace_counts(text)


@FAST
@given(st.text(alphabet=st.sampled_from("<>/!-&#;pbrdivlquote= \"'abc\n"), max_size=300))
def test_html_to_text_never_raises(html):
    assert isinstance(html_to_text(html), str)

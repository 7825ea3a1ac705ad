"""html_to_text and split_reply: what the agent sees as the customer's new words."""

import pytest

from supportpilot.mail.text import html_to_text, split_reply

# --- html_to_text --------------------------------------------------------------------------------


def test_html_blocks_breaks_lists_and_entities():
    html = (
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<p>Beste&nbsp;klantenservice,</p><div>Regel&nbsp;1<br>Regel 2</div>"
        "<ul><li>Mok &amp; schotel</li><li>Prijs: &euro; 9,95</li></ul>"
        "<script>var x = 1;</script><p>Zie <a href='https://example.com/x'>deze link</a>.</p>"
        "</body></html>"
    )
    assert html_to_text(html) == (
        "Beste klantenservice,\n\nRegel 1\nRegel 2\n- Mok & schotel\n- Prijs: € 9,95\n\nZie deze link."
    )


def test_html_whitespace_is_collapsed_but_pre_is_kept():
    html = "<p>a\n   lot   of\tspace</p><pre>  code\n    indented</pre>"
    assert html_to_text(html) == "a lot of space\n\n  code\n    indented"


def test_html_blockquote_becomes_quote_lines():
    earlier = "<blockquote><p>Eerder bericht</p><blockquote>Nog eerder</blockquote></blockquote>"
    html = f"<div>Mijn antwoord</div>{earlier}"
    assert html_to_text(html) == "Mijn antwoord\n\n> Eerder bericht\n>\n> > Nog eerder"


def test_html_blank_lines_are_collapsed():
    assert html_to_text("<p>a</p><p></p><p></p><br><br><br><p>b</p>") == "a\n\nb"


@pytest.mark.parametrize("html", ["", "<", "<!", "<![if", "</", "<a href='", "<!--", "&#xffffffff;", "<p"])
def test_broken_html_does_not_raise(html):
    assert isinstance(html_to_text(html), str)


# --- quotes --------------------------------------------------------------------------------------


def test_top_posted_reply_with_quote_prefix_lines():
    attribution = "On Mon, 3 Jun 2024 at 10:00, Shop <support@shop.example.nl> wrote:"
    text = f"Ja, dat klopt.\n\n{attribution}\n> Klopt het adres?\n"
    assert split_reply(text) == (
        "Ja, dat klopt.",
        f"{attribution}\n> Klopt het adres?",
        "",
    )


def test_attribution_wrapped_over_two_lines():
    text = (
        "Prima, dank je.\n\nOn Mon, 3 Jun 2024 at 10:00, Shop Support <\nsupport@shop.example.nl> wrote:\n\n"
        "Earlier message without prefixes\n"
    )
    new_text, quoted, _ = split_reply(text)
    assert new_text == "Prima, dank je."
    assert quoted.startswith("On Mon, 3 Jun 2024") and quoted.endswith("without prefixes")


@pytest.mark.parametrize(
    "attribution",
    [
        "Op ma 3 jun. 2024 om 10:00 schreef Shop Support <support@shop.example.nl>:",
        "Op 3 jun. 2024, om 10:00 heeft Shop Support <support@shop.example.nl> het volgende geschreven:",
        "Shop Support schreef op 3 juni 2024 10:00:",
    ],
)
def test_dutch_and_flemish_attributions(attribution):
    text = f"Het pakket is nog niet binnen.\n\n{attribution}\nUw pakket is verzonden.\n"
    assert split_reply(text) == (
        "Het pakket is nog niet binnen.",
        f"{attribution}\nUw pakket is verzonden.",
        "",
    )


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Oorspronkelijk bericht-----",
        "---------- Forwarded message ---------",
        "-------- Doorgestuurd bericht --------",
    ],
)
def test_outlook_and_forward_separators(separator):
    text = f"Zie hieronder.\n\n{separator}\nFrom: Alex <alex@example.com>\nOude tekst\n"
    assert split_reply(text) == (
        "Zie hieronder.",
        f"{separator}\nFrom: Alex <alex@example.com>\nOude tekst",
        "",
    )


@pytest.mark.parametrize(
    "header_block",
    [
        "From: Shop <support@shop.example.nl>\nSent: Tuesday, June 4, 2024 9:12\nTo: Alex\nSubject: RE: x",
        "Van: Shop <support@shop.example.nl>\nVerzonden: dinsdag 4 juni 2024 09:12\nAan: Jan\nOnderwerp: x",
    ],
)
def test_outlook_header_blocks(header_block):
    text = f"Bedankt voor de snelle reactie.\n\n{header_block}\n\nEerdere tekst.\n"
    assert split_reply(text) == ("Bedankt voor de snelle reactie.", f"{header_block}\n\nEerdere tekst.", "")


def test_whole_mail_is_a_forward():
    text = "---------- Forwarded message ---------\nFrom: Alex <alex@example.com>\nDate: Mon\n\nHallo\n"
    new_text, quoted, signature = split_reply(text)
    assert (new_text, signature) == ("", "")
    assert quoted.endswith("Hallo")


def test_interleaved_answers_below_quotes_stay_in_the_text():
    text = (
        "On Mon, 3 Jun 2024, Shop wrote:\n> Wat is het ordernummer?\n\n#1001\n\n"
        "> En het adres?\n\nDorpsstraat 1, Voorbeeld\n"
    )
    new_text, quoted, _ = split_reply(text)
    assert new_text == "#1001\n\nDorpsstraat 1, Voorbeeld"
    assert quoted == "On Mon, 3 Jun 2024, Shop wrote:\n> Wat is het ordernummer?\n> En het adres?"


def test_a_line_mentioning_from_is_not_a_header_block():
    text = "From: my neighbour I heard the parcel was left outside.\nSubject to your policy I want a refund.\n"
    assert split_reply(text) == (text.strip(), "", "")


# --- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sign_off",
    [
        "Met vriendelijke groet,",
        "Met vriendelijke groeten",
        "Vriendelijke groeten,",
        "Mvg",
        "Groetjes!",
        "Kind regards,",
        "Best regards",
        "Regards,",
        "Thanks,",
    ],
)
def test_sign_off_followed_by_short_lines_is_a_signature(sign_off):
    text = f"Waar is mijn bestelling #1001?\n\n{sign_off}\nJan Voorbeeld\n+31 6 00000000\n"
    assert split_reply(text) == (
        "Waar is mijn bestelling #1001?",
        "",
        f"{sign_off}\nJan Voorbeeld\n+31 6 00000000",
    )


def test_sign_off_followed_by_a_real_paragraph_stays_in_the_text():
    text = (
        "Mijn pakket is beschadigd aangekomen.\n\nThanks,\n"
        "but actually I also noticed that the second mug in the box has a crack along the handle, so "
        "please send two replacements instead of one.\n\nAlex"
    )
    assert split_reply(text) == (text, "", "")


def test_a_lone_thank_you_is_the_message_not_a_signature():
    assert split_reply("Thanks!\nAlex") == ("Thanks!\nAlex", "", "")


@pytest.mark.parametrize(
    "device_line",
    [
        "Sent from my iPhone",
        "Verzonden vanaf mijn iPhone",
        "Verstuurd vanaf mijn Samsung Galaxy-smartphone.",
        "Outlook voor iOS downloaden<https://aka.ms/o0ukef>",
        "Download Outlook for Android<https://aka.ms/ghei36>",
    ],
)
def test_mobile_signatures(device_line):
    assert split_reply(f"Is het al verzonden?\n\n{device_line}\n") == (
        "Is het al verzonden?",
        "",
        device_line,
    )


def test_rfc_3676_delimiter():
    text = "Graag een factuur.\n-- \nJan Voorbeeld\nVoorbeeld B.V.\nKvK 00000000\nwww.example.nl\nextra\nmore\n"
    new_text, quoted, signature = split_reply(text)
    assert (new_text, quoted) == ("Graag een factuur.", "")
    assert signature == "--\nJan Voorbeeld\nVoorbeeld B.V.\nKvK 00000000\nwww.example.nl\nextra\nmore"


@pytest.mark.parametrize(
    "disclaimer",
    [
        "This e-mail and any attachments are confidential and may be privileged. If you are not the "
        "intended recipient, please notify the sender and delete it.",
        "Dit e-mailbericht is uitsluitend bestemd voor de geadresseerde(n). Indien u dit bericht "
        "onterecht ontvangt, wordt u verzocht de inhoud niet te gebruiken.",
    ],
)
def test_legal_disclaimers(disclaimer):
    text = f"Graag een retourlabel.\n\nMet vriendelijke groet,\nJan Voorbeeld\n\n{disclaimer}\n"
    assert split_reply(text) == (
        "Graag een retourlabel.",
        "",
        f"Met vriendelijke groet,\nJan Voorbeeld\n\n{disclaimer}",
    )


def test_signature_before_the_quoted_history():
    text = (
        "Ja graag.\n\nGroetjes,\nJan\n\nVerzonden vanaf mijn iPhone\n\n"
        "Op 3 jun. 2024 om 10:00 schreef Shop <support@shop.example.nl>:\n> Wilt u een nieuwe mok?\n"
    )
    new_text, quoted, signature = split_reply(text)
    assert new_text == "Ja graag."
    assert signature == "Groetjes,\nJan\n\nVerzonden vanaf mijn iPhone"
    assert quoted.startswith("Op 3 jun. 2024") and quoted.endswith("> Wilt u een nieuwe mok?")


def test_text_without_quote_or_signature_is_unchanged():
    assert split_reply("  Waar blijft mijn pakket?\r\n") == ("Waar blijft mijn pakket?", "", "")


@pytest.mark.parametrize(
    "text",
    [
        "Op 1 juni schreef ik jullie al het volgende:\nde mok is kapot.",
        "On Monday my husband wrote:\nplease cancel.",
    ],
)
def test_customer_sentences_resembling_attributions_stay_in_the_text(text):
    assert split_reply(text) == (text, "", "")


def test_attribution_right_below_a_sentence_does_not_swallow_it():
    text = "Het pakket is nog niet binnen.\nShop schreef op 3 juni 2024 10:00:\nUw pakket is verzonden."
    assert split_reply(text) == (
        "Het pakket is nog niet binnen.",
        "Shop schreef op 3 juni 2024 10:00:\nUw pakket is verzonden.",
        "",
    )


def test_absurdly_nested_blockquotes_stay_bounded():
    lines = html_to_text("<blockquote>" * 5000 + "diep").split("\n")
    assert lines == ["> " * 9 + "> diep"]

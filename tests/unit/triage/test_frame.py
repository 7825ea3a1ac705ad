"""What every triager's results share (`triage/frame.py`), whatever the model said."""

import pytest

from supportpilot.triage import TriageInput
from supportpilot.triage.frame import Classification, triage_message
from supportpilot.triage.interface import OUT_OF_SCOPE, REASON_NO_BODY, REASON_NO_REQUEST, REASON_PRIVACY


class SureModel:
    """A model that is sure of one category, whatever the text."""

    name, version = "sure", "1"

    def __init__(self, category: str):
        self.category = category

    def triage(self, message: TriageInput):
        return triage_message(self, message, self.classify)

    def classify(self, text: str) -> Classification:
        return Classification(self.category, 0.97, f"drove '{self.category}': 'paket'")


GERMAN = TriageInput(body="Guten Tag, wo ist mein Paket? Ich warte schon zwei Wochen darauf.")


def test_a_category_in_an_unsupported_language_is_a_best_guess_for_a_person():
    result = SureModel("order_status").triage(GERMAN)

    assert result.language == "de"
    assert result.category == OUT_OF_SCOPE
    assert result.needs_human and result.reasons == ["unsupported language: de"]
    assert (
        result.explanation
        == "unsupported language: de: best guess 'order_status' (0.97); drove 'order_status': 'paket'"
    )


def test_a_privacy_request_in_an_unsupported_language_still_goes_to_the_privacy_desk():
    result = SureModel("privacy_request").triage(GERMAN)

    assert result.category == OUT_OF_SCOPE
    assert REASON_PRIVACY in result.reasons


def test_a_category_in_a_supported_language_stands():
    result = SureModel("order_status").triage(
        TriageInput(body="Goedendag, waar blijft mijn pakket? Ik wacht al twee weken.")
    )

    assert result.language == "nl"
    assert (result.category, result.needs_human) == ("order_status", False)


def test_a_thank_you_quoting_an_angry_mail_carries_no_load_of_its_own():
    reply = TriageInput(
        subject="Re: Uw bestelling",
        body="Top, het pakket is binnen. Bedankt voor de snelle hulp!\n\n"
        "Op ma 23 nov 2026 om 10:12 schreef klant@example.nl:\n"
        "> DIT IS DE DERDE KEER DAT IK MAIL!!! Belachelijk, ik stap naar de Consumentenbond.",
    )

    result = SureModel("order_status").triage(reply)

    assert (result.emotional_load, result.high_emotional_load, result.needs_human) == (0.0, False, False)


def test_a_reply_is_in_the_language_of_its_own_words_not_of_the_quoted_mail():
    quoted = (
        "\n\nOp ma 23 nov 2026 om 10:12 schreef support@example.nl:\n"
        "> Beste klant, wij hebben uw bestelling opnieuw verzonden. U ontvangt morgen een track en trace code."
    )

    english = SureModel("order_status").triage(TriageInput(body="Thanks, that worked, much appreciated." + quoted))
    too_short_to_tell = SureModel("order_status").triage(TriageInput(body="Ok!" + quoted))
    yes = SureModel("order_status").triage(TriageInput(body="Ja" + quoted))  # "ja" is Portuguese too

    assert english.language == "en"
    assert too_short_to_tell.language == "nl"
    assert (yes.language, yes.category, yes.needs_human) == ("nl", "order_status", False)


def test_a_name_that_is_a_word_of_another_language_does_not_make_the_message_foreign():
    def triage(name: str):
        return SureModel("order_status").triage(TriageInput(body=f"Pakket kwijt. Groetjes, {name}"))

    for name in ("Mia", "Nur"):  # an Italian and a German stopword
        assert triage(name) == triage("Anna")


QUOTED_ANSWER = (
    "Op ma 23 nov 2026 om 10:12 schreef support@example.nl:\n"
    "> Beste klant, uw pakket is onderweg. U ontvangt morgen een track en trace code."
)


def test_a_subject_or_a_quoted_mail_alone_goes_to_a_person_with_the_category_kept():
    subject_only = SureModel("order_status").triage(TriageInput(subject="Waar blijft mijn bestelling?"))
    only_quoted = SureModel("order_status").triage(TriageInput(subject="Re: Uw bestelling", body=QUOTED_ANSWER))
    no_subject = SureModel("order_status").triage(TriageInput(body=QUOTED_ANSWER))

    for result in (subject_only, only_quoted, no_subject):
        assert (result.category, result.needs_human, result.reasons) == ("order_status", True, [REASON_NO_BODY])


def test_a_body_with_words_of_its_own_needs_no_person_for_that():
    reply = TriageInput(subject="Re: Uw bestelling", body="Nog steeds niets ontvangen.\n\n" + QUOTED_ANSWER)

    result = SureModel("order_status").triage(reply)

    assert (result.needs_human, result.reasons) == (False, [])


def test_a_message_switching_between_dutch_and_english_goes_to_a_person_in_its_main_language():
    body = (
        "Hello, sorry my Dutch is not so good. Ik heb vorige week een jas besteld en die is nog steeds niet "
        "binnen. Kunnen jullie kijken waar het pakket is?"
    )

    result = SureModel("order_status").triage(TriageInput(body=body))

    assert (result.category, result.language) == ("order_status", "nl")
    assert result.needs_human and result.reasons == ["mixed languages: nl, en"]


def test_english_words_in_dutch_sentences_are_no_mix():
    body = (
        "Hoi, de track and trace link werkt niet en mijn order staat nog op processing. "
        "Kan ik een refund krijgen als het deze week niet komt? Sorry voor de haast!"
    )

    result = SureModel("order_status").triage(TriageInput(body=body))

    assert (result.language, result.needs_human) == ("nl", False)


@pytest.mark.parametrize(
    "body",
    [
        "Bedankt!",
        "Hallo",
        "Oké, top, dank je wel \U0001f44d",
        "Dank u wel voor de snelle reactie, meneer Jansen!",
        "Great, that worked. Thanks!",
        "Hi there",
        "Kind regards,\nJ. Voorbeeld",
    ],
)
def test_a_message_that_asks_nothing_goes_to_a_person_without_a_guessed_category(body):
    """A model reads some category into "Bedankt!"; the frame does not ask it."""
    result = SureModel("product_question").triage(TriageInput(body=body))

    assert (result.category, result.confidence) == (OUT_OF_SCOPE, 0.0)
    assert result.needs_human and result.reasons == [REASON_NO_REQUEST]


@pytest.mark.parametrize(
    "body",
    [
        "Bedankt, maar waar blijft mijn pakket?",
        "Thanks. Reply please",
        "Hallo, ik heb een vraag",
        "Hi, where is it?",
        "Help!",
        "Hallo??",
    ],
)
def test_thanks_with_a_request_is_classified(body):
    result = SureModel("order_status").triage(TriageInput(body=body))

    assert result.category == "order_status" and REASON_NO_REQUEST not in result.reasons


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Re: Waar blijft mijn pakket?", "Top, bedankt voor de snelle hulp!"),
        ("Antw: Retour 12345", "Dank je wel!\n\nOp ma 3 mei 2026 om 10:00 schreef Webshop <info@example.nl>:\n> Ok."),
        ("RE: When will my jacket arrive?", "Thanks!\n\nTom"),
    ],
)
def test_a_thank_you_reply_asks_nothing_whatever_its_subject_repeats(subject, body):
    result = SureModel("order_status").triage(TriageInput(subject=subject, body=body))

    assert result.category == OUT_OF_SCOPE and result.reasons == [REASON_NO_REQUEST]


def test_a_thank_you_with_a_subject_is_read_with_its_subject():
    result = SureModel("refund").triage(TriageInput(subject="Terugbetaling order 12345", body="Bedankt!"))

    assert result.category == "refund" and REASON_NO_REQUEST not in result.reasons

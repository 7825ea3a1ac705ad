"""What every triager's results share (`triage/frame.py`), whatever the model said."""

from supportpilot.triage import TriageInput
from supportpilot.triage.frame import Classification, triage_message
from supportpilot.triage.interface import OUT_OF_SCOPE, REASON_PRIVACY


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

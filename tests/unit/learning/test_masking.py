"""The one masking function for training texts: personal data out, what the message is about kept."""

import pytest

from supportpilot.learning.masking import mask_personal_data


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        ("Mail me at jan.voorbeeld@example.nl please", "jan.voorbeeld", "<email>"),
        ("Bel me op +31 6 0000 0000 of 06-00000000.", "0000", "<phone>"),
        ("Mijn adres is Kerkstraat 12, 1234 AB Utrecht", "Kerkstraat", "<address>"),
        ("I live at 12 Example Street, London", "Example Street", "<address>"),
        ("Graag terugstorten op NL00 TEST 0123 4567 89", "0123", "<iban>"),
        ("Waar blijft bestelling 100482?", "100482", "<order>"),
        ("My order #A-20931 never came", "20931", "<order>"),
        ("Hoi Jan,\nwaar blijft mijn pakket?", "Jan", "Hoi <name>"),
        ("Dear Mr Smith, where is my parcel?", "Smith", "<name>"),
        ("Waar blijft het?\n\nMet vriendelijke groet,\nJ. de Vries", "Vries", "<name>"),
        ("Where is it? Regards, John", "John", "<name>"),
    ],
)
def test_personal_data_is_replaced_by_a_placeholder(text, gone, kept):
    masked = mask_personal_data(text)
    assert gone not in masked and kept in masked


def test_what_the_message_is_about_stays():
    text = "Waar blijft mijn pakket? Ik heb het op 3 maart besteld voor 49,95 euro."
    assert mask_personal_data(text) == text

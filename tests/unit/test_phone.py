import pytest

from supportpilot.phone import normalise_phone


@pytest.mark.parametrize(
    "written",
    ["+31 6 0000 0001", "06-0000 0001", "0031 6 00000001", "+31 (0)6 0000 0001", "tel:+31600000001", "31600000001"],
)
def test_one_dutch_mobile_number_written_six_ways_is_one_e164_number(written):
    assert normalise_phone(written) == "+31600000001"


def test_a_national_number_takes_the_shops_country_code():
    assert normalise_phone("030 000 0000", country_code="32") == "+32300000000"


@pytest.mark.parametrize("text", ["", "call me", "12", "+0 600", "anne@example.nl", "+31 6 0000 0000 0000 0000"])
def test_what_is_no_phone_number_gives_none(text):
    assert normalise_phone(text) is None

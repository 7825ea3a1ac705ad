"""Phone numbers in E.164 (`+31600000000`), so one number written three ways is one customer.

A small normaliser instead of the `phonenumbers` library (~50 MB of metadata in every Lambda that
matches callers): it does not check numbering plans, it only makes the writings of one number equal.
National numbers (a leading 0) get the shop's country code.
"""

from supportpilot.regex_store import compiled

DEFAULT_COUNTRY_CODE = "31"
_SEPARATORS = compiled(r"[\s().\-/]")
_E164 = compiled(r"^\+[1-9][0-9]{7,14}$")


def normalise_phone(raw: str, country_code: str = DEFAULT_COUNTRY_CODE) -> str | None:
    """E.164 form of `raw`, or None when it is no phone number. "(0)" after a country code is dropped."""
    text = raw.strip().replace("(0)", "")
    if text.lower().startswith("tel:"):
        text = text[4:]
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.startswith("0"):
        text = f"+{country_code}{text[1:]}"
    elif not text.startswith("+") and text.isdigit() and text.startswith(country_code):
        text = "+" + text
    return text if _E164.match(text) else None

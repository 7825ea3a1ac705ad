"""Masking of personal data in message texts that become training examples.

One function, `mask_personal_data`: what a model may learn from ("my parcel from order <order> has not
arrived") stays; who wrote it, where they live and how to reach them does not. The placeholders match
the ones the triage features already normalise to (`<email>`, `<order>`, `<num>`), so a masked text
scores like the original.
"""

import re

from supportpilot.regex_store import compiled

_EMAIL = compiled(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = compiled(r"https?://\S+")
_IBAN = compiled(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b")
_PHONE = compiled(r"(?<![\w#])(?:\+|00)\d{1,3}[\s./-]?(?:\(0\))?(?:\d[\s./-]?){7,11}\d\b|\b0\d(?:[\s./-]?\d){8}\b")
_ORDER = compiled(
    r"(?i)\b(?:order(?:nummer|nr|number|no)?|bestel(?:ling|nummer|nr)?|ordernr|factuur(?:nummer)?|invoice)"
    r"(?:\s*(?:nr|no|number|nummer)\.?)?[\s:.#-]*([A-Z]{0,4}-?\d[\d-]{2,})"
)
_HASH_NUMBER = compiled(r"#\s?[A-Z]{0,4}-?\d{3,}")
_POSTCODE = compiled(r"\b\d{4}\s?[A-Z]{2}\b")
_STREET = compiled(
    r"(?i)\b[A-Z][\w'-]*(?:straat|laan|weg|plein|gracht|kade|singel|dijk|steeg|pad|hof|dreef|lei|street|road|avenue|"
    r"lane|drive)\s+\d+\s?[a-z]?\b|\b\d+\s+[A-Z][a-z]+\s+(?:Street|Road|Avenue|Lane|Drive|St|Rd|Ave)\b"
)
_NAME = r"[A-Z][a-z'\u00c0-\u017f-]+|[A-Z]\."
_NAMES = rf"(?:(?:{_NAME})\s*){{1,3}}(?:(?:van|de|der|den|te|ter|von)\s+)*(?:{_NAME})?"
_GREETING = compiled(
    rf"(?m)\b(?P<lead>(?:Hoi|Hallo|Hey|Hi|Hello|Beste|Geachte|Dear|Goedemiddag|Goedemorgen|Dag)"
    rf"(?:\s+(?:heer|mevrouw|meneer|Mr\.?|Mrs\.?|Ms\.?|Mevr\.?|Dhr\.?))?)\s+(?P<name>{_NAMES})(?=\s*[,!\n]|$)"
)
_SIGN_OFF = compiled(
    rf"(?im)^(?P<lead>.*\b(?:groet(?:en|jes)?|regards|cheers|thanks|bedankt|dank je|mvg|gr\.?|sincerely|"
    rf"vriendelijke groet)[,!.]?)\s*\n+\s*(?P<name>{_NAMES})\s*$"
)
_SIGNED_SAME_LINE = compiled(
    rf"(?im)\b(?P<lead>(?:groet(?:en|jes)?|regards|cheers|mvg|gr\.?),)\s+(?P<name>{_NAMES})\s*$"
)


def _name(match: re.Match) -> str:
    return f"{match.group('lead')} <name>"


def _sign_off(match: re.Match) -> str:
    return f"{match.group('lead')}\n<name>"


def mask_personal_data(text: str) -> str:
    """The text with addresses, phone numbers, order/IBAN-like numbers and names in greetings replaced."""
    text = _URL.sub("<url>", text)
    text = _EMAIL.sub("<email>", text)
    text = _IBAN.sub("<iban>", text)
    text = _ORDER.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + "<order>", text)
    text = _HASH_NUMBER.sub("<order>", text)
    text = _PHONE.sub("<phone>", text)
    text = _STREET.sub("<address>", text)
    text = _POSTCODE.sub("<postcode>", text)
    text = _GREETING.sub(_name, text)
    text = _SIGN_OFF.sub(_sign_off, text)
    text = _SIGNED_SAME_LINE.sub(_name, text)
    return text

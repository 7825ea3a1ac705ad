"""Plain-text mail to customers, in Dutch or English. Every automated text says a machine wrote it
and how to reach a person; the texts greet nobody by name and quote nothing the customer wrote."""

from collections.abc import Callable
from typing import Literal

from supportpilot.mail.threading import ticket_token
from supportpilot.models import Ticket

Language = Literal["nl", "en"]

DISCLOSURE: dict[Language, str] = {
    "nl": (
        "Dit bericht is geschreven door onze geautomatiseerde assistent. Wilt u een medewerker spreken? "
        "Beantwoord dan deze e-mail."
    ),
    "en": "This message was written by our automated assistant. To reach a person, simply reply to this email.",
}
_CONTACT: dict[Language, str] = {
    "nl": "U kunt ons ook altijd mailen via {address}.",
    "en": "You can also always write to us at {address}.",
}
_GREETING: dict[Language, str] = {"nl": "Hallo,", "en": "Hello,"}
_SIGN_OFF: dict[Language, str] = {
    "nl": "Met vriendelijke groet,\nDe klantenservice",
    "en": "Kind regards,\nCustomer service",
}
_FALLBACK_SUBJECT: dict[Language, str] = {
    "nl": "Uw vraag aan onze klantenservice",
    "en": "Your request to our customer service",
}
_ACKNOWLEDGEMENT: dict[Language, str] = {
    "nl": (
        "Bedankt voor uw bericht. We hebben uw vraag ontvangen en komen zo snel mogelijk bij u terug. "
        "Uw referentie is {token}; laat die in het onderwerp staan als u ons hierover schrijft."
    ),
    "en": (
        "Thank you for your message. We have received your request and will get back to you as soon as "
        "possible. Your reference is {token}; please keep it in the subject when you write to us about this."
    ),
}
_ORDER_STATUS: dict[Language, str] = {
    "nl": "Bedankt voor uw bericht. Dit is de laatste stand van uw bestelling {reference}: deze {status}.",
    "en": "Thank you for your message. Here is the latest on your order {reference}: it {status}.",
}
_DELIVERY_STATUS: dict[Language, dict[str | None, str]] = {
    "nl": {
        None: "is bij ons geregistreerd",
        "unfulfilled": "wordt klaargemaakt voor verzending",
        "in_transit": "is onderweg",
        "delivered": "is bezorgd",
        "cancelled": "is geannuleerd",
        "returned": "is retour ontvangen",
    },
    "en": {
        None: "is registered with us",
        "unfulfilled": "is being prepared for shipping",
        "in_transit": "is on its way",
        "delivered": "has been delivered",
        "cancelled": "has been cancelled",
        "returned": "has been returned to us",
    },
}
_UNKNOWN_STATUS: dict[Language, str] = {"nl": "heeft de status '{status}'", "en": "has the status '{status}'"}
_TRACKING_NUMBER: dict[Language, str] = {"nl": "Track & trace-code: {number}", "en": "Tracking number: {number}"}
_TRACKING_URL: dict[Language, str] = {"nl": "Volg uw pakket: {url}", "en": "Track your parcel: {url}"}


class TemplateNotApplicable(ValueError):
    """The ticket lacks what the template needs (e.g. no known order); retrying will not help."""


def language_for(ticket: Ticket) -> Language:
    return "nl" if ticket.language == "nl" else "en"


def fallback_subject(language: Language) -> str:
    return _FALLBACK_SUBJECT[language]


def _automated_mail(language: Language, paragraphs: list[str], support_address: str) -> str:
    disclosure = f"{DISCLOSURE[language]}\n{_CONTACT[language].format(address=support_address)}"
    return "\n\n".join([_GREETING[language], *paragraphs, disclosure, _SIGN_OFF[language]]) + "\n"


def acknowledgement(language: Language, ticket: Ticket, support_address: str) -> str:
    paragraph = _ACKNOWLEDGEMENT[language].format(token=ticket_token(ticket.id))
    return _automated_mail(language, [paragraph], support_address)


def _status_phrase(language: Language, status: str | None) -> str:
    known = _DELIVERY_STATUS[language]
    return known[status] if status in known else _UNKNOWN_STATUS[language].format(status=status)


def order_status_tracking(language: Language, ticket: Ticket, support_address: str) -> str:
    if ticket.profile is None or not ticket.profile.orders:
        raise TemplateNotApplicable("no order is known for this customer")
    order = ticket.profile.orders[0]  # newest first
    status = _status_phrase(language, order.delivery_status)
    lines = [_ORDER_STATUS[language].format(reference=order.reference, status=status)]
    if order.tracking_number:
        lines.append(_TRACKING_NUMBER[language].format(number=order.tracking_number))
    if order.tracking_url:
        lines.append(_TRACKING_URL[language].format(url=order.tracking_url))
    return _automated_mail(language, ["\n".join(lines)], support_address)


def operator_reply(text: str) -> str:
    """A person's words go out as written: no disclosure, no template around them."""
    if not text.strip():
        raise ValueError("an operator reply needs text")
    return text.strip() + "\n"


AUTO_REPLY_TEMPLATES: dict[str, Callable[[Language, Ticket, str], str]] = {
    "order_status_tracking": order_status_tracking,
}


def auto_reply(template: str | None, language: Language, ticket: Ticket, support_address: str) -> str:
    render = AUTO_REPLY_TEMPLATES.get(template or "")
    if render is None:
        raise ValueError(f"no auto-reply template named {template!r}")
    return render(language, ticket, support_address)

"""Customer satisfaction: a signed rating link in replies, and one 1-5 vote per ticket.

The link carries `<ticket id>.<expiry (unix seconds)>.<HMAC-SHA256>`; the key is a secret in Secrets
Manager (`CsatSigningSecret`). Opening the link (GET) only shows the choices, because mail scanners
open links; the vote is a POST, recorded with a conditional write so a ticket is rated once. A forged,
malformed or expired link, or a second vote, records nothing.
"""

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape
from typing import Any, Literal, Protocol

from supportpilot import desk_metrics
from supportpilot.models import CsatVote, Ticket, utc_now
from supportpilot.ports import TicketNotFound
from supportpilot.regex_store import compiled

MIN_KEY_BYTES = 32
_PURPOSE = b"supportpilot-csat-v1:"
_TOKEN = compiled(r"^(?P<ticket>[0-9A-Za-z]{1,64})\.(?P<expires>[0-9]{1,12})\.(?P<signature>[A-Za-z0-9_-]{43})$")
Language = Literal["nl", "en"]


class LinkInvalid(Exception):
    """Not a link this desk signed (forged, altered or malformed)."""


class LinkExpired(Exception):
    """A genuine link past its expiry."""


class AlreadyRated(Exception):
    """The ticket has its vote already."""


class CsatStore(Protocol):
    def get_ticket(self, ticket_id: str) -> Ticket: ...
    def record_csat(self, ticket_id: str, vote: CsatVote) -> bool:
        """Stores the vote unless the ticket has one; False when it had (nothing changes)."""
        ...


def _signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, _PURPOSE + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class CsatSigner:
    def __init__(self, key: bytes, valid_days: int = 30, clock: Callable[[], datetime] = utc_now):
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the CSAT signing key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self._valid = timedelta(days=valid_days)
        self._clock = clock

    @classmethod
    def from_secret(cls, document: Any, valid_days: int = 30) -> "CsatSigner":
        """From the secret's JSON document `{"signing_key": "..."}`."""
        key = document.get("signing_key") if isinstance(document, dict) else None
        if not isinstance(key, str):
            raise ValueError("the CSAT secret has no signing_key")
        return cls(key.encode(), valid_days)

    def token(self, ticket_id: str) -> str:
        payload = f"{ticket_id}.{int((self._clock() + self._valid).timestamp())}"
        return f"{payload}.{_signature(self._key, payload)}"

    def ticket_of(self, token: str) -> str:
        """The ticket id of a genuine, unexpired token; LinkInvalid or LinkExpired otherwise."""
        found = _TOKEN.match(token)
        if found is None:
            raise LinkInvalid("malformed rating link")
        payload = f"{found['ticket']}.{found['expires']}"
        if not hmac.compare_digest(_signature(self._key, payload), found["signature"]):
            raise LinkInvalid("the rating link's signature does not match")
        if int(found["expires"]) < self._clock().timestamp():
            raise LinkExpired("the rating link has expired")
        return found["ticket"]


def rating_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{token}"


class CsatService:
    def __init__(self, signer: CsatSigner, store: CsatStore, clock: Callable[[], datetime] = utc_now):
        self._signer = signer
        self._store = store
        self._clock = clock

    def ticket_for(self, token: str) -> Ticket:
        """The ticket a link rates; LinkInvalid for a link of a ticket that no longer exists."""
        ticket_id = self._signer.ticket_of(token)
        try:
            return self._store.get_ticket(ticket_id)
        except TicketNotFound:
            raise LinkInvalid("the rated ticket does not exist") from None

    def vote(self, token: str, rating: int) -> tuple[Ticket, CsatVote]:
        if not 1 <= rating <= 5:
            raise ValueError("a rating is a whole number from 1 to 5")
        ticket = self.ticket_for(token)
        vote = CsatVote(rating=rating, at=self._clock())
        if ticket.csat is not None or not self._store.record_csat(ticket.id, vote):
            raise AlreadyRated(f"ticket {ticket.id} was rated before")
        desk_metrics.record(desk_metrics.CSAT_RATING, rating)
        return ticket, vote


# ---------- texts: the mail line and the rating page ----------
INVITATION: dict[Language, str] = {
    "nl": "Hoe tevreden bent u over onze hulp? Geef een cijfer van 1 tot 5 (een klik): {link}",
    "en": "How satisfied are you with our help? Rate us from 1 to 5 (one click): {link}",
}
_PAGE: dict[Language, dict[str, str]] = {
    "nl": {
        "title": "Hoe hebben we u geholpen?",
        "ask": "Geef een cijfer van 1 (slecht) tot 5 (uitstekend).",
        "thanks": "Bedankt voor uw beoordeling!",
        "already": "Deze vraag is al beoordeeld. Bedankt!",
        "invalid": "Deze link is niet geldig.",
        "expired": "Deze link is verlopen.",
        "bad_rating": "Kies een cijfer van 1 tot 5.",
    },
    "en": {
        "title": "How did we help you?",
        "ask": "Choose a rating from 1 (poor) to 5 (excellent).",
        "thanks": "Thank you for your rating!",
        "already": "This request has been rated already. Thank you!",
        "invalid": "This link is not valid.",
        "expired": "This link has expired.",
        "bad_rating": "Please choose a rating from 1 to 5.",
    },
}


def invitation(language: Language, link: str) -> str:
    return INVITATION[language].format(link=link)


def page_language(ticket: Ticket | None) -> Language:
    return "nl" if ticket is not None and ticket.language == "nl" else "en"


def _page(language: Language, body: str) -> str:
    texts = _PAGE[language]
    return (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(texts['title'])}</title><style>body{{font-family:system-ui,sans-serif;margin:2rem}}"
        "button{font-size:1.3rem;margin:.2rem;padding:.4rem .9rem}</style></head>"
        f"<body><h1>{escape(texts['title'])}</h1>{body}</body></html>"
    )


def choice_page(language: Language) -> str:
    buttons = "".join(f'<button type="submit" name="rating" value="{n}">{n}</button>' for n in range(1, 6))
    return _page(language, f'<p>{escape(_PAGE[language]["ask"])}</p><form method="post">{buttons}</form>')


def message_page(language: Language | None, key: str) -> str:
    """A page saying one thing: thanks, already rated, invalid or expired link, bad rating. Without a
    language (the link names no ticket we know) it says it in Dutch and English."""
    languages: tuple[Language, ...] = (language,) if language else ("nl", "en")
    return _page(language or "en", "".join(f"<p>{escape(_PAGE[lang][key])}</p>" for lang in languages))

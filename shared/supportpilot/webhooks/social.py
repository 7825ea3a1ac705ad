"""X (Account Activity API) and Meta (Messenger, Instagram, WhatsApp Cloud API) as webhook sources.

Mentions and direct messages become tickets. One request may carry many messages (Meta sends up to
1000 notifications at once), so `parse` returns one envelope per customer message, each deduplicated
on the platform's message id; events the shop itself authored, echoes of its own replies, receipts
and reactions are skipped. Both platforms check the endpoint with a GET first: `handshake` answers it.

A WhatsApp sender id is a phone number: it stays inside the envelope and the customer identity, and
no exception message here ever names a value, only the field it came from.
"""

import hmac
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import chain
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from supportpilot.regex_store import compiled
from supportpilot.webhooks.signatures import verify_meta, verify_x, x_crc_response_token
from supportpilot.webhooks.sources import (
    HandshakeResponse,
    Normalised,
    TicketOpening,
    WebhookEnvelope,
    WebhookRejected,
    WebhookSource,
    _handle_customer,
    _id_text,
    _identifier,
    _json_body,
    _object,
    _text,
)

MAX_MESSAGES_PER_REQUEST = 1000
_MAX_CRC_TOKEN_CHARS = 256
_MAX_NAME_CHARS = 128
# Instagram message ids are long base64 strings; WhatsApp ids ("wamid.") may end in "=".
_META_MESSAGE_ID = compiled(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,511}")
_CHALLENGE = compiled(r"[0-9]{1,32}")
_PLATFORM_NAMES = {"x": "X", "messenger": "Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp"}
_META_MESSAGING_OBJECTS = {"page": "messenger", "instagram": "instagram"}
_WHATSAPP_SKIPPED_TYPES = frozenset({"reaction", "system"})
# The platform's own name for the event family each message came in.
_TOPICS = {
    ("x", "mention"): "tweet_create_events",
    ("x", "direct_message"): "direct_message_events",
    ("messenger", "direct_message"): "page",
    ("instagram", "direct_message"): "instagram",
    ("whatsapp", "direct_message"): "whatsapp_business_account",
}

Platform = Literal["x", "messenger", "instagram", "whatsapp"]


class SocialMessage(BaseModel):
    """One customer message, as it travels in `WebhookEnvelope.payload`."""

    platform: Platform
    kind: Literal["mention", "direct_message"]
    message_id: str
    sender_id: str
    sender_name: str | None = None
    text: str
    in_reply_to: str | None = None  # the post a mention answers, for threading later


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _message_text(value: object, platform: Platform) -> str:
    """The text, or a note for a person when the customer sent only a photo, a sticker or a file."""
    if isinstance(value, str) and value.strip():
        return value
    return f"(a message without text: open the conversation on {_PLATFORM_NAMES[platform]} to see it)"


def _meta_message_id(value: object, what: str) -> str:
    if isinstance(value, str) and _META_MESSAGE_ID.fullmatch(value):
        return value
    raise WebhookRejected(f"{what} is missing or not a valid message id")


def _envelope(message: SocialMessage, received_at: datetime) -> WebhookEnvelope:
    if message.platform == "x":
        source: Literal["x", "meta"] = "x"
        dedupe_key = f"x:{'tweet' if message.kind == 'mention' else 'dm'}:{message.message_id}"
    else:
        source, dedupe_key = "meta", f"meta:{message.message_id}"
    return WebhookEnvelope(
        source=source,
        topic=_TOPICS[message.platform, message.kind],
        dedupe_key=dedupe_key,
        received_at=received_at,
        payload=message.model_dump(mode="json"),
    )


def _envelopes(messages: Iterable[SocialMessage], received_at: datetime) -> list[WebhookEnvelope]:
    envelopes = []
    for message in messages:
        if len(envelopes) == MAX_MESSAGES_PER_REQUEST:
            raise WebhookRejected(f"more than {MAX_MESSAGES_PER_REQUEST} messages in one request")
        envelopes.append(_envelope(message, received_at))
    return envelopes


# --- X (Account Activity API) -------------------------------------------------------------------------


def _x_mentions(payload: dict[str, Any], shop_id: str) -> Iterator[SocialMessage]:
    """Posts that mention or reply to the shop; its own posts and reposts of them are not requests."""
    for tweet in _dicts(payload.get("tweet_create_events")):
        user = _object(tweet.get("user"))
        user_id = _identifier(user.get("id_str"), "tweet_create_events[].user.id_str")
        if user_id == shop_id or "retweeted_status" in tweet:
            continue
        screen_name = _text(user.get("screen_name"), _MAX_NAME_CHARS)
        yield SocialMessage(
            platform="x",
            kind="mention",
            message_id=_identifier(tweet.get("id_str"), "tweet_create_events[].id_str"),
            sender_id=user_id,
            sender_name=f"@{screen_name}" if screen_name else None,
            text=_message_text(_object(tweet.get("extended_tweet")).get("full_text") or tweet.get("text"), "x"),
            in_reply_to=_id_text(tweet.get("in_reply_to_status_id_str")),
        )


def _x_direct_messages(payload: dict[str, Any], shop_id: str) -> Iterator[SocialMessage]:
    """Direct messages sent to the shop; the ones it sent arrive too and are skipped."""
    users = _object(payload.get("users"))
    for event in _dicts(payload.get("direct_message_events")):
        if event.get("type") != "message_create":
            continue
        created = _object(event.get("message_create"))
        sender_id = _identifier(created.get("sender_id"), "direct_message_events[].message_create.sender_id")
        if sender_id == shop_id:
            continue
        screen_name = _text(_object(users.get(sender_id)).get("screen_name"), _MAX_NAME_CHARS)
        yield SocialMessage(
            platform="x",
            kind="direct_message",
            message_id=_identifier(event.get("id"), "direct_message_events[].id"),
            sender_id=sender_id,
            sender_name=f"@{screen_name}" if screen_name else None,
            text=_message_text(_object(created.get("message_data")).get("text"), "x"),
        )


def _parse_x(raw: bytes, headers: Mapping[str, str], received_at: datetime) -> list[WebhookEnvelope]:
    payload = _json_body(raw, headers)
    shop_id = _identifier(payload.get("for_user_id"), "payload field 'for_user_id'")
    return _envelopes(chain(_x_mentions(payload, shop_id), _x_direct_messages(payload, shop_id)), received_at)


def _verify_x_request(raw: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    verify_x(raw, headers, secret)


def _handshake_error(status: int, message: str) -> HandshakeResponse:
    return HandshakeResponse(status=status, body=json.dumps({"error": message}), content_type="application/json")


def _x_crc_check(query: Mapping[str, str], secrets: Mapping[str, str]) -> HandshakeResponse:
    """X's challenge-response check, sent on registration and about hourly after."""
    token = query.get("crc_token")
    if not token:
        return _handshake_error(400, "missing crc_token")
    if len(token) > _MAX_CRC_TOKEN_CHARS:
        return _handshake_error(400, f"crc_token is longer than {_MAX_CRC_TOKEN_CHARS} characters")
    secret = secrets.get("x")
    if not secret:
        return _handshake_error(403, "no X consumer secret is configured: the check cannot be answered")
    body = json.dumps({"response_token": x_crc_response_token(token, secret)})
    return HandshakeResponse(status=200, body=body, content_type="application/json")


# --- Meta (Messenger, Instagram, WhatsApp Cloud API) ---------------------------------------------------


def _meta_messaging(payload: dict[str, Any], platform: Platform) -> Iterator[SocialMessage]:
    """Messenger and Instagram: `entry[].messaging[]`; echoes of the shop's own replies are skipped."""
    for entry in _dicts(payload.get("entry")):
        account_id = _id_text(entry.get("id"))
        for event in _dicts(entry.get("messaging")):
            message = event.get("message")
            if not isinstance(message, dict) or message.get("is_echo") is True:
                continue  # deliveries, reads, reactions, postbacks, or the shop's own reply
            sender_id = _identifier(_object(event.get("sender")).get("id"), "entry[].messaging[].sender.id")
            if sender_id == account_id:
                continue
            yield SocialMessage(
                platform=platform,
                kind="direct_message",
                message_id=_meta_message_id(message.get("mid"), "entry[].messaging[].message.mid"),
                sender_id=sender_id,
                text=_message_text(message.get("text"), platform),
            )


def _whatsapp_text(message: dict[str, Any]) -> str:
    """A text message's body, else the caption of a photo, video or document (kept under its type)."""
    body = _object(message.get("text")).get("body")
    media_type = message.get("type")
    caption = _object(message.get(media_type)).get("caption") if isinstance(media_type, str) else None
    return _message_text(body or caption, "whatsapp")


def _whatsapp_messages(payload: dict[str, Any]) -> Iterator[SocialMessage]:
    """WhatsApp: `entry[].changes[].value.messages[]`; status updates carry no `messages` and are skipped."""
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = _object(change.get("value"))
            names = {
                contact["wa_id"]: _text(_object(contact.get("profile")).get("name"), _MAX_NAME_CHARS)
                for contact in _dicts(value.get("contacts"))
                if isinstance(contact.get("wa_id"), str)
            }
            for message in _dicts(value.get("messages")):
                if _text(message.get("type"), 32) in _WHATSAPP_SKIPPED_TYPES:
                    continue
                sender_id = _identifier(message.get("from"), "entry[].changes[].value.messages[].from")
                yield SocialMessage(
                    platform="whatsapp",
                    kind="direct_message",
                    message_id=_meta_message_id(message.get("id"), "entry[].changes[].value.messages[].id"),
                    sender_id=sender_id,
                    sender_name=names.get(sender_id),
                    text=_whatsapp_text(message),
                )


def _parse_meta(raw: bytes, headers: Mapping[str, str], received_at: datetime) -> list[WebhookEnvelope]:
    payload = _json_body(raw, headers)
    kind = payload.get("object")
    if not isinstance(kind, str) or not isinstance(payload.get("entry"), list):
        raise WebhookRejected("payload fields 'object' and 'entry' are required")
    if kind == "whatsapp_business_account":
        messages = _whatsapp_messages(payload)
    elif kind in _META_MESSAGING_OBJECTS:
        messages = _meta_messaging(payload, _META_MESSAGING_OBJECTS[kind])
    else:
        return []  # an object the app is subscribed to for other reasons: nothing for the desk
    return _envelopes(messages, received_at)


def _verify_meta_request(raw: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    verify_meta(raw, headers, secret)


def _meta_verification(query: Mapping[str, str], secrets: Mapping[str, str]) -> HandshakeResponse:
    """Meta's subscription check: echo `hub.challenge` when `hub.verify_token` is ours."""
    mode, challenge, token = (query.get(f"hub.{name}") for name in ("mode", "challenge", "verify_token"))
    if mode is None or challenge is None or token is None:
        return _handshake_error(400, "hub.mode, hub.challenge and hub.verify_token are required")
    if mode != "subscribe":
        return _handshake_error(400, "hub.mode must be subscribe")
    if not _CHALLENGE.fullmatch(challenge):
        return _handshake_error(400, "hub.challenge must be a number")
    expected = secrets.get("meta_verify_token")
    if not expected or not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8")):
        return _handshake_error(403, "hub.verify_token does not match")
    return HandshakeResponse(status=200, body=challenge, content_type="text/plain")


# --- both ---------------------------------------------------------------------------------------------


def _title(message: SocialMessage) -> str:
    if message.kind == "mention":
        return "Mention on X"
    if message.platform == "x":
        return "Direct message on X"
    return f"Message on {_PLATFORM_NAMES[message.platform]}"


def _normalise_social(envelope: WebhookEnvelope) -> Normalised:
    try:
        message = SocialMessage.model_validate(envelope.payload)
    except ValidationError:
        raise WebhookRejected("payload is not a social message") from None  # its text may hold personal data
    customer = _handle_customer(f"{envelope.source}:{message.sender_id}").model_copy(
        update={"display_name": message.sender_name}
    )
    return Normalised(
        ticket=TicketOpening(
            customer=customer, subject="", title=_title(message), body=message.text, external_id=envelope.dedupe_key
        )
    )


X_SOURCE = WebhookSource(
    "x", "x", _verify_x_request, _parse_x, _normalise_social, handshake=_x_crc_check, handshake_secrets=("x",)
)
META_SOURCE = WebhookSource(
    "meta",
    "meta",
    _verify_meta_request,
    _parse_meta,
    _normalise_social,
    handshake=_meta_verification,
    handshake_secrets=("meta_verify_token",),
)

"""Per-source parsing and normalisation of verified webhooks, and the registry of sources.

`parse` runs in the receiving Lambda right after the signature check: it checks the content type,
decodes the JSON object and derives a dedupe key that is stable across redeliveries, producing the
`WebhookEnvelope` that goes on the queue (or a `Ping` to answer 200 and drop; the social sources in
`social.py` return one envelope per message, since one request may carry many). `normalise` runs in
the worker and turns an envelope into timeline events and, for disputes, failed refunds and
contact-form messages, a request to open a ticket.

Every payload is hostile: values are type-checked and length-bounded before use, amounts stay
decimal strings, and exception messages name fields, never their values.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NoReturn

from pydantic import BaseModel, Field

from supportpilot.envelopes import WebhookEnvelope
from supportpilot.identity import customer_key, email_customer
from supportpilot.models import Channel, CustomerIdentity, PlatformNotice, TimelineEvent
from supportpilot.regex_store import compiled
from supportpilot.webhooks.signatures import verify_form, verify_shopify, verify_stripe, verify_woocommerce

MAX_FORM_MESSAGE_CHARS = 20_000
_FORM_FIELD_LIMITS = {"name": 200, "subject": 500, "order_number": 64}
_MAX_EMAIL_CHARS = 320
_MAX_PHONE_CHARS = 40
_MAX_TEXT_CHARS = 500
_MAX_LIST_ITEMS = 100

_MEDIA_TYPE = compiled(r"[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,64}")
_IDENTIFIER = compiled(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_AMOUNT = compiled(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")
_CURRENCY = compiled(r"[A-Za-z]{3}")
_WOOCOMMERCE_PING = compiled(rb"webhook_id=([0-9]{1,20})")

# Stripe amounts are in minor units; these currencies have none or three decimals (Stripe docs).
_ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMAL_CURRENCIES = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


class WebhookRejected(Exception):
    """The request is authentic but unusable; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Ping:
    """WooCommerce's creation ping: answer 200, store nothing."""

    webhook_id: str


class TicketOpening(BaseModel):
    """A request to open a ticket. `subject`: the sender's own subject, "" when they gave none; `title`: the
    ticket's title then ("Contact form message"), which triage never reads as the customer's words.
    `reference` is the order or charge it concerns, when known. `notice`: set when the desk writes subject and
    body from a platform's event (a dispute, a failed refund) that no customer sent."""

    customer: CustomerIdentity
    subject: str
    body: str
    external_id: str
    title: str = ""
    reference: str | None = None
    notice: PlatformNotice | None = None


class ShopContact(BaseModel):
    """Phone numbers a shop gave for the customer, as written (the ingest stage normalises them)."""

    customer: CustomerIdentity
    phones: list[str]


class Normalised(BaseModel):
    timeline_events: list[TimelineEvent] = Field(default_factory=list)
    ticket: TicketOpening | None = None
    shop_contact: ShopContact | None = None


@dataclass(frozen=True)
class HandshakeResponse:
    """The answer to a platform's GET check of the endpoint (X's CRC, Meta's verification)."""

    status: int
    body: str
    content_type: str


@dataclass(frozen=True)
class WebhookSource:
    """`handshake` answers the platform's GET check from the query and the secrets named in
    `handshake_secrets`; sources without one have no GET."""

    name: str
    secret_name: str
    verify: Callable[[bytes, Mapping[str, str], str, float], None]
    parse: Callable[[bytes, Mapping[str, str], datetime], WebhookEnvelope | Ping | list[WebhookEnvelope]]
    normalise: Callable[[WebhookEnvelope], Normalised]
    handshake: Callable[[Mapping[str, str], Mapping[str, str]], HandshakeResponse] | None = None
    handshake_secrets: tuple[str, ...] = ()


# --- request parsing --------------------------------------------------------------------------------


def _media_type(headers: Mapping[str, str]) -> str:
    return str(headers.get("content-type", "")).split(";", 1)[0].strip().lower()


def _reject_content_type(media_type: str) -> NoReturn:
    if not media_type:
        shown = "none"
    elif _MEDIA_TYPE.fullmatch(media_type):
        shown = media_type
    else:
        shown = "an unrecognised value"
    raise WebhookRejected(f"expected Content-Type application/json, got {shown}")


def _reject_json_constant(name: str) -> NoReturn:
    raise ValueError(f"JSON constant {name} is not allowed")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("body is not valid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_json_constant)
    except (ValueError, RecursionError):  # malformed, too deeply nested, or an over-long integer
        raise WebhookRejected("body is not a JSON object") from None
    if not isinstance(value, dict):
        raise WebhookRejected("body is not a JSON object")
    if "\\u" in text:
        # Escapes can smuggle lone surrogates, which no UTF-8 store or queue accepts.
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise WebhookRejected("body contains an unpaired UTF-16 surrogate escape") from None
    return value


def _json_body(raw: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    media_type = _media_type(headers)
    if media_type != "application/json":
        _reject_content_type(media_type)
    return _json_object(raw)


def _identifier(value: object, what: str) -> str:
    """An id fit for keys: a non-negative integer or a short string of safe characters."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return str(value)
    if isinstance(value, str) and _IDENTIFIER.fullmatch(value):
        return value
    raise WebhookRejected(f"{what} is missing or not a valid identifier")


def _sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _woocommerce_ping(raw: bytes, headers: Mapping[str, str]) -> Ping | None:
    match = _WOOCOMMERCE_PING.fullmatch(raw)
    if match is None or _media_type(headers) != "application/x-www-form-urlencoded":
        return None
    return Ping(webhook_id=match.group(1).decode("ascii"))


def _parse_shopify(raw: bytes, headers: Mapping[str, str], received_at: datetime) -> WebhookEnvelope:
    payload = _json_body(raw, headers)
    topic = _identifier(headers.get("x-shopify-topic"), "X-Shopify-Topic header")
    event_id = headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id")
    if not event_id:
        raise WebhookRejected("missing X-Shopify-Event-Id (or X-Shopify-Webhook-Id) header")
    dedupe_key = f"shopify:{_identifier(event_id, 'X-Shopify-Event-Id header')}"
    return WebhookEnvelope(
        source="shopify", topic=topic, dedupe_key=dedupe_key, received_at=received_at, payload=payload
    )


def _parse_woocommerce(raw: bytes, headers: Mapping[str, str], received_at: datetime) -> WebhookEnvelope | Ping:
    if _media_type(headers) == "application/x-www-form-urlencoded":
        ping = _woocommerce_ping(raw, headers)
        if ping is None:
            raise WebhookRejected("a form-encoded body is accepted only as the WooCommerce ping (webhook_id=N)")
        return ping
    payload = _json_body(raw, headers)
    topic = _identifier(headers.get("x-wc-webhook-topic"), "X-WC-Webhook-Topic header")
    resource_id = _identifier(payload.get("id"), "payload field 'id'")
    modified = payload.get("date_modified_gmt") or payload.get("date_modified")
    # Deletions carry only the id; identical redeliveries still share the body digest.
    version = _identifier(modified, "payload field 'date_modified_gmt'") if modified else _sha256_hex(raw)
    return WebhookEnvelope(
        source="woocommerce",
        topic=topic,
        dedupe_key=f"woocommerce:{topic}:{resource_id}:{version}",
        received_at=received_at,
        payload=payload,
    )


def _parse_stripe(raw: bytes, headers: Mapping[str, str], received_at: datetime) -> WebhookEnvelope:
    payload = _json_body(raw, headers)
    event_id = _identifier(payload.get("id"), "payload field 'id'")
    topic = _identifier(payload.get("type"), "payload field 'type'")
    return WebhookEnvelope(
        source="stripe",
        topic=topic,
        dedupe_key=f"stripe:{event_id}",
        received_at=received_at,
        payload=payload,
    )


def _parse_form(raw: bytes, headers: Mapping[str, str], received_at: datetime) -> WebhookEnvelope:
    payload = _json_body(raw, headers)
    _contact_form(payload)  # reject bad submissions now, while the shop's backend can still show the error
    return WebhookEnvelope(
        source="form",
        topic="contact_form",
        dedupe_key=f"form:{_sha256_hex(raw)}",
        received_at=received_at,
        payload=payload,
    )


# --- reading hostile payload values -------------------------------------------------------------------


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: object) -> list[dict[str, Any]]:
    return [item for item in value[:_MAX_LIST_ITEMS] if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: object, limit: int = _MAX_TEXT_CHARS) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _id_text(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value, 128)


def _quantity(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9 else None


def _amount(value: object) -> str | None:
    """A decimal amount as a string; platforms send strings, a few send JSON numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = repr(value)
    return value if isinstance(value, str) and _AMOUNT.fullmatch(value) else None


def _currency(value: object) -> str | None:
    return value.upper() if isinstance(value, str) and _CURRENCY.fullmatch(value) else None


def _sum_amounts(amounts: list[str]) -> str | None:
    return str(sum((Decimal(amount) for amount in amounts), Decimal(0))) if amounts else None


def _platform_time(value: object) -> datetime | None:
    """A platform timestamp (ISO 8601 with naive meaning UTC, or Unix seconds) in UTC, if it is one."""
    try:
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 253_402_300_800:
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str) and len(value) <= 40:
            parsed = datetime.fromisoformat(value)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    return None


def _occurred_at(envelope: WebhookEnvelope, *candidates: object) -> datetime:
    """The first valid platform timestamp among the candidates, else when the webhook was received."""
    for candidate in candidates:
        parsed = _platform_time(candidate)
        if parsed is not None:
            return parsed
    return envelope.received_at.astimezone(UTC)


def _compact(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in details.items() if value not in (None, [], "")}


def _first_email_customer(*candidates: object) -> CustomerIdentity | None:
    for candidate in candidates:
        if isinstance(candidate, str) and len(candidate) <= _MAX_EMAIL_CHARS:
            customer = email_customer(candidate)
            if customer is not None:
                return customer
    return None


def _shop_contact(customer: CustomerIdentity | None, *phones: object) -> ShopContact | None:
    written = list(dict.fromkeys(phone for value in phones if (phone := _text(value, _MAX_PHONE_CHARS))))
    return ShopContact(customer=customer, phones=written) if customer is not None and written else None


def _handle_customer(handle: str) -> CustomerIdentity:
    return CustomerIdentity(id=customer_key("handle", handle), kind="handle", value=handle)


def _event_id(dedupe_key: str) -> str:
    return f"EV{hashlib.sha256(dedupe_key.encode('utf-8')).hexdigest()[:24]}"


def _timeline_events(
    envelope: WebhookEnvelope,
    customer: CustomerIdentity | None,
    kind: str,
    occurred_at: datetime,
    *,
    reference: str | None = None,
    amount: str | None = None,
    currency: str | None = None,
    details: dict[str, Any],
) -> list[TimelineEvent]:
    """The envelope's one timeline event, or none when no customer email identifies whose it is."""
    if customer is None:
        return []
    event = TimelineEvent(
        customer_id=customer.id,
        id=_event_id(envelope.dedupe_key),
        kind=kind,
        source=Channel(envelope.source),
        occurred_at=occurred_at,
        reference=reference,
        amount=amount,
        currency=currency,
        details=_compact(details),
    )
    return [event]


DISPUTE_NOTICE = PlatformNotice(event="dispute_created", category="billing_error")
REFUND_FAILED_NOTICE = PlatformNotice(event="refund_failed", category="refund")


def _dispute_subject(amount: str, currency: str, reason: str | None) -> str:
    return f"Payment dispute opened: {amount} {currency} (reason: {reason or 'not given'})"


def _ticket_body(opening: str, facts: dict[str, str | None]) -> str:
    """A sentence saying what happened, then one line per known fact."""
    return "\n".join([opening, *(f"{label}: {value}" for label, value in facts.items() if value)])


# --- Shopify ------------------------------------------------------------------------------------------

_SHOPIFY_ORDER_KINDS = {
    "orders/create": "order_created",
    "orders/updated": "order_updated",
    "orders/paid": "order_paid",
    "orders/cancelled": "order_cancelled",
    "orders/fulfilled": "order_fulfilled",
}
_SHOPIFY_FULFILLMENT_KINDS = {
    "fulfillments/create": "fulfillment_created",
    "fulfillments/update": "fulfillment_updated",
}


def _shopify_customer(payload: dict[str, Any]) -> CustomerIdentity | None:
    return _first_email_customer(payload.get("email"), _object(payload.get("customer")).get("email"))


def _shopify_line_items(items: object) -> list[dict[str, Any]]:
    return [
        _compact(
            {
                "title": _text(item.get("title")),
                "sku": _text(item.get("sku"), 128),
                "quantity": _quantity(item.get("quantity")),
                "price": _amount(item.get("price")),
            }
        )
        for item in _objects(items)
    ]


def _shopify_tracking(fulfillment: dict[str, Any]) -> dict[str, Any]:
    return _compact(
        {
            "company": _text(fulfillment.get("tracking_company"), 128),
            "number": _text(fulfillment.get("tracking_number"), 128),
            "url": _text(fulfillment.get("tracking_url"), 2048),
            "shipment_status": _text(fulfillment.get("shipment_status"), 64),
        }
    )


def _shopify_order(envelope: WebhookEnvelope, kind: str) -> Normalised:
    order = envelope.payload
    times = (order.get("created_at"), order.get("updated_at"))
    occurred_at = _occurred_at(envelope, *(times if kind == "order_created" else reversed(times)))
    details = {
        "order_id": _id_text(order.get("id")),
        "order_name": _text(order.get("name"), 64),
        "order_number": _id_text(order.get("order_number")),
        "financial_status": _text(order.get("financial_status"), 64),
        "fulfillment_status": _text(order.get("fulfillment_status"), 64),
        "cancel_reason": _text(order.get("cancel_reason"), 64),
        "line_items": _shopify_line_items(order.get("line_items")),
        "tracking": [tracking for tracking in map(_shopify_tracking, _objects(order.get("fulfillments"))) if tracking],
    }
    customer = _shopify_customer(order)
    events = _timeline_events(
        envelope,
        customer,
        kind,
        occurred_at,
        reference=details["order_name"] or details["order_id"],
        amount=_amount(order.get("total_price")),
        currency=_currency(order.get("currency")),
        details=details,
    )
    phones = [
        order.get("phone"),
        _object(order.get("customer")).get("phone"),
        _object(order.get("billing_address")).get("phone"),
        _object(order.get("shipping_address")).get("phone"),
    ]
    return Normalised(timeline_events=events, shop_contact=_shop_contact(customer, *phones))


def _shopify_fulfillment(envelope: WebhookEnvelope, kind: str) -> Normalised:
    fulfillment = envelope.payload
    tracking = _shopify_tracking(fulfillment)
    details = {
        "order_id": _id_text(fulfillment.get("order_id")),
        "fulfillment_id": _id_text(fulfillment.get("id")),
        "status": _text(fulfillment.get("status"), 64),
        "shipment_status": _text(fulfillment.get("shipment_status"), 64),
        "line_items": _shopify_line_items(fulfillment.get("line_items")),
        "tracking": [tracking] if tracking else [],
    }
    events = _timeline_events(
        envelope,
        _shopify_customer(fulfillment),
        kind,
        _occurred_at(envelope, fulfillment.get("updated_at"), fulfillment.get("created_at")),
        reference=_text(fulfillment.get("name"), 64) or details["order_id"],
        details=details,
    )
    return Normalised(timeline_events=events)


def _shopify_refund(envelope: WebhookEnvelope) -> Normalised:
    refund = envelope.payload
    transactions = [t for t in _objects(refund.get("transactions")) if t.get("kind") == "refund"]
    refunded_items = [
        _object(item.get("line_item")) | {"quantity": item.get("quantity")}
        for item in _objects(refund.get("refund_line_items"))
    ]
    details = {
        "order_id": _id_text(refund.get("order_id")),
        "refund_id": _id_text(refund.get("id")),
        "note": _text(refund.get("note")),
        "line_items": _shopify_line_items(refunded_items),
    }
    events = _timeline_events(
        envelope,
        _shopify_customer(refund),
        "refund_created",
        _occurred_at(envelope, refund.get("created_at")),
        reference=details["order_id"],
        amount=_sum_amounts([a for t in transactions if (a := _amount(t.get("amount"))) is not None]),
        currency=_currency(transactions[0].get("currency")) if transactions else None,
        details=details,
    )
    return Normalised(timeline_events=events)


def _shopify_dispute(envelope: WebhookEnvelope) -> Normalised:
    dispute = envelope.payload
    dispute_id = _identifier(dispute.get("id"), "payload field 'id'")
    order_id = _id_text(dispute.get("order_id"))
    amount = _amount(dispute.get("amount"))
    currency = _currency(dispute.get("currency"))
    if amount is None or currency is None:
        raise WebhookRejected("payload fields 'amount' and 'currency' are required for a dispute")
    email_identity = _shopify_customer(dispute)
    if email_identity is None and order_id is None:
        raise WebhookRejected("payload has neither an email nor an 'order_id' to link the dispute to")
    details = {
        "dispute_id": dispute_id,
        "order_id": order_id,
        "type": _text(dispute.get("type"), 32),
        "reason": _text(dispute.get("reason"), 64),
        "status": _text(dispute.get("status"), 64),
        "evidence_due_by": _text(dispute.get("evidence_due_by"), 40),
    }
    ticket = TicketOpening(
        customer=email_identity or _handle_customer(f"shopify-order:{order_id}"),
        subject=_dispute_subject(amount, currency, details["reason"]),
        body=_ticket_body(
            "A payment dispute was opened in Shopify.",
            {
                "Order": order_id,
                "Amount": f"{amount} {currency}",
                "Type": details["type"],
                "Reason": details["reason"],
                "Status": details["status"],
                "Evidence due by": details["evidence_due_by"],
                "Dispute": dispute_id,
            },
        ),
        external_id=f"shopify:dispute:{dispute_id}",
        reference=order_id,
        notice=DISPUTE_NOTICE,
    )
    events = _timeline_events(
        envelope,
        email_identity,
        "dispute_created",
        _occurred_at(envelope, dispute.get("initiated_at")),
        reference=order_id,
        amount=amount,
        currency=currency,
        details=details,
    )
    return Normalised(timeline_events=events, ticket=ticket)


def _normalise_shopify(envelope: WebhookEnvelope) -> Normalised:
    topic = envelope.topic
    if topic in _SHOPIFY_ORDER_KINDS:
        return _shopify_order(envelope, _SHOPIFY_ORDER_KINDS[topic])
    if topic in _SHOPIFY_FULFILLMENT_KINDS:
        return _shopify_fulfillment(envelope, _SHOPIFY_FULFILLMENT_KINDS[topic])
    if topic == "refunds/create":
        return _shopify_refund(envelope)
    if topic == "disputes/create":
        return _shopify_dispute(envelope)
    return Normalised()


# --- WooCommerce --------------------------------------------------------------------------------------


def _woocommerce_order_details(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": _id_text(order.get("id")),
        "order_number": _id_text(order.get("number")),
        "status": _text(order.get("status"), 64),
        "line_items": [
            _compact(
                {
                    "title": _text(item.get("name")),
                    "sku": _text(item.get("sku"), 128),
                    "quantity": _quantity(item.get("quantity")),
                    "price": _amount(item.get("price")),
                    "total": _amount(item.get("total")),
                }
            )
            for item in _objects(order.get("line_items"))
        ],
        "refunds": [
            _compact(
                {
                    "id": _id_text(refund.get("id")),
                    "reason": _text(refund.get("reason")),
                    "amount": _amount(refund.get("total")),
                }
            )
            for refund in _objects(order.get("refunds"))
        ],
    }


def _normalise_woocommerce(envelope: WebhookEnvelope) -> Normalised:
    payload = envelope.payload
    billing = _object(payload.get("billing"))
    customer = _first_email_customer(billing.get("email"), payload.get("email"))
    contact = _shop_contact(customer, billing.get("phone"))
    occurred_at = _occurred_at(envelope, payload.get("date_modified_gmt"))
    topic = envelope.topic
    if topic not in ("order.created", "order.updated"):
        details = {"resource_id": _id_text(payload.get("id"))}
        kind = topic.replace(".", "_")
        events = _timeline_events(envelope, customer, kind, occurred_at, details=details)
        return Normalised(timeline_events=events, shop_contact=contact)
    details = _woocommerce_order_details(payload)
    if topic == "order.updated" and details["status"] == "refunded":
        kind = "refund_created"
        amount = _sum_amounts([r["amount"].lstrip("-") for r in details["refunds"] if "amount" in r])
    else:
        kind = "order_created" if topic == "order.created" else "order_updated"
        amount = _amount(payload.get("total"))
    events = _timeline_events(
        envelope,
        customer,
        kind,
        occurred_at,
        reference=details["order_number"] or details["order_id"],
        amount=amount,
        currency=_currency(payload.get("currency")),
        details=details,
    )
    return Normalised(timeline_events=events, shop_contact=contact)


# --- Stripe -------------------------------------------------------------------------------------------

_STRIPE_KINDS = {
    "charge.dispute.created": "dispute_created",
    "charge.dispute.updated": "dispute_updated",
    "charge.dispute.closed": "dispute_closed",
    "charge.refunded": "charge_refunded",
    "refund.created": "refund_created",
    "refund.updated": "refund_updated",
    "refund.failed": "refund_failed",
}


def _stripe_amount(minor_units: object, currency: object) -> tuple[str, str]:
    """Stripe's integer minor units as a decimal string, with the upper-case currency code."""
    code = _currency(currency)
    if code is None:
        raise WebhookRejected("data.object.currency is missing or not a currency code")
    if not isinstance(minor_units, int) or isinstance(minor_units, bool) or abs(minor_units) >= 10**15:
        raise WebhookRejected("data.object.amount is missing or not an integer")
    exponent = 0 if code in _ZERO_DECIMAL_CURRENCIES else 3 if code in _THREE_DECIMAL_CURRENCIES else 2
    return str(Decimal(minor_units).scaleb(-exponent)), code


def _stripe_ticket(
    kind: str, obj_id: str, amount: str, currency: str, details: dict[str, Any], customer: CustomerIdentity
) -> TicketOpening | None:
    """Disputes and failed refunds need a person; other Stripe events only go on the timeline."""
    if kind == "dispute_created":
        subject = _dispute_subject(amount, currency, details["reason"])
        opening, notice = "A payment dispute was opened in Stripe.", DISPUTE_NOTICE
    elif kind == "refund_failed":
        subject = f"Refund failed: {amount} {currency} (reason: {details['failure_reason'] or 'not given'})"
        opening = "A refund failed in Stripe: the customer has not received this money back."
        notice = REFUND_FAILED_NOTICE
    else:
        return None
    body = _ticket_body(
        opening,
        {
            "Amount": f"{amount} {currency}",
            "Reason": details["reason"],
            "Failure reason": details["failure_reason"],
            "Status": details["status"],
            "Evidence due by": details["evidence_due_by"],
            "Charge": details["charge_id"],
            "Stripe object": obj_id,
        },
    )
    return TicketOpening(
        customer=customer,
        subject=subject,
        body=body,
        external_id=f"stripe:{obj_id}",
        reference=details["charge_id"],
        notice=notice,
    )


def _normalise_stripe(envelope: WebhookEnvelope) -> Normalised:
    kind = _STRIPE_KINDS.get(envelope.topic)
    if kind is None:
        return Normalised()
    obj = _object(_object(envelope.payload.get("data")).get("object"))
    obj_id = _identifier(obj.get("id"), "data.object.id")
    is_charge = envelope.topic == "charge.refunded"
    charge_id = obj_id if is_charge else _id_text(obj.get("charge"))
    amount, currency = _stripe_amount(obj.get("amount_refunded" if is_charge else "amount"), obj.get("currency"))
    email_identity = _first_email_customer(
        _object(obj.get("billing_details")).get("email"),
        obj.get("receipt_email"),
        obj.get("customer_email"),
        _object(obj.get("evidence")).get("customer_email_address"),
    )
    due_by = _platform_time(_object(obj.get("evidence_details")).get("due_by"))
    details = {
        "object_id": obj_id,
        "charge_id": charge_id,
        "payment_intent_id": _id_text(obj.get("payment_intent")),
        "status": _text(obj.get("status"), 64),
        "reason": _text(obj.get("reason"), 64),
        "failure_reason": _text(obj.get("failure_reason"), 64),
        "evidence_due_by": due_by.isoformat() if due_by else None,
    }
    events = _timeline_events(
        envelope,
        email_identity,
        kind,
        _occurred_at(envelope, envelope.payload.get("created")),
        reference=charge_id,
        amount=amount,
        currency=currency,
        details=details,
    )
    customer = email_identity or _handle_customer(f"stripe-charge:{charge_id}" if charge_id else f"stripe:{obj_id}")
    return Normalised(timeline_events=events, ticket=_stripe_ticket(kind, obj_id, amount, currency, details, customer))


# --- the shop's contact form --------------------------------------------------------------------------


@dataclass(frozen=True)
class _ContactForm:
    customer: CustomerIdentity
    message: str
    subject: str | None
    order_number: str | None


def _optional_form_field(payload: dict[str, Any], field: str) -> str | None:
    value = payload.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise WebhookRejected(f"field '{field}' must be a string")
    if len(value) > _FORM_FIELD_LIMITS[field]:
        raise WebhookRejected(f"field '{field}' is longer than {_FORM_FIELD_LIMITS[field]} characters")
    return value.strip()


def _contact_form(payload: dict[str, Any]) -> _ContactForm:
    email = payload.get("email")
    customer = (
        email_customer(email, _optional_form_field(payload, "name"))
        if isinstance(email, str) and len(email) <= _MAX_EMAIL_CHARS
        else None
    )
    if customer is None:
        raise WebhookRejected("field 'email' is missing or not a valid email address")
    message = payload.get("message")
    if not isinstance(message, str) or not message.strip():
        raise WebhookRejected("field 'message' is missing or empty")
    if len(message) > MAX_FORM_MESSAGE_CHARS:
        raise WebhookRejected(f"field 'message' is longer than {MAX_FORM_MESSAGE_CHARS} characters")
    return _ContactForm(
        customer=customer,
        message=message.strip(),
        subject=_optional_form_field(payload, "subject"),
        order_number=_optional_form_field(payload, "order_number"),
    )


def _normalise_form(envelope: WebhookEnvelope) -> Normalised:
    form = _contact_form(envelope.payload)
    title = f"Contact form: order {form.order_number}" if form.order_number else "Contact form message"
    ticket = TicketOpening(
        customer=form.customer,
        subject=form.subject or "",
        title=title,
        body=form.message,
        external_id=envelope.dedupe_key,
        reference=form.order_number,
    )
    return Normalised(ticket=ticket)


# --- registry -----------------------------------------------------------------------------------------


def _verify_shopify_request(raw: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    verify_shopify(raw, headers, secret)


def _verify_woocommerce_request(raw: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    # WooCommerce sends its creation ping unsigned; it is let through because nothing is stored for it.
    if _woocommerce_ping(raw, headers) is None:
        verify_woocommerce(raw, headers, secret)


def _verify_stripe_request(raw: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    verify_stripe(raw, headers, secret, now=now)


def _verify_form_request(raw: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    verify_form(raw, headers, secret, now=now)


# social.py builds on the models and helpers above, so it is imported once they exist (the package's
# __init__ imports this module first, whichever webhooks module a caller names).
from supportpilot.webhooks.social import META_SOURCE, X_SOURCE  # noqa: E402

SOURCES: Mapping[str, WebhookSource] = MappingProxyType(
    {
        source.name: source
        for source in (
            WebhookSource("form", "form", _verify_form_request, _parse_form, _normalise_form),
            WebhookSource("shopify", "shopify", _verify_shopify_request, _parse_shopify, _normalise_shopify),
            WebhookSource(
                "woocommerce",
                "woocommerce",
                _verify_woocommerce_request,
                _parse_woocommerce,
                _normalise_woocommerce,
            ),
            WebhookSource("stripe", "stripe", _verify_stripe_request, _parse_stripe, _normalise_stripe),
            X_SOURCE,
            META_SOURCE,
        )
    }
)


def get_source(name: str) -> WebhookSource | None:
    return SOURCES.get(name)

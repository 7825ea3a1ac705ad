"""Parsing and normalisation of each source, driven by the API Gateway samples in events/receive_webhook/."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportpilot.identity import customer_key
from supportpilot.webhooks import (
    SOURCES,
    Normalised,
    Ping,
    WebhookEnvelope,
    WebhookRejected,
    get_source,
    sign_form,
    sign_shopify,
    sign_stripe,
    sign_woocommerce,
)
from supportpilot.webhooks.signatures import SignatureError

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "receive_webhook"
# X and Meta (many envelopes per request, GET checks) have their own tests in test_social.py.
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.glob("*.json") if not p.name.startswith(("x_", "meta_")))
SIGNATURE_HEADERS = {"x-shopify-hmac-sha256", "x-wc-webhook-signature", "stripe-signature", "x-supportpilot-signature"}
RECEIVED_AT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
NOW = 1_715_328_000
SECRET = "test-secret"


def _request(sample: str) -> tuple[bytes, dict[str, str]]:
    """The sample body and its unsigned (lower-cased) headers, as the receiving Lambda would see them."""
    event = json.loads((SAMPLES / sample).read_text())
    headers = {k.lower(): v for k, v in event["headers"].items() if k.lower() not in SIGNATURE_HEADERS}
    return event["body"].encode(), headers


def _envelope(sample: str) -> WebhookEnvelope:
    raw, headers = _request(sample)
    envelope = get_source(sample.split("_")[0]).parse(raw, headers, RECEIVED_AT)
    assert isinstance(envelope, WebhookEnvelope)
    # What the worker gets is what survived the queue.
    return WebhookEnvelope.model_validate_json(envelope.model_dump_json())


def _normalise(sample: str):
    envelope = _envelope(sample)
    return SOURCES[envelope.source].normalise(envelope)


def _email_id(address: str) -> str:
    return customer_key("email", address)


# --- registry and the full receive path ------------------------------------------------------------


def test_registry_knows_exactly_the_six_sources():
    assert set(SOURCES) == {"form", "shopify", "woocommerce", "stripe", "x", "meta"}
    assert all(source.name == name == source.secret_name for name, source in SOURCES.items())
    assert get_source("shopify") is SOURCES["shopify"]
    assert get_source("mollie") is None
    assert get_source("") is None


SIGNERS = {
    "shopify": lambda raw: sign_shopify(raw, SECRET),
    "woocommerce": lambda raw: sign_woocommerce(raw, SECRET),
    "stripe": lambda raw: sign_stripe(raw, SECRET, timestamp=NOW),
    "form": lambda raw: sign_form(raw, SECRET, timestamp=NOW),
}


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_every_sample_passes_verify_parse_normalise(sample):
    name = sample.split("_")[0]
    raw, headers = _request(sample)
    source = get_source(name)
    source.verify(raw, headers | SIGNERS[name](raw), SECRET, NOW + 5)
    with pytest.raises(SignatureError):
        source.verify(raw, headers, SECRET, NOW)
    envelope = source.parse(raw, headers, RECEIVED_AT)
    assert envelope.source == name
    assert envelope.dedupe_key.startswith(f"{name}:")
    normalised = source.normalise(envelope)
    assert normalised.timeline_events or normalised.ticket


# --- Shopify ------------------------------------------------------------------------------------------


def test_shopify_order_created():
    envelope = _envelope("shopify_orders_create.json")
    assert envelope.topic == "orders/create"
    assert envelope.dedupe_key == "shopify:98880550-7158-44d4-b7cd-2c97c8a091b5"
    (event,) = SOURCES["shopify"].normalise(envelope).timeline_events
    assert event.kind == "order_created"
    assert event.customer_id == _email_id("anna.jansen@example.nl")
    assert (event.reference, event.amount, event.currency) == ("#1001", "89.90", "EUR")
    assert event.occurred_at == datetime(2024, 5, 3, 10, 15, tzinfo=UTC)
    assert event.source == "shopify"
    assert event.details["financial_status"] == "paid"
    assert event.details["line_items"][0] == {
        "title": "Trail running shoes",
        "sku": "TRS-42-BLU",
        "quantity": 1,
        "price": "79.95",
    }
    assert "fulfillment_status" not in event.details  # null in the payload


def test_shopify_order_fulfilled_carries_tracking():
    (event,) = _normalise("shopify_orders_fulfilled.json").timeline_events
    assert event.kind == "order_fulfilled"
    assert event.customer_id == _email_id("tom.baker@example.com")
    assert event.details["fulfillment_status"] == "fulfilled"
    assert event.details["tracking"] == [
        {
            "company": "PostNL",
            "number": "3STEST0000000001",
            "url": "https://tracking.example.com/track/3STEST0000000001",
        }
    ]


def test_shopify_dispute_without_email_opens_a_ticket_on_the_order_handle():
    normalised = _normalise("shopify_disputes_create.json")
    assert normalised.timeline_events == []
    ticket = normalised.ticket
    assert ticket.customer.kind == "handle"
    assert ticket.customer.value == "shopify-order:4500000001"
    assert ticket.customer.id == customer_key("handle", "shopify-order:4500000001")
    assert ticket.subject == "Payment dispute opened: 89.90 EUR (reason: fraudulent)"
    assert ticket.external_id == "shopify:dispute:6300000001"
    assert "Amount: 89.90 EUR" in ticket.body and "Type: chargeback" in ticket.body


def test_shopify_dispute_with_email_also_goes_on_the_timeline():
    envelope = _envelope("shopify_disputes_create.json")
    envelope.payload["email"] = "anna.jansen@example.nl"
    normalised = SOURCES["shopify"].normalise(envelope)
    (event,) = normalised.timeline_events
    assert (event.kind, event.amount, event.currency) == ("dispute_created", "89.90", "EUR")
    assert normalised.ticket.customer.id == event.customer_id == _email_id("anna.jansen@example.nl")


def test_shopify_fulfillment_and_refund_topics():
    envelope = _envelope("shopify_orders_create.json")
    fulfillment = {
        "id": 5100000009,
        "order_id": 4500000001,
        "name": "#1001.1",
        "status": "success",
        "email": "anna.jansen@example.nl",
        "tracking_number": "3STEST0000000009",
        "updated_at": "2024-05-04T08:00:00Z",
    }
    update = envelope.model_copy(update={"topic": "fulfillments/update", "payload": fulfillment})
    (event,) = SOURCES["shopify"].normalise(update).timeline_events
    assert (event.kind, event.reference) == ("fulfillment_updated", "#1001.1")
    assert event.details["tracking"] == [{"number": "3STEST0000000009"}]

    refund = {
        "id": 8800000001,
        "order_id": 4500000001,
        "email": "anna.jansen@example.nl",
        "created_at": "2024-05-05T08:00:00+02:00",
        "transactions": [
            {"kind": "refund", "amount": "9.95", "currency": "EUR"},
            {"kind": "refund", "amount": "5.00", "currency": "EUR"},
            {"kind": "sale", "amount": "89.90", "currency": "EUR"},
        ],
        "refund_line_items": [{"quantity": 1, "line_item": {"title": "Running socks (3-pack)", "price": "9.95"}}],
    }
    created = envelope.model_copy(update={"topic": "refunds/create", "payload": refund})
    (event,) = SOURCES["shopify"].normalise(created).timeline_events
    assert (event.kind, event.amount, event.currency) == ("refund_created", "14.95", "EUR")
    assert event.details["line_items"] == [{"title": "Running socks (3-pack)", "quantity": 1, "price": "9.95"}]


def test_shopify_order_without_email_and_unknown_topics_produce_nothing():
    envelope = _envelope("shopify_orders_create.json")
    anonymous = {k: v for k, v in envelope.payload.items() if k not in ("email", "customer")}
    assert SOURCES["shopify"].normalise(envelope.model_copy(update={"payload": anonymous})).timeline_events == []
    unknown = envelope.model_copy(update={"topic": "app/uninstalled"})
    assert SOURCES["shopify"].normalise(unknown) == Normalised()


def test_shopify_order_phone_numbers_go_with_the_buyer_as_written_once_each():
    envelope = _envelope("shopify_orders_create.json")
    assert SOURCES["shopify"].normalise(envelope).shop_contact.phones == ["+31600000021"]  # customer.phone
    payload = envelope.payload | {
        "phone": "06 0000 0024",
        "billing_address": {"phone": "+31600000021"},
        "shipping_address": {"phone": "(020) 555 0100"},
    }
    contact = SOURCES["shopify"].normalise(envelope.model_copy(update={"payload": payload})).shop_contact
    assert contact.customer.id == _email_id("anna.jansen@example.nl")
    assert contact.phones == ["06 0000 0024", "+31600000021", "(020) 555 0100"]
    anonymous = {k: v for k, v in payload.items() if k not in ("email", "customer")}
    assert SOURCES["shopify"].normalise(envelope.model_copy(update={"payload": anonymous})).shop_contact is None
    without = envelope.payload | {"customer": {"email": "anna.jansen@example.nl", "phone": None}}
    assert SOURCES["shopify"].normalise(envelope.model_copy(update={"payload": without})).shop_contact is None


def test_shopify_dedupe_key_falls_back_to_webhook_id_and_requires_one():
    raw, headers = _request("shopify_orders_create.json")
    del headers["x-shopify-event-id"]
    envelope = SOURCES["shopify"].parse(raw, headers, RECEIVED_AT)
    assert envelope.dedupe_key == "shopify:b54557e4-bdd9-4b37-8a5f-bf7d70bcd041"
    del headers["x-shopify-webhook-id"]
    with pytest.raises(WebhookRejected, match="missing X-Shopify-Event-Id") as caught:
        SOURCES["shopify"].parse(raw, headers, RECEIVED_AT)
    assert caught.value.status == 400


def test_shopify_rejects_missing_topic_and_unsafe_ids():
    raw, headers = _request("shopify_orders_create.json")
    with pytest.raises(WebhookRejected, match="X-Shopify-Topic header"):
        SOURCES["shopify"].parse(raw, {k: v for k, v in headers.items() if k != "x-shopify-topic"}, RECEIVED_AT)
    with pytest.raises(WebhookRejected, match="X-Shopify-Event-Id header is missing or not a valid identifier"):
        SOURCES["shopify"].parse(raw, headers | {"x-shopify-event-id": "a\nb"}, RECEIVED_AT)


# --- WooCommerce --------------------------------------------------------------------------------------


def test_woocommerce_refunded_order_becomes_refund_created():
    envelope = _envelope("woocommerce_order_updated.json")
    assert envelope.dedupe_key == "woocommerce:order.updated:1205:2024-05-06T09:30:00"
    (event,) = SOURCES["woocommerce"].normalise(envelope).timeline_events
    assert event.kind == "refund_created"
    assert event.customer_id == _email_id("sanne.bakker@example.nl")
    assert (event.reference, event.amount, event.currency) == ("1205", "49.95", "EUR")
    assert event.occurred_at == datetime(2024, 5, 6, 9, 30, tzinfo=UTC)
    assert event.details["refunds"] == [{"id": "1210", "reason": "Item arrived damaged", "amount": "-49.95"}]
    assert event.details["line_items"][0]["price"] == "49.95"  # a JSON number in the payload, a string here


def test_woocommerce_billing_phone_goes_with_the_buyer():
    envelope = _envelope("woocommerce_order_updated.json")
    contact = SOURCES["woocommerce"].normalise(envelope).shop_contact
    assert (contact.customer.id, contact.phones) == (_email_id("sanne.bakker@example.nl"), ["06 0000 0022"])
    blank = envelope.payload | {"billing": envelope.payload["billing"] | {"phone": ""}}
    assert SOURCES["woocommerce"].normalise(envelope.model_copy(update={"payload": blank})).shop_contact is None


def test_woocommerce_order_created_and_updated():
    envelope = _envelope("woocommerce_order_updated.json")
    processing = envelope.payload | {"status": "processing"}
    updated = envelope.model_copy(update={"payload": processing})
    (event,) = SOURCES["woocommerce"].normalise(updated).timeline_events
    assert (event.kind, event.amount) == ("order_updated", "49.95")
    created = envelope.model_copy(update={"topic": "order.created", "payload": processing})
    assert SOURCES["woocommerce"].normalise(created).timeline_events[0].kind == "order_created"


def test_woocommerce_unknown_topic_needs_an_email():
    envelope = _envelope("woocommerce_order_updated.json")
    customer = {"id": 55, "email": "sanne.bakker@example.nl", "date_modified_gmt": "2024-05-06T09:30:00"}
    known = envelope.model_copy(update={"topic": "customer.updated", "payload": customer})
    (event,) = SOURCES["woocommerce"].normalise(known).timeline_events
    assert (event.kind, event.details) == ("customer_updated", {"resource_id": "55"})
    anonymous = envelope.model_copy(update={"topic": "product.updated", "payload": {"id": 801}})
    assert SOURCES["woocommerce"].normalise(anonymous).timeline_events == []


def test_woocommerce_dedupe_key_ignores_the_per_attempt_delivery_id():
    raw, headers = _request("woocommerce_order_updated.json")
    first = SOURCES["woocommerce"].parse(raw, headers, RECEIVED_AT)
    retry = SOURCES["woocommerce"].parse(raw, headers | {"x-wc-webhook-delivery-id": "other"}, RECEIVED_AT)
    assert first.dedupe_key == retry.dedupe_key
    payload = json.loads(raw)
    later = json.dumps(payload | {"date_modified_gmt": "2024-05-07T10:00:00"}).encode()
    assert SOURCES["woocommerce"].parse(later, headers, RECEIVED_AT).dedupe_key != first.dedupe_key
    without_gmt = json.dumps({k: v for k, v in payload.items() if k != "date_modified_gmt"}).encode()
    assert (
        SOURCES["woocommerce"].parse(without_gmt, headers, RECEIVED_AT).dedupe_key.endswith(":1205:2024-05-06T11:30:00")
    )


def test_woocommerce_deletion_without_date_dedupes_on_the_body():
    headers = {"content-type": "application/json", "x-wc-webhook-topic": "order.deleted"}
    first = SOURCES["woocommerce"].parse(b'{"id": 1205}', headers, RECEIVED_AT)
    again = SOURCES["woocommerce"].parse(b'{"id": 1205}', headers, RECEIVED_AT)
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key.startswith("woocommerce:order.deleted:1205:")


def test_woocommerce_requires_id_and_topic():
    headers = {"content-type": "application/json", "x-wc-webhook-topic": "order.updated"}
    with pytest.raises(WebhookRejected, match="payload field 'id'"):
        SOURCES["woocommerce"].parse(b'{"number": "1205"}', headers, RECEIVED_AT)
    with pytest.raises(WebhookRejected, match="X-WC-Webhook-Topic header"):
        SOURCES["woocommerce"].parse(b'{"id": 1}', {"content-type": "application/json"}, RECEIVED_AT)


def test_woocommerce_ping_is_accepted_unsigned_and_nothing_else_is():
    source = SOURCES["woocommerce"]
    form = {"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}
    source.verify(b"webhook_id=3", form, SECRET, NOW)
    assert source.parse(b"webhook_id=3", form, RECEIVED_AT) == Ping(webhook_id="3")
    with pytest.raises(SignatureError):
        source.verify(b"webhook_id=3&x=1", form, SECRET, NOW)
    with pytest.raises(SignatureError):
        source.verify(b"webhook_id=3", {"content-type": "application/json"}, SECRET, NOW)
    with pytest.raises(WebhookRejected, match="only as the WooCommerce ping"):
        source.parse(b"webhook_id=3&x=1", form, RECEIVED_AT)


# --- Stripe -------------------------------------------------------------------------------------------


def test_stripe_dispute_created_opens_a_ticket_and_records_the_event():
    envelope = _envelope("stripe_charge_dispute_created.json")
    assert (envelope.topic, envelope.dedupe_key) == ("charge.dispute.created", "stripe:evt_test_0001")
    normalised = SOURCES["stripe"].normalise(envelope)
    (event,) = normalised.timeline_events
    assert event.kind == "dispute_created"
    assert event.customer_id == _email_id("lisa.peeters@example.com")
    assert (event.amount, event.currency, event.reference) == ("49.95", "EUR", "ch_test_0001")
    assert event.occurred_at == datetime.fromtimestamp(1715328000, UTC)
    ticket = normalised.ticket
    assert ticket.subject == "Payment dispute opened: 49.95 EUR (reason: fraudulent)"
    assert ticket.external_id == "stripe:dp_test_0001"
    assert ticket.customer.id == event.customer_id
    assert "Charge: ch_test_0001" in ticket.body and "Amount: 49.95 EUR" in ticket.body


def test_stripe_refund_failed_opens_a_ticket_on_the_charge_handle():
    normalised = _normalise("stripe_refund_failed.json")
    assert normalised.timeline_events == []  # a refund object carries no customer email
    ticket = normalised.ticket
    assert ticket.subject == "Refund failed: 25.00 EUR (reason: expired_or_canceled_card)"
    assert (ticket.customer.kind, ticket.customer.value) == ("handle", "stripe-charge:ch_test_0002")
    assert ticket.external_id == "stripe:re_test_0001"


@pytest.mark.parametrize(
    ("currency", "minor_units", "expected"),
    [
        ("eur", 4995, "49.95"),
        ("usd", 5, "0.05"),
        ("jpy", 4995, "4995"),
        ("kwd", 4995, "4.995"),
        ("eur", 0, "0.00"),
    ],
)
def test_stripe_minor_units_become_decimal_strings(currency, minor_units, expected):
    envelope = _envelope("stripe_charge_dispute_created.json")
    envelope.payload["data"]["object"] |= {"amount": minor_units, "currency": currency}
    (event,) = SOURCES["stripe"].normalise(envelope).timeline_events
    assert (event.amount, event.currency) == (expected, currency.upper())


def test_stripe_other_types_and_emails():
    envelope = _envelope("stripe_charge_dispute_created.json")
    charge = {
        "id": "ch_test_0003",
        "object": "charge",
        "amount": 8990,
        "amount_refunded": 1000,
        "currency": "eur",
        "billing_details": {"email": "Lisa.Peeters@Example.com"},
    }
    refunded = envelope.model_copy(update={"topic": "charge.refunded"})
    refunded.payload["data"] = {"object": charge}
    normalised = SOURCES["stripe"].normalise(refunded)
    (event,) = normalised.timeline_events
    assert (event.kind, event.amount, event.reference) == ("charge_refunded", "10.00", "ch_test_0003")
    assert event.customer_id == _email_id("lisa.peeters@example.com")
    assert normalised.ticket is None
    unknown = envelope.model_copy(update={"topic": "customer.created"})
    assert SOURCES["stripe"].normalise(unknown) == Normalised()


def test_stripe_dispute_missing_amount_is_rejected_by_name():
    envelope = _envelope("stripe_charge_dispute_created.json")
    del envelope.payload["data"]["object"]["amount"]
    with pytest.raises(WebhookRejected, match=r"data\.object\.amount"):
        SOURCES["stripe"].normalise(envelope)


def test_stripe_requires_event_id_and_type():
    headers = {"content-type": "application/json"}
    with pytest.raises(WebhookRejected, match="payload field 'id'"):
        SOURCES["stripe"].parse(b'{"type": "refund.failed"}', headers, RECEIVED_AT)
    with pytest.raises(WebhookRejected, match="payload field 'type'"):
        SOURCES["stripe"].parse(b'{"id": "evt_test_1"}', headers, RECEIVED_AT)


# --- contact form -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "email", "subject"),
    [
        ("form_contact_nl.json", "pieter.visser@example.nl", "Waar blijft mijn bestelling?"),
        ("form_contact_en.json", "emily.carter@example.com", "Returning shoes that are too small"),
    ],
)
def test_form_opens_a_ticket_and_no_timeline_event(sample, email, subject):
    envelope = _envelope(sample)
    assert envelope.topic == "contact_form"
    normalised = SOURCES["form"].normalise(envelope)
    assert normalised.timeline_events == []
    ticket = normalised.ticket
    assert ticket.customer.id == _email_id(email)
    assert ticket.subject == subject
    assert ticket.body == json.loads(_request(sample)[0])["message"].strip()
    assert ticket.external_id == envelope.dedupe_key
    assert ticket.reference in ("#1003", "#1004")


def test_form_dedupe_key_is_the_body_digest():
    raw, headers = _request("form_contact_en.json")
    first = SOURCES["form"].parse(raw, headers, RECEIVED_AT)
    again = SOURCES["form"].parse(raw, headers, datetime(2024, 6, 2, tzinfo=UTC))
    other = SOURCES["form"].parse(raw.replace(b"Emily", b"Em"), headers, RECEIVED_AT)
    assert first.dedupe_key == again.dedupe_key != other.dedupe_key
    assert len(first.dedupe_key) == len("form:") + 64


def test_a_form_without_subject_gets_a_title_but_no_subject_triage_would_read():
    envelope = _envelope("form_contact_en.json")
    envelope.payload.pop("subject")
    ticket = SOURCES["form"].normalise(envelope).ticket
    assert (ticket.subject, ticket.title) == ("", "Contact form: order #1004")
    envelope.payload.pop("order_number")
    assert SOURCES["form"].normalise(envelope).ticket.title == "Contact form message"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": None}, "field 'email'"),
        ({"email": "not-an-address"}, "field 'email'"),
        ({"email": ["a@example.com"]}, "field 'email'"),
        ({"message": "   "}, "field 'message' is missing or empty"),
        ({"message": None}, "field 'message' is missing or empty"),
        ({"message": "x" * 20_001}, "field 'message' is longer than 20000 characters"),
        ({"subject": 5}, "field 'subject' must be a string"),
        ({"name": "n" * 201}, "field 'name' is longer than 200 characters"),
    ],
)
def test_form_rejects_bad_fields_at_parse_time_without_echoing_them(change, message):
    raw, headers = _request("form_contact_en.json")
    body = json.dumps(json.loads(raw) | change).encode()
    with pytest.raises(WebhookRejected, match=message) as caught:
        SOURCES["form"].parse(body, headers, RECEIVED_AT)
    assert caught.value.status == 400
    assert "not-an-address" not in str(caught.value)


def test_form_message_at_the_limit_is_accepted():
    raw, headers = _request("form_contact_en.json")
    body = json.dumps(json.loads(raw) | {"message": "x" * 20_000}).encode()
    assert SOURCES["form"].parse(body, headers, RECEIVED_AT).topic == "contact_form"


# --- content type and body checks shared by all sources -----------------------------------------------


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        (None, "none"),
        ("text/plain", "text/plain"),
        ("multipart/form-data; boundary=x", "multipart/form-data"),
        ("text/plain\r\nX-Evil: 1", "an unrecognised value"),
    ],
)
def test_wrong_content_type(name, content_type, shown):
    headers = {} if content_type is None else {"content-type": content_type}
    with pytest.raises(WebhookRejected, match=f"expected Content-Type application/json, got {shown}$"):
        SOURCES[name].parse(b"{}", headers, RECEIVED_AT)


@pytest.mark.parametrize("name", ["form", "shopify", "stripe"])
def test_form_encoded_bodies_are_only_for_woocommerce(name):
    form = {"content-type": "application/x-www-form-urlencoded"}
    with pytest.raises(WebhookRejected, match="expected Content-Type application/json"):
        SOURCES[name].parse(b"webhook_id=3", form, RECEIVED_AT)


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not a JSON object"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'"text"', "body is not a JSON object"),
        (b'{"a": NaN}', "body is not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "body is not a JSON object"),
        (b'{"a": ' + b"9" * 5000 + b"}", "body is not a JSON object"),
        (b'{"a": "\xff"}', "body is not valid UTF-8"),
        (b'{"a": "\\ud800"}', "unpaired UTF-16 surrogate"),
    ],
)
def test_malformed_bodies(name, body, message):
    headers = {"content-type": "application/json; charset=utf-8"}
    with pytest.raises(WebhookRejected, match=message):
        SOURCES[name].parse(body, headers, RECEIVED_AT)


def test_escaped_non_ascii_text_is_fine():
    headers = {"content-type": "application/json", "x-wc-webhook-topic": "order.updated"}
    body = b'{"id": 7, "date_modified_gmt": "2024-05-06T09:30:00", "note": "caf\\u00e9 \\ud83d\\ude00"}'
    assert SOURCES["woocommerce"].parse(body, headers, RECEIVED_AT).payload["note"] == "café 😀"


# --- stable event ids --------------------------------------------------------------------------------


def test_redelivery_maps_to_the_same_event_id_and_different_events_do_not():
    raw, headers = _request("shopify_orders_create.json")
    first = SOURCES["shopify"].normalise(SOURCES["shopify"].parse(raw, headers, RECEIVED_AT))
    redelivered = SOURCES["shopify"].normalise(
        SOURCES["shopify"].parse(raw, headers, datetime(2024, 6, 1, 13, 0, tzinfo=UTC))
    )
    assert first == redelivered
    other_event = headers | {"x-shopify-event-id": "11111111-2222-4333-8444-555555555555"}
    other = SOURCES["shopify"].normalise(SOURCES["shopify"].parse(raw, other_event, RECEIVED_AT))
    assert other.timeline_events[0].id != first.timeline_events[0].id


def test_dedupe_keys_differ_across_samples():
    keys = [_envelope(sample).dedupe_key for sample in SAMPLE_NAMES]
    assert len(set(keys)) == len(keys)


def test_platform_time_falls_back_to_received_at():
    envelope = _envelope("shopify_orders_create.json")
    envelope.payload["created_at"] = "yesterday"
    envelope.payload["updated_at"] = None
    (event,) = SOURCES["shopify"].normalise(envelope).timeline_events
    assert event.occurred_at == RECEIVED_AT

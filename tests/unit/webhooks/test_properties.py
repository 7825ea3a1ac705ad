"""Property tests: hostile headers and bodies only ever produce SignatureError / WebhookRejected."""

import contextlib
import json
import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportpilot.webhooks import (
    SOURCES,
    Normalised,
    Ping,
    SignatureError,
    WebhookEnvelope,
    WebhookRejected,
    verify_form,
    verify_shopify,
    verify_stripe,
    verify_woocommerce,
)

NOW = 1_715_328_000
RECEIVED_AT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
FAST = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 100)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SIGNATURE_HEADERS = [
    "x-shopify-hmac-sha256",
    "x-wc-webhook-signature",
    "stripe-signature",
    "x-supportpilot-signature",
]

# Header values built from the pieces the parsers look for, so examples get past the first check.
timestamped_value = st.lists(
    st.tuples(
        st.sampled_from(["t", "v1", "v0", "", " t", "T"]) | st.text(max_size=5),
        st.sampled_from([str(NOW), "-1", "9" * 30, "a" * 64, "0" * 64]) | st.text(max_size=70),
    ).map(lambda pair: "=".join(pair)),
    max_size=6,
).map(",".join)
header_value = st.text(max_size=100) | timestamped_value | st.binary(max_size=48).map(lambda b: b.hex())
headers_strategy = st.dictionaries(st.sampled_from(SIGNATURE_HEADERS) | st.text(max_size=20), header_value, max_size=4)


@FAST
@given(
    raw=st.binary(max_size=200),
    headers=headers_strategy,
    secret=st.text(max_size=20),
    now=st.integers(0, 2**40),
)
def test_verifiers_only_raise_signature_error(raw, headers, secret, now):
    for verify in (
        lambda: verify_shopify(raw, headers, secret),
        lambda: verify_woocommerce(raw, headers, secret),
        lambda: verify_stripe(raw, headers, secret, now=now),
        lambda: verify_form(raw, headers, secret, now=now),
    ):
        with contextlib.suppress(SignatureError):
            verify()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "id",
        "type",
        "email",
        "message",
        "name",
        "subject",
        "order_number",
        "date_modified_gmt",
        "data",
        "status",
    ]
)
json_objects = st.dictionaries(field_names | st.text(max_size=10), json_values, max_size=8)
bodies = st.binary(max_size=200) | json_objects.map(lambda obj: json.dumps(obj).encode())
request_headers = st.fixed_dictionaries(
    {
        "content-type": st.sampled_from(
            [
                "application/json",
                "application/json; charset=utf-8",
                "application/x-www-form-urlencoded",
                "text/plain",
            ]
        )
        | st.text(max_size=30),
    },
    optional={
        "x-shopify-topic": st.sampled_from(["orders/create", "disputes/create"]) | st.text(max_size=20),
        "x-shopify-event-id": st.text(max_size=40),
        "x-shopify-webhook-id": st.text(max_size=40),
        "x-wc-webhook-topic": st.sampled_from(["order.updated", "customer.updated"]) | st.text(max_size=20),
    },
)


@FAST
@given(raw=bodies, headers=request_headers)
def test_parse_only_raises_webhook_rejected(raw, headers):
    for source in SOURCES.values():
        try:
            result = source.parse(raw, headers, RECEIVED_AT)
        except WebhookRejected as rejected:
            assert rejected.status == 400
        else:
            assert isinstance(result, WebhookEnvelope | Ping | list)
            for envelope in result if isinstance(result, list) else [result]:
                if isinstance(envelope, WebhookEnvelope):
                    WebhookEnvelope.model_validate_json(envelope.model_dump_json())  # survives the queue


TOPICS = {
    "shopify": [
        *(f"orders/{event}" for event in ("create", "updated", "paid", "cancelled", "fulfilled")),
        *("fulfillments/create", "fulfillments/update", "refunds/create", "disputes/create"),
    ],
    "woocommerce": ["order.created", "order.updated", "customer.updated"],
    "stripe": ["charge.dispute.created", "charge.refunded", "refund.failed", "refund.updated"],
    "form": ["contact_form"],
}
# Payloads shaped like the real ones, with any field replaced by anything.
payloads = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers() | st.text(max_size=10),
        "email": st.sampled_from(["a@example.com", "bad"]) | json_values,
        "message": st.text(max_size=20) | json_values,
        "created_at": st.sampled_from(["2024-05-03T12:15:00+02:00", "0001-01-01T00:00:00+14:00"]) | json_values,
        "date_modified_gmt": json_values,
        "created": st.integers() | json_values,
        "status": st.sampled_from(["refunded"]) | json_values,
        "amount": st.sampled_from(["49.95"]) | json_values,
        "currency": st.sampled_from(["EUR"]) | json_values,
        "order_id": json_values,
        "total_price": json_values,
        "line_items": st.lists(st.dictionaries(field_names | st.sampled_from(["price", "quantity"]), json_values)),
        "refunds": st.lists(st.dictionaries(st.sampled_from(["id", "total", "reason"]), json_values)),
        "transactions": st.lists(st.dictionaries(st.sampled_from(["kind", "amount", "currency"]), json_values)),
        "billing": st.fixed_dictionaries({}, optional={"email": st.just("b@example.nl") | json_values}),
        "data": st.fixed_dictionaries(
            {},
            optional={
                "object": st.fixed_dictionaries(
                    {},
                    optional={
                        "id": st.just("dp_1") | json_values,
                        "amount": st.integers() | json_values,
                        "amount_refunded": st.integers(),
                        "currency": st.sampled_from(["eur", "jpy"]) | json_values,
                        "charge": json_values,
                        "receipt_email": json_values,
                        "evidence_details": st.fixed_dictionaries({"due_by": st.integers() | json_values}),
                    },
                )
            },
        ),
    },
)


@FAST
@given(source=st.sampled_from(sorted(TOPICS)), data=st.data(), payload=payloads)
def test_normalise_only_raises_webhook_rejected(source, data, payload):
    topic = data.draw(st.sampled_from(TOPICS[source]) | st.text(min_size=1, max_size=20))
    envelope = WebhookEnvelope(
        source=source, topic=topic, dedupe_key=f"{source}:x", received_at=RECEIVED_AT, payload=payload
    )
    try:
        normalised = SOURCES[source].normalise(envelope)
    except WebhookRejected:
        return
    assert isinstance(normalised, Normalised)
    for event in normalised.timeline_events:
        assert event.occurred_at.utcoffset().total_seconds() == 0
        assert event.amount is None or isinstance(event.amount, str)
    normalised.model_dump_json()

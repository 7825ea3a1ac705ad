"""POST /webhooks/{source} -> receive_webhook -> ingest -> classify, on the template's resources in moto."""

import base64
import json
import time
import uuid

import pytest

from supportpilot.identity import customer_key
from supportpilot.local.demo import sign_sample
from tests.conftest import load_event

FORM_HEADERS = {"Content-Type": "application/json"}


def form_body(**fields: str) -> bytes:
    values = {"email": "sam@example.com", "message": "Where is my order #1001?", "subject": "order"} | fields
    return json.dumps(values).encode()


@pytest.fixture
def ingest_queue_empty(pipeline):
    pipeline.drain()
    assert pipeline.queue_depth("IngestQueue") == 0
    return pipeline


def test_wrong_or_missing_signature_is_401_and_nothing_is_queued(ingest_queue_empty):
    pipeline = ingest_queue_empty
    body = form_body()
    forged = {**FORM_HEADERS, "X-SupportPilot-Signature": "t=1,v1=" + "0" * 64}
    assert pipeline.post_webhook("form", body, forged, sign=False)["status"] == 401
    missing = pipeline.post_webhook("form", body, FORM_HEADERS, sign=False)
    assert missing["status"] == 401 and "signature" in missing["body"]["error"]
    sample = load_event("receive_webhook/shopify_orders_create.json")
    tampered = sample["body"].replace("#1001", "#9999").encode()
    assert pipeline.post_webhook("shopify", tampered, sample["headers"], sign=False)["status"] == 401
    assert pipeline.queue_depth("IngestQueue") == 0


def test_unknown_source_is_404(ingest_queue_empty):
    response = ingest_queue_empty.post_webhook("mollie", b"{}", FORM_HEADERS, sign=False)
    assert response["status"] == 404


def test_malformed_json_and_wrong_content_type_are_400_with_a_clear_message(ingest_queue_empty):
    pipeline = ingest_queue_empty
    broken = pipeline.post_webhook("form", b'{"email": ', FORM_HEADERS)
    assert broken["status"] == 400 and "JSON" in broken["body"]["error"]
    as_text = pipeline.post_webhook("form", form_body(), {"Content-Type": "text/plain"})
    assert as_text["status"] == 400 and "Content-Type" in as_text["body"]["error"]
    no_email = pipeline.post_webhook("form", json.dumps({"message": "hi"}).encode(), FORM_HEADERS)
    assert no_email["status"] == 400 and "email" in no_email["body"]["error"]
    assert pipeline.queue_depth("IngestQueue") == 0


def test_body_over_the_limit_is_413(ingest_queue_empty):
    huge = form_body(message="x" * 200_000)
    assert ingest_queue_empty.post_webhook("form", huge, FORM_HEADERS)["status"] == 413


def test_base64_bodies_are_verified_on_their_decoded_bytes(ingest_queue_empty):
    pipeline = ingest_queue_empty
    body = form_body(message=f"Base64 delivered {uuid.uuid4().hex}")
    event = load_event("receive_webhook/form_contact_en.json")
    event["headers"] = {**FORM_HEADERS, **sign_sample("form", body, int(time.time()))}
    event["multiValueHeaders"] = None
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    response = pipeline.stack.functions["ReceiveWebhookFunction"].invoke(event)
    assert response["statusCode"] == 202


def test_a_contact_form_opens_a_ticket_that_gets_triaged(ingest_queue_empty):
    pipeline = ingest_queue_empty
    subject = f"Retour {uuid.uuid4().hex[:8]}"
    message = "Hallo, ik wil mijn schoenen retourneren, ze zijn te klein. Bestelling #1004."
    assert pipeline.post_webhook("form", form_body(subject=subject, message=message), FORM_HEADERS)["status"] == 202
    pipeline.drain()
    ticket = pipeline.ticket_with_subject(subject)
    assert ticket.channel == "form" and ticket.routing is not None
    assert ticket.triage is not None and ticket.triage.category == "return_request"
    assert ticket.language == "nl"


def test_a_contact_form_without_subject_is_triaged_on_the_customers_words(ingest_queue_empty):
    """The ticket's title "Contact form message" is the desk's, not the customer's: triage does not read it."""
    pipeline = ingest_queue_empty
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    body = json.dumps({"email": email, "message": "Hebben jullie deze jas ook in maat L?", "order_number": "1004"})
    assert pipeline.post_webhook("form", body.encode(), FORM_HEADERS)["status"] == 202
    pipeline.drain()
    (ticket,) = [t for t in pipeline.tickets() if t.customer.id == customer_key("email", email)]
    assert ticket.subject == "Contact form: order 1004"
    assert ticket.triage.category == "product_question" and not ticket.triage.needs_human


def test_a_redelivered_shopify_order_is_recorded_once_on_the_timeline(ingest_queue_empty):
    pipeline = ingest_queue_empty
    sample = load_event("receive_webhook/shopify_orders_create.json")
    order = json.loads(sample["body"])
    order["email"] = f"{uuid.uuid4().hex[:10]}@example.com"
    body = json.dumps(order).encode()
    headers = {**sample["headers"], "X-Shopify-Event-Id": str(uuid.uuid4())}
    for _ in range(3):
        assert pipeline.post_webhook("shopify", body, headers)["status"] == 202
    pipeline.drain()
    (event,) = pipeline.store.timeline(customer_key("email", order["email"]))
    assert event.kind == "order_created" and event.source == "shopify"


def test_a_stripe_dispute_opens_a_ticket_linked_to_its_timeline_event(ingest_queue_empty):
    pipeline = ingest_queue_empty
    sample = load_event("receive_webhook/stripe_charge_dispute_created.json")
    dispute = json.loads(sample["body"])
    dispute["id"] = f"evt_test_{uuid.uuid4().hex[:12]}"
    response = pipeline.post_webhook("stripe", json.dumps(dispute).encode(), sample["headers"])
    assert response["status"] == 202
    pipeline.drain()
    ticket = next(
        t for t in pipeline.tickets() if t.channel == "stripe" and t.subject.startswith("Payment dispute opened")
    )
    events = pipeline.store.timeline(ticket.customer.id)
    assert any(e.kind == "dispute_created" and e.ticket_id == ticket.id for e in events)


def test_the_woocommerce_creation_ping_gets_200_and_stores_nothing(ingest_queue_empty):
    pipeline = ingest_queue_empty
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = pipeline.post_webhook("woocommerce", b"webhook_id=42", headers, sign=False)
    assert response["status"] == 200
    assert pipeline.queue_depth("IngestQueue") == 0

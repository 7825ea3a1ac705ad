"""X and Meta through ReceiveWebhookFunction -> ingest -> classify, on the template's resources in moto."""

import base64
import hashlib
import hmac
import itertools
import json

import pytest

from supportpilot.identity import customer_key
from supportpilot.local.stack import DEMO_WEBHOOK_SECRETS
from supportpilot.models import Channel
from supportpilot.triage.interface import REASON_NO_REQUEST
from tests.conftest import load_event

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def ingest_queue_empty(pipeline):
    pipeline.drain()
    assert pipeline.queue_depth("IngestQueue") == 0
    return pipeline


_ids = itertools.count(100_000_000_000_000_001)


def _fake_id() -> str:
    """A fresh numeric id, so the deliveries of these tests never share a dedupe key or a customer."""
    return str(next(_ids))


def _sample_body(name: str) -> dict:
    return json.loads(load_event(f"receive_webhook/{name}.json")["body"])


def _tickets_of(pipeline, handle: str):
    return [t for t in pipeline.tickets() if t.customer.id == customer_key("handle", handle)]


def _was_triaged(pipeline, ticket) -> bool:
    """Triage ran (later stages may have moved the ticket on since)."""
    audit = pipeline.store.audit_trail(ticket.id)
    return ticket.triage is not None and any(entry.action == "triaged" for entry in audit)


def test_a_mention_on_x_becomes_a_triaged_ticket(ingest_queue_empty):
    pipeline = ingest_queue_empty
    body = _sample_body("x_mention")
    user_id = _fake_id()
    body["tweet_create_events"][0] |= {"id_str": _fake_id()}
    body["tweet_create_events"][0]["user"]["id_str"] = user_id
    response = pipeline.post_webhook("x", json.dumps(body).encode(), JSON)
    assert response == {"status": 200, "body": {"status": "accepted", "queued": "1"}}
    pipeline.drain()
    (ticket,) = _tickets_of(pipeline, f"x:{user_id}")
    assert ticket.channel == Channel.X and ticket.subject == "Mention on X"
    assert _was_triaged(pipeline, ticket)
    assert ticket.customer.display_name == "@test_customer_0099"


def test_a_thank_you_mention_is_read_as_the_customer_wrote_it(ingest_queue_empty):
    """Triage reads the post, not the desk's title "Mention on X" (English words that made the Dutch post English
    and hid that it asks nothing)."""
    pipeline = ingest_queue_empty
    body = _sample_body("x_mention")
    user_id = _fake_id()
    body["tweet_create_events"][0] |= {
        "id_str": _fake_id(),
        "text": "@ExampleShop bedankt voor de snelle hulp! \U0001f64f",
    }
    body["tweet_create_events"][0]["user"]["id_str"] = user_id
    assert pipeline.post_webhook("x", json.dumps(body).encode(), JSON)["status"] == 200
    pipeline.drain()
    (ticket,) = _tickets_of(pipeline, f"x:{user_id}")
    assert ticket.subject == "Mention on X"
    assert ticket.triage.language == "nl" and REASON_NO_REQUEST in ticket.triage.reasons


def test_a_redelivered_direct_message_opens_one_ticket(ingest_queue_empty):
    pipeline = ingest_queue_empty
    body = _sample_body("x_direct_message")
    sender = _fake_id()
    body["direct_message_events"][0] |= {"id": _fake_id()}
    body["direct_message_events"][0]["message_create"]["sender_id"] = sender
    raw = json.dumps(body).encode()
    for _delivery in range(2):
        assert pipeline.post_webhook("x", raw, JSON)["status"] == 200
    pipeline.drain()
    (ticket,) = _tickets_of(pipeline, f"x:{sender}")
    assert ticket.subject == "Direct message on X" and _was_triaged(pipeline, ticket)


def test_a_meta_batch_opens_a_ticket_per_message_and_skips_the_echo(ingest_queue_empty):
    pipeline = ingest_queue_empty
    instagram = _sample_body("meta_instagram_message")
    customer = _fake_id()
    instagram["entry"][0]["messaging"][0]["sender"]["id"] = customer
    instagram["entry"][0]["messaging"][0]["message"]["mid"] = f"aWdf{_fake_id()}"
    whatsapp = _sample_body("meta_whatsapp_message")
    whatsapp["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.{_fake_id()}="
    assert pipeline.post_webhook("meta", json.dumps(instagram).encode(), JSON)["body"]["queued"] == "1"
    assert pipeline.post_webhook("meta", json.dumps(whatsapp).encode(), JSON)["status"] == 200
    pipeline.drain()
    (from_instagram,) = _tickets_of(pipeline, f"meta:{customer}")
    assert from_instagram.channel == Channel.META and from_instagram.subject == "Message on Instagram"
    from_whatsapp = [t for t in _tickets_of(pipeline, "meta:447700900123") if t.subject == "Message on WhatsApp"]
    assert from_whatsapp and _was_triaged(pipeline, from_whatsapp[0])


def test_a_request_with_only_the_shops_own_events_is_answered_200_and_queues_nothing(ingest_queue_empty):
    pipeline = ingest_queue_empty
    body = _sample_body("x_direct_message")
    body["direct_message_events"] = body["direct_message_events"][1:]  # the shop's own reply only
    response = pipeline.post_webhook("x", json.dumps(body).encode(), JSON)
    assert response == {"status": 200, "body": {"status": "nothing to do"}}
    assert pipeline.queue_depth("IngestQueue") == 0


@pytest.mark.parametrize("source", ["x", "meta"])
def test_a_bad_or_missing_signature_is_401_and_nothing_is_queued(ingest_queue_empty, source):
    pipeline = ingest_queue_empty
    sample = load_event(f"receive_webhook/{'x_mention' if source == 'x' else 'meta_whatsapp_message'}.json")
    tampered = sample["body"].replace("Goedemiddag", "Goedenavond").replace("#1042", "#9999").encode()
    assert pipeline.post_webhook(source, tampered, sample["headers"], sign=False)["status"] == 401
    unsigned = pipeline.post_webhook(source, sample["body"].encode(), JSON, sign=False)
    assert unsigned["status"] == 401 and "signature" in unsigned["body"]["error"]
    assert pipeline.queue_depth("IngestQueue") == 0


def _invoke(pipeline, event: dict) -> dict:
    return pipeline.stack.functions["ReceiveWebhookFunction"].invoke(event)


def test_the_x_crc_check_is_answered_by_the_webhook_function(pipeline):
    event = load_event("receive_webhook/x_crc_check.json")
    response = _invoke(pipeline, event)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    token = event["queryStringParameters"]["crc_token"].encode()
    digest = hmac.new(DEMO_WEBHOOK_SECRETS["x"].encode(), token, hashlib.sha256).digest()
    assert json.loads(response["body"]) == {"response_token": "sha256=" + base64.b64encode(digest).decode()}


def test_the_meta_verification_is_echoed_only_for_the_right_token(pipeline):
    event = load_event("receive_webhook/meta_verification.json")
    response = _invoke(pipeline, event)
    assert (response["statusCode"], response["body"]) == (200, "1158201444")
    assert response["headers"]["Content-Type"] == "text/plain"
    event["queryStringParameters"]["hub.verify_token"] = "guessed-token"
    assert _invoke(pipeline, event)["statusCode"] == 403
    del event["queryStringParameters"]["hub.challenge"]
    assert _invoke(pipeline, event)["statusCode"] == 400


def test_a_get_to_a_source_without_a_check_is_404(pipeline):
    event = load_event("receive_webhook/x_crc_check.json")
    for source in ("shopify", "mollie"):
        event["pathParameters"] = {"source": source}
        assert _invoke(pipeline, event)["statusCode"] == 404

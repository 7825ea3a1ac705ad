"""A message that fails in a stage is retried, then parked in the stage's dead-letter queue, without
blocking the rest of its batch; no log line carries personal data."""

import io
import json
import logging
import re
import uuid

import boto3

from supportpilot.envelopes import ClassifyRequest
from tests.conftest import load_event


def send(pipeline, queue: str, body: str) -> None:
    boto3.client("sqs").send_message(QueueUrl=pipeline.stack.physical_id(queue), MessageBody=body)


def test_a_poison_message_goes_to_the_dead_letter_queue_and_the_rest_of_its_batch_succeeds(pipeline):
    pipeline.drain()
    subject = f"Batch neighbour {uuid.uuid4().hex[:8]}"
    send(pipeline, "IngestQueue", '{"kind": "webhook", "webhook": {"not": "an envelope"}}')
    sample = load_event("receive_webhook/form_contact_en.json")
    body = json.dumps({"email": "batch@example.com", "subject": subject, "message": "Where is my parcel?"})
    assert pipeline.post_webhook("form", body.encode(), sample["headers"])["status"] == 202
    pipeline.drain()
    assert pipeline.ticket_with_subject(subject).triage is not None
    (parked,) = pipeline.dead_letter_bodies("IngestDeadLetterQueue")
    assert "not" in parked


def test_classifying_a_missing_ticket_is_retried_then_dead_lettered(pipeline):
    pipeline.drain()
    missing = ClassifyRequest(ticket_id="01JD0000000000000000000000", message_id="01JD0000000000000000000001")
    send(pipeline, "ClassifyQueue", missing.model_dump_json())
    pipeline.drain()
    assert pipeline.queue_depth("ClassifyQueue") == 0
    assert missing.ticket_id in pipeline.dead_letter_bodies("ClassifyDeadLetterQueue")[0]


def test_an_ses_event_the_function_cannot_read_goes_to_its_failure_destination(pipeline):
    event = load_event("receive_mail/order_status_nl.json")
    event["Records"][0]["eventSource"] = "aws:sns"
    assert pipeline.ses.deliver(b"From: x@example.com\r\n\r\nhello", event) is False
    (parked,) = pipeline.dead_letter_bodies("ReceiveMailDeadLetterQueue")
    assert json.loads(parked)["requestPayload"]["Records"][0]["ses"]["mail"]["messageId"] == "order_status_nl"


PERSONAL_DATA = [
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),  # e-mail addresses
    re.compile(r"\+\d{1,3}[ -]?\d[\d -]{6,}\d"),  # phone numbers as the samples write them
]


def test_no_address_phone_number_or_message_body_reaches_the_logs(pipeline):
    function_logger = logging.getLogger("supportpilot")
    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(function_logger.handlers[0].formatter)
    function_logger.addHandler(capture)
    for name in ("order_status_nl", "html_only_en", "windows1252_nl", "attachment_en", "truncated"):
        pipeline.deliver_mail(name, f"{name}-{uuid.uuid4().hex[:8]}")
    for name in ("form_contact_nl", "shopify_orders_create", "stripe_charge_dispute_created"):
        pipeline.post_sample(name)
    pipeline.drain()
    function_logger.removeHandler(capture)
    logs = buffer.getvalue()
    assert "delivery ingested" in logs and "ticket triaged" in logs, "the test must see the function logs"
    for pattern in PERSONAL_DATA:
        assert not pattern.search(logs), pattern.pattern
    for fragment in ("waar mijn pakket", "Voorbeeld", "bestelling"):
        assert fragment not in logs

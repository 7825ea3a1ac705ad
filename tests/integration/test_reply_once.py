"""An operator's reply reaches the customer once: a double click or a client's retry of
POST /api/tickets/{id}/reply queues one reply, and a redelivered notify request mails it once."""

import inspect

import boto3
import pytest

from supportpilot.ports import StoreUnavailable
from tests.integration.test_operator_api import escalated_ticket
from tests.pipeline import mails_about

AGENT = "agent@example.com"


@pytest.fixture(scope="module")
def agent(pipeline) -> str:
    return pipeline.operator_token(AGENT)


def replies(pipeline, ticket_id: str, text: str) -> int:
    return sum(1 for m in pipeline.store.messages(ticket_id) if m.direction == "outbound" and text in m.body)


def reply(pipeline, token: str, ticket_id: str, text: str, key: str | None = None) -> dict:
    headers = {"Idempotency-Key": key} if key is not None else None
    return pipeline.call_operator_api("POST", f"/api/tickets/{ticket_id}/reply", token, {"text": text}, headers)


def test_a_retried_reply_with_the_same_idempotency_key_is_queued_and_mailed_once(pipeline, agent):
    ticket = escalated_ticket(pipeline)
    text = "We have sent a new lid today."
    first = reply(pipeline, agent, ticket.id, text, key="reply-7f3a")
    again = reply(pipeline, agent, ticket.id, text, key="reply-7f3a")
    assert first["status"] == again["status"] == 200 and first["body"] == again["body"]
    assert pipeline.queue_depth("NotifyQueue") == 1
    pipeline.drain()
    assert replies(pipeline, ticket.id, text) == 1 and mails_about(ticket.id, text) == 1
    queued = [e for e in pipeline.store.audit_trail(ticket.id) if e.action == "operator_reply_queued"]
    assert len(queued) == 1 and queued[0].detail["reply_id"] == first["body"]["detail"]["reply_id"]


def test_a_double_click_without_a_key_queues_one_reply_and_another_text_is_another_reply(pipeline, agent):
    ticket = escalated_ticket(pipeline)
    for _ in range(2):
        assert reply(pipeline, agent, ticket.id, "Thank you, we will look into it.")["status"] == 200
    assert reply(pipeline, agent, ticket.id, "One more thing: the lid ships today.")["status"] == 200
    pipeline.drain()
    assert replies(pipeline, ticket.id, "Thank you, we will look into it.") == 1
    assert replies(pipeline, ticket.id, "One more thing: the lid ships today.") == 1


def test_a_key_used_for_another_text_is_409_and_an_unusable_key_is_422(pipeline, agent):
    ticket = escalated_ticket(pipeline)
    assert reply(pipeline, agent, ticket.id, "First answer.", key="key-1")["status"] == 200
    reused = reply(pipeline, agent, ticket.id, "A different answer.", key="key-1")
    assert reused["status"] == 409 and "Idempotency-Key" in reused["body"]["message"]
    for unusable in ("x" * 256, "sp\u00e4ter", "two words"):
        refused = reply(pipeline, agent, ticket.id, "Another answer.", key=unusable)
        assert refused["status"] == 422 and refused["body"]["field"] == "Idempotency-Key"
    pipeline.drain()
    assert replies(pipeline, ticket.id, "A different answer.") == replies(pipeline, ticket.id, "Another answer.") == 0


def test_a_redelivered_notify_request_mails_the_reply_once(pipeline, agent):
    ticket = escalated_ticket(pipeline)
    text = "Your refund is on its way."
    assert reply(pipeline, agent, ticket.id, text, key="refund-1")["status"] == 200
    sqs, url = boto3.client("sqs"), pipeline.stack.physical_id("NotifyQueue")
    (queued,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=queued["ReceiptHandle"])
    for _ in range(2):  # SQS delivers at least once: the same request twice
        sqs.send_message(QueueUrl=url, MessageBody=queued["Body"])
    pipeline.drain()
    assert replies(pipeline, ticket.id, text) == 1 and mails_about(ticket.id, text) == 1


def test_a_reply_whose_first_request_failed_before_queueing_is_queued_by_the_retry(pipeline, agent, monkeypatch):
    ticket = escalated_ticket(pipeline)
    text = "Sorry for the wait: a new kettle ships today."
    handler = pipeline.stack.functions["OperatorApiFunction"].handler
    notify_queue = inspect.unwrap(handler).__globals__["desk"]._notify
    real_send = notify_queue.send

    def unavailable(work):
        raise StoreUnavailable("SQS send failed (ServiceUnavailable)")

    monkeypatch.setattr(notify_queue, "send", unavailable)
    with pytest.raises(StoreUnavailable):  # API Gateway answers 502: the console retries
        reply(pipeline, agent, ticket.id, text, key="kettle-1")
    monkeypatch.setattr(notify_queue, "send", real_send)

    retried = reply(pipeline, agent, ticket.id, text, key="kettle-1")
    assert retried["status"] == 200 and reply(pipeline, agent, ticket.id, text, key="kettle-1") == retried
    pipeline.drain()
    assert replies(pipeline, ticket.id, text) == 1 and mails_about(ticket.id, text) == 1


def test_a_reply_whose_delivery_is_unknown_stays_in_the_ticket_detail_after_a_later_reply_arrives(
    pipeline, agent, monkeypatch
):
    ticket = escalated_ticket(pipeline)
    notify_store = pipeline.handler_module("NotifyFunction").notifier._store
    real_record_sent = notify_store.record_sent

    def ticket_write_fails(*args, **kwargs):  # SES took the mail, then the ticket write failed
        raise StoreUnavailable("DynamoDB is unavailable (ThrottlingException)")

    monkeypatch.setattr(notify_store, "record_sent", ticket_write_fails)
    first = reply(pipeline, agent, ticket.id, "The replacement lid ships today.", key="lid-1")
    pipeline.drain()  # the first attempt fails; the redelivery finds the mail handed to SES and does not resend
    monkeypatch.setattr(notify_store, "record_sent", real_record_sent)
    assert reply(pipeline, agent, ticket.id, "Tracking follows tomorrow.", key="lid-2")["status"] == 200
    pipeline.drain()

    detail = pipeline.call_operator_api("GET", f"/api/tickets/{ticket.id}", agent)["body"]
    assert detail["ticket"]["customer_notified"] is True  # the latest reply arrived
    (unknown,) = detail["unconfirmed_sends"]
    assert unknown["detail"]["request_id"] == first["body"]["detail"]["reply_id"]
    assert unknown["detail"]["kind"] == "operator_reply" and unknown["actor"]["kind"] == "operator"
    assert "check whether the customer got it" in unknown["detail"]["reason"]
    assert mails_about(ticket.id, "The replacement lid ships today.") == 1
    assert unknown in [entry for entry in detail["audit"] if entry["action"] == "customer_notification_unknown"]

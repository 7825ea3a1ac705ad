"""An operator's reply reaches the customer once: a double click or a client's retry of
POST /api/tickets/{id}/reply queues one reply, and a redelivered notify request mails it once. A reply
whose delivery is unknown stays marked until an operator checks it (POST .../unconfirmed-sends/{id}/checked)."""

import inspect

import boto3
import pytest

from supportpilot.local.cognito import create_operator, sign_in
from supportpilot.local.stack import DEMO_OPERATOR_PASSWORD
from supportpilot.ports import StoreUnavailable
from tests.integration.test_operator_api import escalated_ticket, subject_of
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


def reply_of_unknown_delivery(pipeline, token: str, ticket_id: str, text: str, monkeypatch) -> str:
    """A reply SES took while the ticket write after it failed: the redelivery finds the mail handed to SES
    and does not send it again. Returns its request id."""
    notify_store = pipeline.handler_module("NotifyFunction").notifier._store

    def ticket_write_fails(*args, **kwargs):
        raise StoreUnavailable("DynamoDB is unavailable (ThrottlingException)")

    with monkeypatch.context() as patched:
        patched.setattr(notify_store, "record_sent", ticket_write_fails)
        queued = reply(pipeline, token, ticket_id, text)
        pipeline.drain()
    return queued["body"]["detail"]["reply_id"]


def check(pipeline, token: str, ticket_id: str, request_id: str, customer_got_it: bool) -> dict:
    path = f"/api/tickets/{ticket_id}/unconfirmed-sends/{request_id}/checked"
    return pipeline.call_operator_api("POST", path, token, {"customer_got_it": customer_got_it})


def test_a_reply_whose_delivery_is_unknown_stays_in_the_ticket_detail_after_a_later_reply_arrives(
    pipeline, agent, monkeypatch
):
    ticket = escalated_ticket(pipeline)
    first = reply_of_unknown_delivery(pipeline, agent, ticket.id, "The replacement lid ships today.", monkeypatch)
    assert reply(pipeline, agent, ticket.id, "Tracking follows tomorrow.", key="lid-2")["status"] == 200
    pipeline.drain()

    detail = pipeline.call_operator_api("GET", f"/api/tickets/{ticket.id}", agent)["body"]
    assert detail["ticket"]["customer_notified"] is True  # the latest reply arrived
    (unknown,) = detail["unconfirmed_sends"]
    assert unknown["detail"]["request_id"] == first
    assert unknown["detail"]["kind"] == "operator_reply" and unknown["actor"]["kind"] == "operator"
    assert "check whether the customer got it" in unknown["detail"]["reason"]
    assert mails_about(ticket.id, "The replacement lid ships today.") == 1
    assert unknown in [entry for entry in detail["audit"] if entry["action"] == "customer_notification_unknown"]


def test_an_operator_who_checked_that_the_customer_got_the_mail_clears_the_marker_and_the_audit_keeps_both(
    pipeline, agent, monkeypatch
):
    ticket = escalated_ticket(pipeline)
    request_id = reply_of_unknown_delivery(pipeline, agent, ticket.id, "Your parcel left today.", monkeypatch)
    before = pipeline.call_operator_api("GET", f"/api/tickets/{ticket.id}", agent)["body"]
    assert [e["detail"]["request_id"] for e in before["unconfirmed_sends"]] == [request_id]
    assert before["ticket"]["customer_notified"] is False

    checked = check(pipeline, agent, ticket.id, request_id, customer_got_it=True)
    assert checked["status"] == 200
    assert checked["body"]["detail"] == {
        "request_id": request_id,
        "customer_got_it": True,
        "checked_by": subject_of(agent),
        "unconfirmed_sends": [],
    }
    detail = pipeline.call_operator_api("GET", f"/api/tickets/{ticket.id}", agent)["body"]
    assert detail["unconfirmed_sends"] == []
    # That mail was the latest one, and it arrived.
    assert detail["ticket"]["customer_notified"] is True and detail["ticket"]["customer_notified_reason"] is None
    actions = [e["action"] for e in detail["audit"]]
    assert "customer_notification_unknown" in actions
    (entry,) = [e for e in detail["audit"] if e["action"] == "customer_notification_checked"]
    assert entry["actor"] == {"kind": "operator", "id": subject_of(agent), "version": None}
    assert entry["detail"] == {"request_id": request_id, "customer_got_it": True}


def test_checking_again_answers_the_first_check_and_another_answer_is_409_naming_who_checked(
    pipeline, agent, monkeypatch
):
    ticket = escalated_ticket(pipeline)
    request_id = reply_of_unknown_delivery(pipeline, agent, ticket.id, "We refunded the lid.", monkeypatch)
    first = check(pipeline, agent, ticket.id, request_id, customer_got_it=True)
    supervisor = pipeline.operator_token("supervisor@example.com")
    assert check(pipeline, supervisor, ticket.id, request_id, customer_got_it=True) == first
    contradicting = check(pipeline, supervisor, ticket.id, request_id, customer_got_it=False)
    assert contradicting["status"] == 409
    assert (
        subject_of(agent) in contradicting["body"]["message"] and "customer got it" in contradicting["body"]["message"]
    )
    checks = [e for e in pipeline.store.audit_trail(ticket.id) if e.action == "customer_notification_checked"]
    assert len(checks) == 1 and pipeline.store.get_ticket(ticket.id).customer_notified is True


def test_a_mail_the_customer_did_not_get_is_not_sent_again(pipeline, agent, monkeypatch):
    ticket = escalated_ticket(pipeline)
    text = "Your new kettle is on its way."
    request_id = reply_of_unknown_delivery(pipeline, agent, ticket.id, text, monkeypatch)
    checked = check(pipeline, agent, ticket.id, request_id, customer_got_it=False)
    assert checked["status"] == 200 and checked["body"]["detail"]["customer_got_it"] is False
    assert pipeline.queue_depth("NotifyQueue") == 0
    pipeline.drain()
    assert mails_about(ticket.id, text) == 1  # the one SES took before the ticket write failed
    detail = pipeline.call_operator_api("GET", f"/api/tickets/{ticket.id}", agent)["body"]
    assert detail["unconfirmed_sends"] == []
    assert detail["ticket"]["customer_notified"] is False
    assert "did not get this mail" in detail["ticket"]["customer_notified_reason"]


def test_checking_an_older_mail_leaves_how_the_latest_mail_went(pipeline, agent, monkeypatch):
    ticket = escalated_ticket(pipeline)
    request_id = reply_of_unknown_delivery(pipeline, agent, ticket.id, "A first answer.", monkeypatch)
    assert reply(pipeline, agent, ticket.id, "A second answer.")["status"] == 200
    pipeline.drain()
    assert check(pipeline, agent, ticket.id, request_id, customer_got_it=False)["status"] == 200
    stored = pipeline.store.get_ticket(ticket.id)
    assert stored.customer_notified is True and stored.customer_notified_reason is None


def test_a_check_that_crosses_a_newer_mail_of_unknown_delivery_leaves_the_newer_mails_flag(
    pipeline, agent, monkeypatch
):
    """Both unknown deliveries carry the same reason text: the ticket's flag must still not follow the older
    mail's check when the newer mail's outcome landed after the check read the audit trail."""
    ticket = escalated_ticket(pipeline)
    older = reply_of_unknown_delivery(pipeline, agent, ticket.id, "The lid ships today.", monkeypatch)
    newer = reply_of_unknown_delivery(pipeline, agent, ticket.id, "Tracking follows.", monkeypatch)
    operator_store = inspect.unwrap(pipeline.stack.functions["OperatorApiFunction"].handler).__globals__["desk"]._store
    audit_trail = operator_store.audit_trail

    def read_before_the_newer_mail(ticket_id):
        return [e for e in audit_trail(ticket_id) if e.detail.get("request_id") != newer]

    with monkeypatch.context() as patched:
        patched.setattr(operator_store, "audit_trail", read_before_the_newer_mail)
        crossed = check(pipeline, agent, ticket.id, older, customer_got_it=True)
    assert crossed["status"] == 409 and "reload" in crossed["body"]["message"]
    stored = pipeline.store.get_ticket(ticket.id)
    assert stored.customer_notified is False and "check whether" in stored.customer_notified_reason

    assert check(pipeline, agent, ticket.id, older, customer_got_it=True)["status"] == 200  # reloaded, checked again
    detail = pipeline.call_operator_api("GET", f"/api/tickets/{ticket.id}", agent)["body"]
    assert detail["ticket"]["customer_notified"] is False
    assert [e["detail"]["request_id"] for e in detail["unconfirmed_sends"]] == [newer]


def test_checking_a_request_without_unknown_delivery_is_404_and_an_operator_without_a_role_gets_403(
    pipeline, agent, monkeypatch
):
    ticket = escalated_ticket(pipeline)
    delivered = reply(pipeline, agent, ticket.id, "This one arrived.")["body"]["detail"]["reply_id"]
    pipeline.drain()
    unknown = reply_of_unknown_delivery(pipeline, agent, ticket.id, "This one may not have.", monkeypatch)
    for request_id in (delivered, "01JNOSUCHREQUEST0000000000"):
        missing = check(pipeline, agent, ticket.id, request_id, customer_got_it=True)
        assert missing["status"] == 404 and request_id in missing["body"]["message"]
    assert check(pipeline, agent, "01JNOSUCHTICKET00000000000", unknown, customer_got_it=True)["status"] == 404
    assert (
        pipeline.call_operator_api(
            "POST", f"/api/tickets/{ticket.id}/unconfirmed-sends/{unknown}/checked", agent, {"got_it": True}
        )["status"]
        == 422
    )

    (pool,) = pipeline.stack.user_pools.values()
    create_operator(pool, "no-role@example.com", "agent", DEMO_OPERATOR_PASSWORD)
    boto3.client("cognito-idp").admin_remove_user_from_group(
        UserPoolId=pool.pool_id, Username="no-role@example.com", GroupName="agent"
    )
    without_role = sign_in(pool, "no-role@example.com", DEMO_OPERATOR_PASSWORD)
    assert check(pipeline, without_role, ticket.id, unknown, customer_got_it=True)["status"] == 403
    detail = pipeline.call_operator_api("GET", f"/api/tickets/{ticket.id}", agent)["body"]
    assert [e["detail"]["request_id"] for e in detail["unconfirmed_sends"]] == [unknown]

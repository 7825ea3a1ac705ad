"""ingest -> classify -> enrich -> route -> notify and the escalation, end to end on the template's
resources in moto, driven by the samples in events/ (their dates shifted where a path depends on
how long ago something happened)."""

import email.message
import json
import threading
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from supportpilot.adapters.escalation_store import DynamoEscalationStore
from supportpilot.adapters.stepfunctions import StepFunctionsEscalationWorkflow
from supportpilot.escalation import EscalationConflict, EscalationService
from supportpilot.models import Ticket, TicketStatus
from supportpilot.ports import StoreUnavailable
from supportpilot.routing import default_policy
from tests.conftest import EVENTS, load_event
from tests.pipeline import mails_about


def post_shopify_order(pipeline, sample: str, **changes) -> None:
    event = load_event(f"receive_webhook/{sample}.json")
    order = json.loads(event["body"]) | changes
    headers = {**event["headers"], "X-Shopify-Event-Id": str(uuid.uuid4())}
    assert pipeline.post_webhook("shopify", json.dumps(order).encode(), headers)["status"] == 202


def mail_ticket(pipeline, eml: str) -> Ticket:
    pipeline.deliver_mail(eml, f"{eml}-{uuid.uuid4().hex[:8]}")
    pipeline.drain()
    return max((t for t in pipeline.tickets() if t.channel == "email"), key=lambda t: t.updated_at)


def auto_replies(pipeline, ticket_id: str) -> list:
    return [m for m in pipeline.store.messages(ticket_id) if m.direction == "outbound"]


def ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def shop(pipeline):
    """The shop's orders, as its webhooks would have recorded them before the customers wrote."""
    post_shopify_order(pipeline, "shopify_orders_create_vip")
    post_shopify_order(pipeline, "shopify_orders_create_kettle")
    post_shopify_order(pipeline, "shopify_orders_fulfilled")
    delivered = load_event("receive_webhook/shopify_orders_updated_delivered.json")
    order = json.loads(delivered["body"])
    order["fulfillments"][0]["updated_at"] = ago(3)
    post_shopify_order(pipeline, "shopify_orders_updated_delivered", created_at=ago(6), updated_at=ago(3))
    pipeline.drain()
    return pipeline


def test_an_order_status_with_known_tracking_is_answered_automatically_and_says_so(shop):
    ticket = mail_ticket(shop, "order_status_tracking_en")
    assert ticket.routing is not None and ticket.routing.automation_level == "auto_reply"
    assert ticket.status == TicketStatus.ROUTED and ticket.escalation is None
    (reply,) = [m for m in shop.store.messages(ticket.id) if m.direction == "outbound"]
    assert "3STEST0000000001" in reply.body
    assert "automated assistant" in reply.body
    assert ticket.customer_notified is True


def answered_tracking_question(shop) -> tuple[Ticket, str, str]:
    """A ticket answered with the tracking mail, of a customer of its own (contacts count in routing); with the
    customer's address and the question's Message-ID, for replies."""
    question_id = f"<{uuid.uuid4().hex}@mail.example.com>"
    customer = f"tom-{uuid.uuid4().hex[:8]}@example.com"
    order_id = 4_600_000_000 + uuid.uuid4().int % 1_000_000
    buyer = {"id": order_id, "email": customer, "first_name": "Tom", "last_name": "Baker"}
    order = {"id": order_id, "email": customer, "contact_email": customer, "customer": buyer}
    post_shopify_order(shop, "shopify_orders_fulfilled", **order)
    sample = (EVENTS / "mail" / "order_status_tracking_en.eml").read_bytes()
    question = sample.replace(b"<sample-tracking-1@mail.example.com>", question_id.encode())
    shop.deliver_raw_mail(question.replace(b"tom.baker@example.com", customer.encode()), uuid.uuid4().hex)
    shop.drain()
    ticket = max((t for t in shop.tickets() if t.channel == "email"), key=lambda t: t.updated_at)
    assert ticket.routing.automation_level == "auto_reply" and len(auto_replies(shop, ticket.id)) == 1
    return ticket, customer, question_id


def reply_to(shop, customer: str, question_id: str, body: str, subject: str = "When will my jacket arrive?") -> None:
    reply = email.message.EmailMessage()
    reply["From"] = customer
    reply["To"] = "support@shop.example.nl"
    reply["Subject"] = f"Re: {subject}"
    reply["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.com>"
    reply["In-Reply-To"] = question_id
    reply.set_content(body)
    shop.deliver_raw_mail(reply.as_bytes(), uuid.uuid4().hex)
    shop.drain()


def test_a_thank_you_for_an_automated_answer_gets_no_second_answer(shop):
    """Routed again, each "Thanks!" got the tracking mail once more: the machine answering thanks, forever."""
    ticket, customer, question_id = answered_tracking_question(shop)
    for body in ("Thanks!", "Great, thanks a lot for the quick answer!\n\nTom"):
        reply_to(shop, customer, question_id, body)
    after = shop.store.get_ticket(ticket.id)
    assert len(shop.inbound_messages(ticket.id)) == 3
    assert len(auto_replies(shop, ticket.id)) == 1
    assert after.status == TicketStatus.ROUTED
    assert (after.triage.category, after.triage.needs_human) == ("order_status", False)


def mailed_question(shop, subject: str = "Waar blijft mijn bestelling #1001?") -> tuple[Ticket, str, str]:
    """order_status_nl.eml from a customer of its own, with `subject` and a Message-ID of its own: its ticket, the
    customer's address and the Message-ID, for replies."""
    question_id = f"<{uuid.uuid4().hex}@mail.example.com>"
    customer = f"jan-{uuid.uuid4().hex[:8]}@example.nl"
    sample = (EVENTS / "mail" / "order_status_nl.eml").read_bytes()
    question = sample.replace(b"<sample-1@mail.example.com>", question_id.encode())
    question = question.replace(b"Waar blijft mijn bestelling #1001?", subject.encode())
    shop.deliver_raw_mail(question.replace(b"jan.voorbeeld@example.nl", customer.encode()), uuid.uuid4().hex)
    shop.drain()
    (ticket,) = [t for t in shop.tickets() if t.customer.value == customer]
    return ticket, customer, question_id


def test_a_reply_too_short_to_tell_its_language_keeps_the_conversation_in_its_language(shop):
    """A reply of only an order number is undetermined; it switched the ticket to English, and every mail after."""
    ticket, customer, question_id = mailed_question(shop, subject="Order #1001")
    assert ticket.language == "nl"
    reply_to(shop, customer, question_id, "4500123", subject="Order #1001")
    after = shop.store.get_ticket(ticket.id)
    assert len(shop.inbound_messages(ticket.id)) == 2
    assert after.triage.language == "und" and after.language == "nl"


def test_a_reply_that_asks_something_after_an_automated_answer_is_routed_again(shop):
    ticket, customer, question_id = answered_tracking_question(shop)
    reply_to(shop, customer, question_id, "Thanks, but the tracking has not moved for a week. Is it lost?")
    after = shop.store.get_ticket(ticket.id)
    (_, reply) = shop.inbound_messages(ticket.id)
    assert after.routing.message_id == reply.id


def test_an_auto_reply_whose_first_queueing_failed_reaches_the_customer_once_when_sqs_redelivers(shop, monkeypatch):
    notify_queue = shop.handler_module("RouteFunction").router._notify
    real_send, refused = notify_queue.send, []

    def unavailable_once(work):
        if not refused:
            refused.append(work)
            raise StoreUnavailable("SQS send failed (ServiceUnavailable)")
        real_send(work)

    monkeypatch.setattr(notify_queue, "send", unavailable_once)
    ticket = mail_ticket(shop, "order_status_tracking_en")  # drains: the route request is redelivered
    assert [work.kind for work in refused] == ["auto_reply"]
    assert ticket.routing is not None and ticket.routing.automation_level == "auto_reply"
    assert ticket.customer_notified is True and len(auto_replies(shop, ticket.id)) == 1

    # A route request delivered once more queues the auto-reply again; notify mails it once.
    route_request = {"ticket_id": ticket.id, "message_id": ticket.routing.message_id}
    boto3.client("sqs").send_message(
        QueueUrl=shop.stack.physical_id("RouteQueue"), MessageBody=json.dumps(route_request)
    )
    shop.drain()
    assert len(auto_replies(shop, ticket.id)) == 1 and mails_about(ticket.id, "3STEST0000000001") == 1


def test_a_redelivered_route_request_logs_no_warning_about_missing_metrics(shop):
    """A batch that decides nothing new adds no metric; Powertools' log_metrics warned "No application metrics to
    publish" in the route stage's logs for every such batch."""
    ticket = mail_ticket(shop, "order_status_tracking_en")
    route_request = {"ticket_id": ticket.id, "message_id": ticket.routing.message_id}
    boto3.client("sqs").send_message(
        QueueUrl=shop.stack.physical_id("RouteQueue"), MessageBody=json.dumps(route_request)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shop.drain()
    assert [str(w.message) for w in caught if "metrics" in str(w.message)] == []


def test_a_vip_with_a_late_order_goes_to_a_person_now_with_a_coupon_prepared(shop):
    ticket = mail_ticket(shop, "vip_late_order_nl")
    routing = ticket.routing
    assert routing is not None and routing.automation_level == "human_now" and routing.priority == "P1"
    assert any(reason.startswith("VIP") for reason in routing.reasons)
    assert routing.suggested_action is not None and routing.suggested_action.kind == "offer_coupon"
    assert ticket.status == TicketStatus.WAITING_ON_HUMAN
    ticket = shop.ticket_once(ticket.id, lambda t: t.escalation is not None)
    assert ticket.escalation is not None and ticket.escalation.state == "waiting"


def test_an_angry_third_contact_gets_a_person_now_and_an_empathy_hint(shop):
    for eml in ("angry_1_en", "angry_2_en"):
        mail_ticket(shop, eml)
    ticket = mail_ticket(shop, "angry_3_en")
    routing = ticket.routing
    assert ticket.triage is not None and ticket.triage.high_emotional_load
    assert routing is not None and routing.automation_level == "human_now"
    assert any("3 contacts in the last 7 days" in reason for reason in routing.reasons)
    assert routing.empathy_hint
    assert ticket.profile is not None and ticket.profile.contacts_last_7_days == 3


def test_a_return_inside_the_window_is_prepared_for_one_click_approval(shop):
    ticket = mail_ticket(shop, "return_inside_window_nl")
    routing = ticket.routing
    assert routing is not None and routing.automation_level == "suggest" and routing.queue == "returns"
    assert routing.suggested_action is not None and routing.suggested_action.kind == "approve_return"
    assert routing.suggested_action.status == "proposed"


def test_a_defect_is_handed_to_technical_support_with_its_order(shop):
    mail_ticket(shop, "html_only_en")
    ticket = mail_ticket(shop, "reply_with_token_en")  # the customer's follow-up on the same thread
    routing = ticket.routing
    assert routing is not None and routing.queue == "technical_support"
    assert routing.suggested_action is not None and routing.suggested_action.kind == "handoff_technical_support"
    assert "#1030" in json.dumps(routing.suggested_action.parameters)


@pytest.mark.parametrize(
    ("eml", "queue"), [("privacy_request_nl", "privacy"), ("out_of_scope_en", "general")], ids=["privacy", "oos"]
)
def test_privacy_requests_and_unknown_topics_go_to_a_person(shop, eml, queue):
    ticket = mail_ticket(shop, eml)
    assert ticket.routing is not None and ticket.routing.automation_level == "human_now"
    assert ticket.routing.queue == queue


def test_a_tweet_becomes_an_escalated_ticket_without_a_mail_to_anyone(shop):
    assert shop.post_sample("x_mention")["status"] == 200
    shop.drain()
    ticket = next(t for t in shop.tickets() if t.channel == "x")
    ticket = shop.ticket_once(ticket.id, lambda t: t.escalation is not None)
    assert ticket.routing is not None and ticket.escalation is not None
    assert ticket.customer_notified is False and "no mail address" in (ticket.customer_notified_reason or "")


def post_platform_event(pipeline, source: str, sample: str) -> Ticket:
    """A platform event that opens a ticket (a dispute, a failed refund), with ids of its own; its ticket, routed."""
    event = load_event(f"receive_webhook/{sample}.json")
    payload, headers = json.loads(event["body"]), dict(event["headers"])
    if source == "stripe":
        payload["id"] = f"evt_test_{uuid.uuid4().hex[:12]}"
        payload["data"]["object"]["id"] = object_id = f"obj_test_{uuid.uuid4().hex[:12]}"
        external_id = f"stripe:{object_id}"
    else:
        payload["id"] = 6_300_000_000 + uuid.uuid4().int % 1_000_000
        headers["X-Shopify-Event-Id"] = str(uuid.uuid4())
        external_id = f"shopify:dispute:{payload['id']}"
    assert pipeline.post_webhook(source, json.dumps(payload).encode(), headers)["status"] == 202
    pipeline.drain()
    (ticket,) = [
        t for t in pipeline.tickets() if any(external_id in m.external_ids for m in pipeline.inbound_messages(t.id))
    ]
    return pipeline.ticket_once(ticket.id, lambda t: t.escalation is not None)


@pytest.mark.parametrize(
    ("source", "sample", "category"),
    [
        ("stripe", "stripe_charge_dispute_created", "billing_error"),
        ("stripe", "stripe_refund_failed", "refund"),
        ("shopify", "shopify_disputes_create", "billing_error"),
    ],
    ids=["stripe-dispute", "stripe-refund-failed", "shopify-dispute"],
)
def test_a_payment_platforms_notice_goes_to_a_person_and_no_mail_thanks_the_payer_for_a_message(
    shop, source, sample, category
):
    ticket = post_platform_event(shop, source, sample)
    triage = ticket.triage
    assert triage is not None and triage.category == category and triage.needs_human
    # the desk's own words ("chargeback", "fraudulent") are no customer's anger
    assert triage.emotional_load == 0 and not triage.cues
    assert ticket.routing is not None and ticket.routing.automation_level == "human_now"
    assert ticket.routing.empathy_hint is None
    assert ticket.escalation is not None and ticket.escalation.state == "waiting"
    assert auto_replies(shop, ticket.id) == [] and ticket.acknowledged_at is None
    (triaged,) = [e for e in shop.store.audit_trail(ticket.id) if e.action == "triaged"]
    assert triaged.actor.kind == "system"


def test_every_ticket_is_acknowledged_once_even_if_the_request_is_redelivered(shop):
    ticket = mail_ticket(shop, "privacy_request_nl")
    notify_queue = shop.stack.physical_id("NotifyQueue")
    again = {"kind": "acknowledgement", "ticket_id": ticket.id, "message_id": ticket.triaged_message_id}
    boto3.client("sqs").send_message(QueueUrl=notify_queue, MessageBody=json.dumps(again))
    shop.drain()
    outbound = [m for m in shop.store.messages(ticket.id) if m.direction == "outbound"]
    assert len(outbound) == 1 and shop.store.get_ticket(ticket.id).acknowledged_at is not None


def test_a_claim_completes_the_escalation_and_a_second_claim_is_refused(shop):
    ticket = mail_ticket(shop, "out_of_scope_en")
    shop.ticket_once(ticket.id, lambda t: t.escalation is not None and t.escalation.state == "waiting")
    escalations = EscalationService(
        DynamoEscalationStore(boto3.client("dynamodb"), shop.stack.physical_id("DeskTable")),
        StepFunctionsEscalationWorkflow(
            boto3.client("stepfunctions"), shop.stack.physical_id("EscalationStateMachine")
        ),
    )
    assert escalations.claim(ticket.id, "operator-1").state == "claimed"
    with pytest.raises(EscalationConflict, match="operator-1"):
        escalations.claim(ticket.id, "operator-2")
    assert shop.store.get_ticket(ticket.id).escalation.claimed_by == "operator-1"


def test_a_failing_mail_channel_ends_in_the_dead_letter_queue_and_the_ticket_says_not_notified(shop):
    ses = boto3.client("ses")
    ses.delete_identity(Identity=shop.stack.parameters["SupportDomain"])
    try:
        ticket = mail_ticket(shop, "order_status_nl")
    finally:
        ses.verify_domain_identity(Domain=shop.stack.parameters["SupportDomain"])
    assert ticket.customer_notified is False and ticket.customer_notified_reason
    parked = [json.loads(body) for body in shop.dead_letter_bodies("NotifyDeadLetterQueue")]
    assert ("acknowledgement", ticket.id) in [(p["kind"], p["ticket_id"]) for p in parked]


class _FailingShop(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args) -> None:
        return


def test_a_shop_platform_that_fails_still_routes_the_ticket_marked_order_data_unavailable(shop):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FailingShop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secrets = boto3.client("secretsmanager")
    secret_id = shop.stack.physical_id("ShopConnectorSecret")
    secrets.put_secret_value(
        SecretId=secret_id,
        SecretString=json.dumps(
            {
                "platform": "shopify",
                "base_url": f"http://127.0.0.1:{server.server_address[1]}",
                "access_token": "shpat_test_0000",
                "timeout_s": 0.5,
            }
        ),
    )
    parameters.clear_caches()
    try:
        ticket = mail_ticket(shop, "order_status_nl")
    finally:
        secrets.put_secret_value(SecretId=secret_id, SecretString='{"platform": ""}')
        parameters.clear_caches()
        server.shutdown()
    assert ticket.profile is not None and ticket.profile.order_data_available is False
    assert any("order data unavailable: shopify" in note for note in ticket.profile.notes)
    assert ticket.routing is not None


def test_an_invalid_policy_override_keeps_the_previous_policy_and_a_valid_one_takes_over(shop):
    ssm = boto3.client("ssm")
    name = shop.stack.environment["ROUTING_POLICY_PARAMETER"]
    ssm.put_parameter(Name=name, Value='{"version": "not a policy"}', Type="String", Overwrite=True)
    ticket = mail_ticket(shop, "out_of_scope_en")
    assert ticket.routing is not None and ticket.routing.policy_version == default_policy().version
    newer = default_policy().model_copy(update={"version": "2099-01-01.1"})
    ssm.put_parameter(Name=name, Value=newer.model_dump_json(), Type="String", Overwrite=True)
    try:
        ticket = mail_ticket(shop, "out_of_scope_en")
    finally:
        ssm.delete_parameter(Name=name)
    assert ticket.routing is not None and ticket.routing.policy_version == "2099-01-01.1"

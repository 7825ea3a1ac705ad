"""The notify stage against moto: customer mail through SES, team alerts through SNS and chat webhooks."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from supportpilot.adapters.dynamodb import ticket_key
from supportpilot.adapters.notify_store import DynamoNotifyStore
from supportpilot.adapters.ses_mail import SesMailSender
from supportpilot.adapters.team_channels import ChatWebhookChannel, SnsTeamChannel
from supportpilot.envelopes import NotifyRequest
from supportpilot.ids import new_ulid
from supportpilot.mail.parse import parse_mail
from supportpilot.mail.threading import plus_address_ticket, tokens_in_subject
from supportpilot.models import (
    Channel,
    CustomerIdentity,
    CustomerProfile,
    Message,
    OrderSummary,
    RoutingDecision,
    Ticket,
)
from supportpilot.notify import NotificationFailed, Notifier
from supportpilot.notify.service import SEND_STATUS_UNKNOWN
from supportpilot.notify.templates import DISCLOSURE
from supportpilot.ports import DeliveryRecord, StoreUnavailable

SUPPORT = "support@shop.example.nl"
CUSTOMER = "jan.voorbeeld@example.nl"
SUBJECT = "Waar blijft mijn bestelling #1001?"
BODY = "Hoi, ik wacht al een week op mijn pakket. Mijn adres is Voorbeeldstraat 1."
TABLE = "desk"


@dataclass
class Desk:
    store: DynamoNotifyStore
    topic_arn: str
    alerts_queue_url: str
    notifier: Notifier

    def notify(self, kind: str, ticket_id: str, **fields) -> object:
        return self.notifier.notify(NotifyRequest(kind=kind, ticket_id=ticket_id, **fields))

    def sent_mail(self) -> list[bytes]:
        backend = ses_backends[DEFAULT_ACCOUNT_ID][boto3.session.Session().region_name]
        return [message.raw_data.encode() for message in backend.sent_messages]

    def published_alerts(self) -> list[str]:
        response = boto3.client("sqs").receive_message(QueueUrl=self.alerts_queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"])["Message"] for m in response.get("Messages", [])]

    def raw_ticket_item(self, ticket_id: str) -> dict:
        return boto3.client("dynamodb").get_item(TableName=TABLE, Key=ticket_key(ticket_id))["Item"]


def create_table() -> None:
    keys = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": hash_key, "KeyType": "HASH"},
                    {"AttributeName": range_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, hash_key, range_key in (
                ("customer-tickets", "gsi1pk", "gsi1sk"),
                ("open-by-queue", "gsi2pk", "gsi2sk"),
            )
        ],
    )


def team_topic_with_queue() -> tuple[str, str]:
    topic_arn = boto3.client("sns").create_topic(Name="team-alerts")["TopicArn"]
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="team-alerts-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


@pytest.fixture
def desk() -> Iterator[Desk]:
    with mock_aws():
        create_table()
        boto3.client("ses").verify_domain_identity(Domain="shop.example.nl")
        topic_arn, queue_url = team_topic_with_queue()
        store = DynamoNotifyStore(boto3.client("dynamodb"), TABLE, retention_days=30)
        notifier = Notifier(
            store, SesMailSender(boto3.client("ses")), [SnsTeamChannel(boto3.client("sns"), topic_arn)], SUPPORT
        )
        yield Desk(store, topic_arn, queue_url, notifier)


def open_ticket(
    desk: Desk,
    *,
    language: str = "nl",
    customer: CustomerIdentity | None = None,
    profile: CustomerProfile | None = None,
    routing: RoutingDecision | None = None,
) -> tuple[Ticket, Message]:
    """A ticket as ingest writes it: the customer's mail with its Message-ID as thread reference."""
    now = datetime.now(UTC)
    ticket = Ticket(
        id=new_ulid(),
        channel=Channel.EMAIL,
        customer=customer or CustomerIdentity(id="C-jan", kind="email", value=CUSTOMER),
        subject=SUBJECT,
        language=language,
        created_at=now,
        updated_at=now,
        profile=profile,
        routing=routing,
    )
    message = Message(
        id=new_ulid(),
        ticket_id=ticket.id,
        channel=Channel.EMAIL,
        received_at=now,
        subject=SUBJECT,
        body=BODY,
        external_ids=[f"{new_ulid().lower()}@mail.example.nl"],
    )
    desk.store.record_delivery(
        DeliveryRecord(
            dedupe_key=f"ses:{message.id}",
            ticket=ticket,
            is_new_ticket=True,
            message=message,
            thread_ids=message.external_ids,
        )
    )
    return ticket, message


# ---------- acknowledgements ----------


def test_an_acknowledgement_is_mailed_once_even_when_the_request_is_processed_twice(desk):
    ticket, message = open_ticket(desk)
    first = desk.notify("acknowledgement", ticket.id, message_id=message.id)
    second = desk.notify("acknowledgement", ticket.id, message_id=message.id)
    assert first.result == "sent" and second.result == "already_acknowledged"
    assert len(desk.sent_mail()) == 1
    stored = desk.store.get_ticket(ticket.id)
    assert stored.customer_notified is True and stored.acknowledged_at is not None
    (audit,) = [entry for entry in desk.store.audit_trail(ticket.id) if entry.action == "customer_notified"]
    assert audit.actor.kind == "system" and audit.actor.id == "notify"


def test_a_claim_taken_by_a_concurrent_worker_stops_the_second_acknowledgement(desk):
    ticket, _ = open_ticket(desk)

    class ReadBeforeTheOtherWorkersClaim(DynamoNotifyStore):
        def get_ticket(self, ticket_id: str) -> Ticket:
            return ticket

    assert desk.store.claim_acknowledgement(ticket.id, datetime.now(UTC))  # the other worker, mid-send
    stale_store = ReadBeforeTheOtherWorkersClaim(boto3.client("dynamodb"), TABLE, retention_days=30)
    notifier = Notifier(stale_store, SesMailSender(boto3.client("ses")), [], SUPPORT)
    outcome = notifier.notify(NotifyRequest(kind="acknowledgement", ticket_id=ticket.id))
    assert outcome.result == "already_acknowledged"
    assert desk.sent_mail() == []


def test_the_sent_mail_threads_under_the_customers_mail_and_their_reply_threads_back(desk):
    ticket, message = open_ticket(desk)
    outcome = desk.notify("acknowledgement", ticket.id, message_id=message.id)
    (raw,) = desk.sent_mail()
    sent = parse_mail(raw)
    assert sent.in_reply_to == (message.external_ids[0],)
    assert sent.references == (message.external_ids[0],)
    assert tokens_in_subject(sent.subject) == [ticket.id]
    assert sent.subject == f"Re: {SUBJECT} [#SP-{ticket.id}]"
    assert DISCLOSURE["nl"].split(".")[0] in sent.text
    assert sent.automated_reason is not None  # our own mail is never ingested as a customer message
    reply_to = raw.decode().split("Reply-To: ")[1].split("\r\n")[0]
    assert plus_address_ticket([reply_to], SUPPORT) == ticket.id

    (outbound,) = [m for m in desk.store.messages(ticket.id) if m.direction == "outbound"]
    assert outbound.id == outcome.message_id
    assert outbound.external_ids == [sent.message_id]
    body = BytesParser(policy=policy.default).parsebytes(raw).get_content()
    assert outbound.body == body.replace("\r\n", "\n")
    threaded = desk.store.find_ticket_by_thread([sent.message_id])
    assert threaded is not None and threaded.id == ticket.id


def test_a_later_reply_references_the_whole_mail_conversation(desk):
    ticket, first = open_ticket(desk)
    desk.notify("acknowledgement", ticket.id, message_id=first.id)
    acknowledgement_id = parse_mail(desk.sent_mail()[0]).message_id
    followup = first.model_copy(update={"id": new_ulid(), "external_ids": ["followup@mail.example.nl"]})
    desk.store.record_delivery(DeliveryRecord(dedupe_key="ses:followup", message=followup))
    desk.notify("operator_reply", ticket.id, text="Uw pakket is vandaag bezorgd.")
    reply = parse_mail(desk.sent_mail()[-1])
    assert reply.in_reply_to == ("followup@mail.example.nl",)
    assert reply.references == (first.external_ids[0], acknowledgement_id, "followup@mail.example.nl")


def test_when_ses_refuses_the_claim_is_released_and_the_ticket_says_the_customer_was_not_notified(desk):
    ticket, message = open_ticket(desk)
    unverified = Notifier(desk.store, SesMailSender(boto3.client("ses")), [], "support@unverified.example.com")
    with pytest.raises(NotificationFailed) as failure:
        unverified.notify(NotifyRequest(kind="acknowledgement", ticket_id=ticket.id, message_id=message.id))
    assert CUSTOMER not in str(failure.value) and failure.value.__cause__ is None
    stored = desk.store.get_ticket(ticket.id)
    assert stored.acknowledged_at is None and stored.customer_notified is False
    assert "MessageRejected" in desk.raw_ticket_item(ticket.id)["customer_notified_reason"]["S"]
    assert any(entry.action == "customer_not_notified" for entry in desk.store.audit_trail(ticket.id))

    retried = desk.notify("acknowledgement", ticket.id, message_id=message.id)  # SQS redelivers
    assert retried.result == "sent" and len(desk.sent_mail()) == 1
    assert desk.store.get_ticket(ticket.id).customer_notified is True
    assert "customer_notified_reason" not in desk.raw_ticket_item(ticket.id)


def test_a_customer_without_a_mail_address_is_recorded_as_not_notified(desk):
    handle = CustomerIdentity(id="C-x", kind="handle", value="@jan_voorbeeld")
    ticket, message = open_ticket(desk, customer=handle)
    outcome = desk.notify("acknowledgement", ticket.id, message_id=message.id)
    assert outcome.result == "not_notified" and outcome.reason == "not notified: channel has no mail address"
    assert desk.sent_mail() == []
    stored = desk.store.get_ticket(ticket.id)
    assert stored.customer_notified is False and stored.acknowledged_at is None


# ---------- automated and operator replies ----------


def ticket_with_a_parcel_in_transit(desk):
    """An English customer's open ticket; their order #1001 is on its way with a tracking link."""
    order = OrderSummary(
        reference="#1001",
        source=Channel.SHOPIFY,
        delivery_status="in_transit",
        tracking_number="3STEST0000001",
        tracking_url="https://track.example.com/3STEST0000001",
    )
    return open_ticket(desk, language="en", profile=CustomerProfile(customer_id="C-jan", orders=[order]))


def test_an_order_status_auto_reply_tells_the_english_customer_where_the_parcel_is(desk):
    ticket, message = ticket_with_a_parcel_in_transit(desk)
    outcome = desk.notify("auto_reply", ticket.id, message_id=message.id, template="order_status_tracking")
    assert outcome.result == "sent"
    text = parse_mail(desk.sent_mail()[0]).text
    assert "order #1001: it is on its way." in text and "3STEST0000001" in text
    assert DISCLOSURE["en"] in " ".join(text.split())
    (audit,) = [entry for entry in desk.store.audit_trail(ticket.id) if entry.action == "customer_notified"]
    assert audit.detail["template"] == "order_status_tracking"


def test_an_auto_reply_without_order_data_is_not_sent_and_the_ticket_says_why(desk):
    ticket, message = open_ticket(desk)
    outcome = desk.notify("auto_reply", ticket.id, message_id=message.id, template="order_status_tracking")
    assert outcome.result == "not_notified" and desk.sent_mail() == []
    assert desk.store.get_ticket(ticket.id).customer_notified is False


def test_an_operator_reply_is_mailed_without_the_automated_disclosure(desk):
    ticket, message = open_ticket(desk)
    desk.notify("operator_reply", ticket.id, message_id=message.id, text="Ik heb het nagevraagd: morgen bezorgd.")
    (raw,) = desk.sent_mail()
    sent = parse_mail(raw)
    assert sent.text == "Ik heb het nagevraagd: morgen bezorgd."
    assert b"Auto-Submitted" not in raw and b"X-SupportPilot-Loop: 1" in raw
    (audit,) = [entry for entry in desk.store.audit_trail(ticket.id) if entry.action == "customer_notified"]
    assert audit.actor.kind == "operator"


# ---------- at most once per request ----------


def test_a_redelivered_operator_reply_is_mailed_once(desk):
    ticket, _ = open_ticket(desk)
    request = NotifyRequest(kind="operator_reply", ticket_id=ticket.id, text="Morgen bezorgd.", operator_id="op-1")
    first = desk.notifier.notify(request)
    again = desk.notifier.notify(NotifyRequest.model_validate_json(request.model_dump_json()))  # SQS redelivers
    assert (first.result, again.result) == ("sent", "already_sent") and again.message_id == first.message_id
    assert len(desk.sent_mail()) == 1
    assert [m.direction for m in desk.store.messages(ticket.id)].count("outbound") == 1
    assert desk.store.get_ticket(ticket.id).customer_notified is True


def test_two_requests_with_the_same_text_are_two_replies(desk):
    ticket, _ = open_ticket(desk)
    for _ in range(2):
        desk.notify("operator_reply", ticket.id, text="Dank u wel!", operator_id="op-1")
    assert len(desk.sent_mail()) == 2


class TicketWriteFailsOnce(DynamoNotifyStore):
    """SES took the mail, then the ticket write failed (throttling, a timeout): the request is redelivered."""

    failed = False

    def record_sent(self, *args, **kwargs) -> None:
        if not self.failed:
            self.failed = True
            raise StoreUnavailable("DynamoDB is unavailable (ThrottlingException)")
        super().record_sent(*args, **kwargs)


def test_a_reply_redelivered_after_ses_took_it_is_not_sent_again_and_the_ticket_asks_a_person_to_check(desk):
    ticket, message = ticket_with_a_parcel_in_transit(desk)
    store = TicketWriteFailsOnce(boto3.client("dynamodb"), TABLE, retention_days=30)
    notifier = Notifier(store, SesMailSender(boto3.client("ses")), [], SUPPORT)
    request = NotifyRequest(
        kind="auto_reply", ticket_id=ticket.id, message_id=message.id, template="order_status_tracking"
    )
    with pytest.raises(StoreUnavailable):
        notifier.notify(request)
    assert len(desk.sent_mail()) == 1

    redelivered = notifier.notify(request)

    assert redelivered.result == "send_unknown" and len(desk.sent_mail()) == 1
    stored = desk.store.get_ticket(ticket.id)
    assert stored.customer_notified is False and stored.customer_notified_reason == SEND_STATUS_UNKNOWN
    (audit,) = [e for e in desk.store.audit_trail(ticket.id) if e.action == "customer_notification_unknown"]
    assert audit.detail == {
        "kind": "auto_reply",
        "reason": SEND_STATUS_UNKNOWN,
        "request_id": request.request_id,
        "message_id": redelivered.message_id,
    }
    assert notifier.notify(request).result == "send_unknown" and len(desk.sent_mail()) == 1


def test_a_reply_ses_refused_is_sent_when_sqs_retries_it(desk):
    ticket, _ = open_ticket(desk)
    request = NotifyRequest(kind="operator_reply", ticket_id=ticket.id, text="Morgen bezorgd.", operator_id="op-1")
    unverified = Notifier(desk.store, SesMailSender(boto3.client("ses")), [], "support@unverified.example.com")
    with pytest.raises(NotificationFailed):
        unverified.notify(request)
    assert desk.store.get_ticket(ticket.id).customer_notified is False

    assert desk.notifier.notify(request).result == "sent"
    assert len(desk.sent_mail()) == 1 and desk.store.get_ticket(ticket.id).customer_notified is True
    assert desk.notifier.notify(request).result == "already_sent" and len(desk.sent_mail()) == 1


# ---------- team alerts ----------


def routed() -> RoutingDecision:
    return RoutingDecision(
        queue="billing",
        priority="P1",
        automation_level="human_now",
        reasons=["possible double charge", "high emotional load"],
        context_summary="Customer Jan Voorbeeld, Voorbeeldstraat 1, was charged twice",
        policy_version="1",
    )


def test_a_team_alert_on_sns_names_the_ticket_and_routing_but_no_personal_data(desk):
    ticket, _ = open_ticket(desk, routing=routed())
    assert desk.notify("team_alert", ticket.id).result == "team_alerted"
    (alert,) = desk.published_alerts()
    assert ticket.id in alert
    assert "Queue: billing | Priority: P1 | Automation: human_now" in alert
    assert "possible double charge; high emotional load" in alert
    assert f"/tickets/{ticket.id}" in alert
    for personal in (CUSTOMER, "Voorbeeld", SUBJECT, "#1001", "pakket", "Voorbeeldstraat"):
        assert personal not in alert
    assert desk.sent_mail() == []


@dataclass
class ChatServer:
    status: int = 200
    posts: list[dict] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server_state = ChatServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            server_state.posts.append(json.loads(self.rfile.read(length)))
            self.send_response(server_state.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_port}/hooks/secret-token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()


def test_a_slack_webhook_receives_the_alert_text(desk, chat_server):
    ticket, _ = open_ticket(desk, routing=routed())
    notifier = Notifier(
        desk.store, SesMailSender(boto3.client("ses")), [ChatWebhookChannel("slack", chat_server.url)], SUPPORT
    )
    notifier.notify(NotifyRequest(kind="team_alert", ticket_id=ticket.id))
    (post,) = chat_server.posts
    assert set(post) == {"text"} and ticket.id in post["text"] and CUSTOMER not in post["text"]


def test_a_teams_webhook_receives_an_adaptive_card(desk, chat_server):
    ticket, _ = open_ticket(desk, routing=routed())
    ChatWebhookChannel("teams", chat_server.url).publish(
        f"SupportPilot: ticket {ticket.id} needs attention\nQueue: billing"
    )
    (post,) = chat_server.posts
    (attachment,) = post["attachments"]
    assert post["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert [block["text"] for block in card["body"]] == [
        f"SupportPilot: ticket {ticket.id} needs attention",
        "Queue: billing",
    ]


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_a_chat_webhook_answering_500_fails_the_alert_so_sqs_retries(desk, chat_server, kind):
    chat_server.status = 500
    ticket, _ = open_ticket(desk, routing=routed())
    channels = [SnsTeamChannel(boto3.client("sns"), desk.topic_arn), ChatWebhookChannel(kind, chat_server.url)]
    notifier = Notifier(desk.store, SesMailSender(boto3.client("ses")), channels, SUPPORT)
    with pytest.raises(NotificationFailed, match="HTTP 500") as failure:
        notifier.notify(NotifyRequest(kind="team_alert", ticket_id=ticket.id))
    assert "secret-token" not in str(failure.value)
    assert len(chat_server.posts) == 1
    assert not any(entry.action == "team_alerted" for entry in desk.store.audit_trail(ticket.id))


def test_a_retry_after_a_chat_webhook_failed_alerts_only_the_channels_that_missed_it(desk, chat_server):
    chat_server.status = 500
    ticket, _ = open_ticket(desk, routing=routed())
    channels = [SnsTeamChannel(boto3.client("sns"), desk.topic_arn), ChatWebhookChannel("slack", chat_server.url)]
    notifier = Notifier(desk.store, SesMailSender(boto3.client("ses")), channels, SUPPORT)
    request = NotifyRequest(kind="team_alert", ticket_id=ticket.id)
    with pytest.raises(NotificationFailed):
        notifier.notify(request)

    chat_server.status = 200
    assert notifier.notify(request).result == "team_alerted"  # SQS's retry of the same request
    assert notifier.notify(request).result == "already_alerted"  # and a redelivery after that

    assert len(desk.published_alerts()) == 1
    assert len(chat_server.posts) == 2  # the failed post and the retry's
    assert [entry.action for entry in desk.store.audit_trail(ticket.id)].count("team_alerted") == 1


def test_another_alert_request_for_the_same_ticket_alerts_again(desk):
    ticket, _ = open_ticket(desk, routing=routed())
    for _ in range(2):
        assert desk.notifier.notify(NotifyRequest(kind="team_alert", ticket_id=ticket.id)).result == "team_alerted"

    assert len(desk.published_alerts()) == 2

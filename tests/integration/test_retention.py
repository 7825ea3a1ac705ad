"""The store writes `expires_at` per data kind from its RetentionPolicy; without one, every kind
keeps TICKET_RETENTION_DAYS as before."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from supportpilot.adapters.dynamodb import DynamoTicketStore, deserialise
from supportpilot.identity import email_customer
from supportpilot.ids import new_ulid
from supportpilot.models import Actor, AuditEntry, Channel, Message, Ticket, TimelineEvent
from supportpilot.ports import DeliveryRecord
from supportpilot.retention import RetentionPolicy

START = datetime(2026, 3, 1, tzinfo=UTC)


def delivery() -> DeliveryRecord:
    customer = email_customer("retention.test@example.com")
    assert customer is not None
    ticket = Ticket(id=new_ulid(), channel=Channel.EMAIL, customer=customer, created_at=START, updated_at=START)
    message = Message(id=new_ulid(), ticket_id=ticket.id, channel=Channel.EMAIL, received_at=START)
    event = TimelineEvent(
        customer_id=customer.id, id=new_ulid(), kind="order_created", source=Channel.SHOPIFY, occurred_at=START
    )
    audit = AuditEntry(at=START, actor=Actor(kind="system", id="test"), action="ticket_opened")
    return DeliveryRecord(
        dedupe_key=f"test:{new_ulid()}",
        ticket=ticket,
        is_new_ticket=True,
        message=message,
        timeline_events=[event],
        audit=[audit],
    )


def days_kept_per_kind(pipeline, store: DynamoTicketStore, record: DeliveryRecord) -> dict[str, int]:
    store.record_delivery(record)
    assert record.ticket is not None
    pks = {f"TICKET#{record.ticket.id}", f"CUSTOMER#{record.ticket.customer.id}"}
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=pipeline.stack.physical_id("DeskTable"))
    items = [deserialise(item) for page in pages for item in page["Items"]]
    kept = {
        item["sk"].split("#")[0] or "TICKET": datetime.fromtimestamp(item["expires_at"], UTC) - START
        for item in items
        if item["pk"] in pks
    }
    return {kind: round(duration / timedelta(days=1)) for kind, duration in kept.items()}


@pytest.fixture
def table(pipeline) -> str:
    return pipeline.stack.physical_id("DeskTable")


def test_each_kind_expires_after_its_own_retention(pipeline, table):
    policy = RetentionPolicy.uniform(730, audit=3650, timeline_events=365)
    store = DynamoTicketStore(boto3.client("dynamodb"), table, 730, policy)
    assert days_kept_per_kind(pipeline, store, delivery()) == {
        "TICKET": 730,
        "MSG": 730,
        "AUDIT": 3650,
        "EVENT": 365,
    }


def test_without_a_policy_every_kind_keeps_the_ticket_retention(pipeline, table):
    store = DynamoTicketStore(boto3.client("dynamodb"), table, retention_days=400)
    kept = days_kept_per_kind(pipeline, store, delivery())
    assert set(kept.values()) == {400} and len(kept) == 4

"""Customer data requests on the local stack: export everything held about a customer, erase it
(also after a failure half-way), and leave a record without personal data."""

import json
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import deserialise
from supportpilot.adapters.privacy_store import DynamoCustomerRecords, S3MailObjects
from supportpilot.adapters.stepfunctions import StepFunctionsEscalationWorkflow
from supportpilot.ports import StoreUnavailable
from supportpilot.privacy import CustomerNotFound, DataRequestService, customer_id_for
from supportpilot.retention import RetentionPolicy
from tests.conftest import load_event

ALEX = "alex.example@example.com"
SAM = "sam.sample@example.com"


def data_requests(pipeline, s3=None) -> DataRequestService:
    records = DynamoCustomerRecords(
        boto3.client("dynamodb"), pipeline.stack.physical_id("DeskTable"), RetentionPolicy.uniform(730)
    )
    workflow = StepFunctionsEscalationWorkflow(
        boto3.client("stepfunctions"), pipeline.stack.physical_id("EscalationStateMachine")
    )
    return DataRequestService(
        records, S3MailObjects(s3 or boto3.client("s3"), pipeline.stack.physical_id("MailBucket")), workflow
    )


def deliver(pipeline, *emls: str) -> None:
    for eml in emls:
        pipeline.deliver_mail(eml, f"{eml}-{uuid.uuid4().hex[:8]}")
    pipeline.drain()


def post_order(pipeline, sample: str) -> None:
    event = load_event(f"receive_webhook/{sample}.json")
    headers = {**event["headers"], "X-Shopify-Event-Id": str(uuid.uuid4())}
    assert pipeline.post_webhook("shopify", event["body"].encode(), headers)["status"] == 202
    pipeline.drain()


def add_label(pipeline, ticket_id: str) -> None:
    """A human-verified label as the operator API stores it on the ticket's partition."""
    boto3.resource("dynamodb").Table(pipeline.stack.physical_id("DeskTable")).put_item(
        Item={"pk": f"TICKET#{ticket_id}", "sk": "LABEL#category", "kind": "label", "value": "complaint"}
    )


def table_items(pipeline) -> list[dict]:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=pipeline.stack.physical_id("DeskTable"))
    return [deserialise(item) for page in pages for item in page["Items"]]


def bucket_objects(pipeline) -> dict[str, bytes]:
    s3, bucket = boto3.client("s3"), pipeline.stack.physical_id("MailBucket")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [entry["Key"] for page in pages for entry in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def erasure_records(pipeline) -> list[dict]:
    return [item for item in table_items(pipeline) if item["pk"].startswith("ERASURE#")]


@pytest.fixture(scope="module")
def alex(pipeline) -> str:
    """Alex wrote with an attachment and ordered a kettle; Sam and Jan wrote too. (The tests below
    run in order: the erasure test removes Alex.)"""
    post_order(pipeline, "shopify_orders_create_kettle")
    deliver(pipeline, "attachment_en", "angry_1_en", "order_status_nl")
    ticket = next(t for t in pipeline.tickets() if t.customer.value == ALEX)
    add_label(pipeline, ticket.id)
    return customer_id_for(ALEX)


def test_an_admin_finds_the_customer_from_the_address_they_wrote_from(pipeline, alex):
    found = data_requests(pipeline).find_customer(" Alex.Example@Example.com ")
    assert found.customer_id == alex and found.ticket_ids and found.timeline_events >= 1
    with pytest.raises(CustomerNotFound):
        data_requests(pipeline).find_customer("nobody@example.com")


def test_an_export_holds_every_ticket_message_label_event_and_stored_object(pipeline, alex):
    export = data_requests(pipeline).export(alex)
    document = json.loads(export.model_dump_json())
    assert {identity["value"] for identity in document["identities"]} == {ALEX}
    (records,) = [r for r in export.tickets if "Damaged delivery" in r.ticket.subject]
    assert records.ticket.triage is not None and records.ticket.routing is not None
    (inbound,) = [m for m in records.messages if m.direction == "inbound"]
    assert "glass lid" in inbound.body
    assert [a.filename for a in inbound.attachments if a.s3_key] and inbound.raw_s3_key in export.raw_mail_keys
    assert {m.direction for m in records.messages} >= {"inbound", "outbound"}
    assert {entry.action for entry in records.audit} >= {"ticket_opened"}
    assert records.labels == [{"kind": "label", "value": "complaint"}]
    assert any(event.kind == "order_created" for event in export.timeline)
    stored = bucket_objects(pipeline)
    assert export.attachment_keys and all(key in stored for key in export.attachment_keys + export.raw_mail_keys)


def test_an_erasure_leaves_nothing_of_the_customer_and_one_record_without_personal_data(pipeline, alex):
    service = data_requests(pipeline)
    others_before = {who: service.export(customer_id_for(who)) for who in (SAM, "jan.voorbeeld@example.nl")}
    stored_keys = service.export(alex).raw_mail_keys + service.export(alex).attachment_keys

    report = service.erase(alex, requested_by="admin-1")

    assert report.nothing_left is False and report.counts["tickets"] >= 1
    assert report.counts["messages"] >= 2 and report.counts["labels"] == 1 and report.counts["timeline_events"] >= 1
    assert report.counts["mail_objects"] >= 2 and report.counts["thread_references"] >= 1
    remaining = json.dumps(table_items(pipeline), default=str).lower()
    for trace in (ALEX, "alex example", alex.lower()):
        assert trace not in remaining
    objects = bucket_objects(pipeline)
    assert not set(stored_keys) & set(objects)
    assert not [key for key, body in objects.items() if ALEX.encode() in body.lower()]
    (record,) = erasure_records(pipeline)
    assert record["requested_by"] == ["admin-1"] and record["completed_at"]
    assert alex not in json.dumps(record) and "alex" not in json.dumps(record).lower()
    for who, before in others_before.items():
        after = service.export(customer_id_for(who))
        assert after.model_dump(exclude={"exported_at"}) == before.model_dump(exclude={"exported_at"})
        assert all(key in objects for key in after.raw_mail_keys)


def test_erasing_a_customer_nobody_knows_changes_nothing(pipeline):
    items, objects = len(table_items(pipeline)), len(bucket_objects(pipeline))
    with pytest.raises(CustomerNotFound):
        data_requests(pipeline).erase(customer_id_for("nobody@example.com"), requested_by="admin-1")
    assert (len(table_items(pipeline)), len(bucket_objects(pipeline))) == (items, objects)


class S3DownAfter:
    """The S3 client, failing every delete_objects call after the first `working` ones."""

    def __init__(self, working: int):
        self._client = boto3.client("s3")
        self._working = working

    def delete_objects(self, **kwargs):
        if self._working == 0:
            raise ClientError({"Error": {"Code": "ServiceUnavailable"}}, "DeleteObjects")
        self._working -= 1
        return self._client.delete_objects(**kwargs)


def test_an_erasure_that_failed_half_way_completes_when_run_again_and_then_finds_nothing_left(pipeline):
    deliver(pipeline, "angry_1_en", "angry_2_en")
    sam = customer_id_for(SAM)
    tickets = data_requests(pipeline).find_customer(SAM).ticket_ids
    assert len(tickets) >= 2
    earlier_records = {record["id"] for record in erasure_records(pipeline)}

    with pytest.raises(StoreUnavailable):
        data_requests(pipeline, s3=S3DownAfter(working=1)).erase(sam, requested_by="admin-1")
    assert 0 < len(data_requests(pipeline).find_customer(SAM).ticket_ids) < len(tickets)

    report = data_requests(pipeline).erase(sam, requested_by="admin-2")
    assert report.nothing_left is False and report.counts["tickets"] == len(tickets)
    with pytest.raises(CustomerNotFound):
        data_requests(pipeline).export(sam)
    (record,) = [r for r in erasure_records(pipeline) if r["id"] not in earlier_records]
    assert record["requested_by"] == ["admin-1", "admin-2"] and record["completed_at"]

    again = data_requests(pipeline).erase(sam, requested_by="admin-2")
    assert again.nothing_left is True and again.counts == {} and again.erasure_id == report.erasure_id
    assert len(erasure_records(pipeline)) == len(earlier_records) + 1

"""An erasure through the operator API leaves nothing of the customer anywhere in the table or the
buckets: not in running escalations, unmatched calls, product-trend counts, CSAT votes, imported labels
or import markers (which stay, holding only ids). Everything it removes was in the export before."""

import contextlib
import json
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import deserialise, key_hash
from supportpilot.cli import main
from supportpilot.csat import CsatSigner
from supportpilot.identity import customer_key
from tests.integration.test_decision_chain import post_shopify_order
from tests.integration.test_insights import call_csat, signing_key

ALEX = "alex.example@example.com"  # the sender of events/mail/attachment_en.eml and buyer of the kettle
ALEX_ID = customer_key("email", ALEX)
ALEX_PHONE, ALEX_PHONE_WRITTEN = "+31600000011", "06 0000 0011"  # Alex shares it with Sam
SHARED_LATER = "+31600000012"  # Ivo's and Joke's, and Alex's only after a call from it waited unmatched
OTHERS_PHONE = "+31600000013"  # Piet's and Mies's: nothing to do with Alex
SAM = "sam.sample@example.com"


def call(**fields) -> dict:
    return {
        "direction": "inbound",
        "started_at": "2026-03-01T09:30:00+01:00",
        "duration_seconds": 120,
        "summary": "Asked about the kettle lid.",
        "outcome": "resolved",
        **fields,
    }


def table_items(pipeline) -> list[dict]:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=pipeline.stack.physical_id("DeskTable"))
    return [deserialise(item) for page in pages for item in page["Items"]]


def bucket_objects(pipeline) -> dict[str, bytes]:
    s3, objects = boto3.client("s3"), {}
    for logical_id in ("MailBucket", "ImportBucket"):
        bucket = pipeline.stack.physical_id(logical_id)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                objects[f"{logical_id}/{entry['Key']}"] = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
    return objects


def raw_ticket(pipeline, ticket_id: str) -> dict:
    key = {"pk": {"S": f"TICKET#{ticket_id}"}, "sk": {"S": "#TICKET"}}
    return boto3.client("dynamodb").get_item(TableName=pipeline.stack.physical_id("DeskTable"), Key=key)["Item"]


def execution_end(stepfunctions, execution_arn: str, task_token: str) -> str:
    """How the execution ended. moto's StopExecution only takes effect once the task the execution
    waits on returns (AWS ends it at once), so the test hands the task its token, as a late claim would."""
    with contextlib.suppress(ClientError):  # a stopped execution no longer takes its token, as in AWS
        stepfunctions.send_task_success(taskToken=task_token, output=json.dumps({"outcome": "claimed"}))
    for _ in range(200):
        status = stepfunctions.describe_execution(executionArn=execution_arn)["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.05)
    return status


def api(pipeline, token: str, method: str, path: str, body: dict | None = None) -> dict:
    response = pipeline.call_operator_api(method, path, token, body)
    assert response["status"] == 200, response
    return response["body"]


def run_import(pipeline, path) -> dict:
    main(["import", "--source", "csv", str(path), "--table", pipeline.stack.physical_id("DeskTable")])


@pytest.fixture(scope="module")
def alex(pipeline, tmp_path_factory) -> dict:
    """Everything the desk learns about Alex, from every source, and the same for a few others."""
    agent = pipeline.operator_token("agent@example.com")
    post_shopify_order(pipeline, "shopify_orders_create_kettle")
    pipeline.drain()
    pipeline.deliver_mail("attachment_en", f"attachment_en-{uuid.uuid4().hex[:8]}")
    pipeline.drain()
    (mailed,) = pipeline.store.tickets_of_customer(ALEX_ID)
    mailed = pipeline.ticket_at_rest(mailed.id)

    key = signing_key(pipeline)
    assert call_csat(pipeline, "POST", CsatSigner(key).token(mailed.id), "2")["status"] == 200

    api(pipeline, agent, "POST", "/api/calls", call(email=ALEX, phone=ALEX_PHONE_WRITTEN))
    api(pipeline, agent, "POST", "/api/calls", call(email=SAM, phone=ALEX_PHONE))
    for email, phone in (("ivo@example.nl", SHARED_LATER), ("joke@example.nl", SHARED_LATER)):
        api(pipeline, agent, "POST", "/api/calls", call(email=email, phone=phone))
    for email in ("piet@example.nl", "mies@example.nl"):
        api(pipeline, agent, "POST", "/api/calls", call(email=email, phone=OTHERS_PHONE))
    unmatched = {
        phone: api(pipeline, agent, "POST", "/api/calls", call(phone=phone))["call_id"]
        for phone in (ALEX_PHONE, SHARED_LATER, OTHERS_PHONE)
    }
    api(pipeline, agent, "POST", "/api/calls", call(email=ALEX, phone=SHARED_LATER))  # now Alex's too

    export = tmp_path_factory.mktemp("import") / "history.csv"
    export.write_text(
        "ticket_id,created_at,email,phone,name,subject,body,category,tags,status\n"
        f"H-1,2025-01-05T10:00:00Z,{ALEX},{ALEX_PHONE_WRITTEN},Alex Example,Lid,The lid cracked.,Defect,,closed\n"
    )
    run_import(pipeline, export)
    pipeline.drain()
    return {"mailed": mailed, "unmatched": unmatched, "import_file": export, "agent": agent}


def test_the_export_holds_the_csat_vote_complaints_imported_label_contact_points_and_unmatched_calls(pipeline, alex):
    admin = pipeline.operator_token("admin@example.com")
    export = api(pipeline, admin, "GET", f"/api/customers/{ALEX_ID}/export")
    records = {r["ticket"]["id"]: r for r in export["tickets"]}
    mailed = records[alex["mailed"].id]
    assert mailed["ticket"]["csat"]["rating"] == 2
    assert [c["sku"] for c in mailed["complaints"]] == ["KET-GL-17"]
    (imported,) = [r for r in export["tickets"] if r["ticket"]["channel"] == "import"]
    assert [i["origin"] for i in imported["other_items"] if i.get("origin")] == ["imported"]
    assert {point.get("value") for point in export["contact_points"]} >= {ALEX}
    assert len([p for p in export["contact_points"] if p.get("gsi2pk", "").startswith("PHONE#")]) == 0  # keys left out
    phone_points = [p for p in export["contact_points"] if p.get("customer_id") == ALEX_ID and "value" not in p]
    assert len(phone_points) == 2
    waiting = {contact["id"] for contact in export["unmatched_contacts"]}
    assert waiting == {alex["unmatched"][ALEX_PHONE], alex["unmatched"][SHARED_LATER]}
    assert {e["kind"] for e in export["timeline"]} >= {"order_created", "call", "imported_ticket"}


def test_an_erasure_stops_escalations_and_leaves_no_trace_of_the_customer_anywhere(pipeline, alex):
    admin = pipeline.operator_token("admin@example.com")
    before = api(pipeline, admin, "GET", f"/api/customers/{ALEX_ID}/export")
    ticket_ids = [r["ticket"]["id"] for r in before["tickets"]]
    execution_arn = alex["mailed"].escalation.execution_arn
    task_token = raw_ticket(pipeline, alex["mailed"].id)["escalation_task_token"]["S"]
    stepfunctions = boto3.client("stepfunctions")
    assert stepfunctions.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"

    report = api(pipeline, admin, "DELETE", f"/api/customers/{ALEX_ID}")

    counts = report["counts"]
    assert counts["escalations_stopped"] == 1 and counts["complaints"] == 1 and counts["unmatched_contacts"] == 2
    assert counts["tickets"] == len(ticket_ids)
    assert execution_end(stepfunctions, execution_arn, task_token) == "ABORTED"

    items = table_items(pipeline)
    sam_partition = f"CUSTOMER#{customer_key('email', SAM)}"
    for item in items:
        text = json.dumps(item, default=str).lower()
        for trace in (ALEX, "alex example", ALEX_ID.lower(), ALEX_PHONE, ALEX_PHONE_WRITTEN, "0600000011"):
            assert trace not in text, item
        if key_hash(ALEX_PHONE) in text:  # the number is Sam's too: his contact point stays
            assert item["pk"] == sam_partition, item
        if any(ticket_id.lower() in text for ticket_id in ticket_ids):  # markers keep redeliveries out
            assert item["pk"].startswith("DELIVERY#") and set(item) <= {
                "pk",
                "sk",
                "kind",
                "received_at",
                "ticket_id",
                "message_id",
                "expires_at",
            }, item
    for key, body in bucket_objects(pipeline).items():
        for trace in (ALEX.encode(), b"Alex Example", ALEX_PHONE.encode(), ALEX_PHONE_WRITTEN.encode()):
            assert trace not in body, key

    agent = alex["agent"]
    still_waiting = {c["id"] for c in api(pipeline, agent, "GET", "/api/calls/unmatched")}
    assert alex["unmatched"][OTHERS_PHONE] in still_waiting
    assert not {alex["unmatched"][ALEX_PHONE], alex["unmatched"][SHARED_LATER]} & still_waiting
    sam = api(pipeline, agent, "GET", f"/api/customers/{customer_key('email', SAM)}/timeline")
    assert [e["kind"] for e in sam["events"]] == ["call"]


def test_running_the_same_import_again_does_not_bring_the_erased_customer_back(pipeline, alex):
    run_import(pipeline, alex["import_file"])
    admin = pipeline.operator_token("admin@example.com")
    assert pipeline.call_operator_api("GET", f"/api/customers/{ALEX_ID}/export", admin)["status"] == 404
    for item in table_items(pipeline):  # nor their identity, imported messages or imported label
        text = json.dumps(item, default=str).lower()
        assert ALEX not in text and "the lid cracked" not in text and item.get("sk") != "IMPORTED_LABEL", item

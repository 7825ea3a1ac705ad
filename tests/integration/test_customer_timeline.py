"""One timeline per customer: logged calls, Amazon Connect contacts and imported helpdesk history,
through the operator API, the Connect and import functions and `supportpilot import`."""

import csv
import inspect
import json
import logging
import shutil
from pathlib import Path

import boto3
import pytest
import requests

from supportpilot.adapters.timeline_store import DynamoTimelineStore
from supportpilot.cli import main
from supportpilot.identity import customer_key
from supportpilot.lambda_entry import BatchFailed
from supportpilot.models import Channel, TicketStatus
from supportpilot.timeline.import_jobs import ExportUploaded, ImportJobRunner
from tests.conftest import PROJECT_ROOT, load_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
ANNE = customer_key("email", "anne@example.nl")
PERSONAL = ["anne@example.nl", "Anne Voorbeeld", "0000 0001", "600000001", "bob@example.com", "Ik wacht al een week"]


def call(**overrides) -> dict:
    body = {
        "direction": "inbound",
        "started_at": "2026-03-01T09:30:00+01:00",
        "duration_seconds": 240,
        "summary": "Customer asks where order 1042 is; promised to check with the carrier.",
        "outcome": "callback_promised",
    }
    return {**body, **overrides}


@pytest.fixture(scope="module")
def agent(pipeline) -> str:
    return pipeline.operator_token("agent@example.com")


@pytest.fixture(scope="module")
def admin(pipeline) -> str:
    return pipeline.operator_token("admin@example.com")


def timeline(pipeline, token: str, customer_id: str) -> dict:
    response = pipeline.call_operator_api("GET", f"/api/customers/{customer_id}/timeline", token)
    assert response["status"] == 200, response
    return response["body"]


def run_import(pipeline, source: str, path: Path, *extra: str) -> int:
    return main(["import", "--source", source, str(path), "--table", pipeline.stack.physical_id("DeskTable"), *extra])


# ---------- calls ----------
def test_a_call_that_needs_a_follow_up_becomes_a_phone_ticket_through_the_pipeline(pipeline, agent):
    response = pipeline.call_operator_api(
        "POST", "/api/calls", agent, call(email="carla@example.nl", phone="06 0000 0002", follow_up=True)
    )
    assert response["status"] == 200, response
    logged = response["body"]
    assert logged["matched"] and logged["customer_id"] == customer_key("email", "carla@example.nl")
    assert logged["triage"]["category"] and "emotional_load" in logged["triage"]
    pipeline.drain()
    ticket = pipeline.store.get_ticket(logged["ticket_id"])
    assert ticket.channel == Channel.PHONE and ticket.triage is not None and ticket.routing is not None
    detail = pipeline.call_operator_api("GET", f"/api/tickets/{ticket.id}", agent)["body"]
    (event,) = [e for e in detail["timeline"] if e["kind"] == "call"]
    assert event["ticket_id"] == ticket.id and event["details"]["outcome"] == "callback_promised"
    operator_id = event["details"]["logged_by"]
    assert any(a["action"] == "call_logged" and a["actor"]["id"] == operator_id for a in detail["audit"])


def test_a_resolved_call_lands_on_the_timeline_without_a_ticket(pipeline, agent):
    body = call(email="dirk@example.nl", outcome="resolved")
    logged = pipeline.call_operator_api("POST", "/api/calls", agent, body)["body"]
    assert logged["ticket_id"] is None
    events = timeline(pipeline, agent, logged["customer_id"])["events"]
    assert [e["kind"] for e in events] == ["call"]
    assert "Inbound call, 4 min, resolved" in events[0]["details"]["summary"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in call(email="e@example.com").items() if k != "direction"}, "direction"),
        (call(email="e@example.com", direction="sideways"), "direction"),
        (call(email="e@example.com", duration_seconds=-1), "duration_seconds"),
        (call(email="e@example.com", started_at="2026-03-01T09:30:00"), "started_at"),
        (call(email="e@example.com", summary=""), "summary"),
        (call(customer_id="not-an-id"), "customer_id"),
    ],
)
def test_an_invalid_call_is_refused_naming_the_field(pipeline, agent, body, field):
    response = pipeline.call_operator_api("POST", "/api/calls", agent, body)
    assert response["status"] == 422
    assert field in json.dumps(response["body"])


def test_a_call_naming_no_customer_an_unknown_id_or_a_non_number_is_refused(pipeline, agent):
    assert pipeline.call_operator_api("POST", "/api/calls", agent, call())["status"] == 422
    unknown = pipeline.call_operator_api("POST", "/api/calls", agent, call(customer_id="C" + "0" * 24))
    assert (unknown["status"], unknown["body"]["field"]) == (422, "customer_id")
    not_a_number = pipeline.call_operator_api("POST", "/api/calls", agent, call(phone="call me"))
    assert (not_a_number["status"], not_a_number["body"]["field"]) == (422, "phone")


def test_logging_a_call_needs_a_signed_in_operator(pipeline):
    assert pipeline.call_operator_api("POST", "/api/calls", None, call(email="x@example.com"))["status"] == 401


def test_a_number_two_customers_hold_leaves_the_call_unmatched_until_a_person_attaches_it(pipeline, agent):
    shared = "+31 6 0000 0003"
    for email in ("frank@example.nl", "gerda@example.nl"):
        pipeline.call_operator_api("POST", "/api/calls", agent, call(email=email, phone=shared, outcome="resolved"))
    frank, gerda = customer_key("email", "frank@example.nl"), customer_key("email", "gerda@example.nl")

    logged = pipeline.call_operator_api("POST", "/api/calls", agent, call(phone="0600000003", follow_up=True))["body"]
    assert not logged["matched"] and logged["customer_id"] is None and logged["ticket_id"] is None
    for customer in (frank, gerda):
        assert len(timeline(pipeline, agent, customer)["events"]) == 1  # only their own earlier call
    waiting = pipeline.call_operator_api("GET", "/api/calls/unmatched", agent)["body"]
    (flagged,) = [c for c in waiting if c["id"] == logged["call_id"]]
    assert sorted(flagged["candidates"]) == sorted([frank, gerda]) and flagged["phone"] == "+31600000003"

    attached = pipeline.call_operator_api(
        "POST", f"/api/calls/unmatched/{logged['call_id']}/attach", agent, {"customer_id": gerda}
    )
    assert attached["status"] == 200 and attached["body"]["ticket_id"]
    assert len(timeline(pipeline, agent, gerda)["events"]) == 2
    assert len(timeline(pipeline, agent, frank)["events"]) == 1
    again = pipeline.call_operator_api(
        "POST", f"/api/calls/unmatched/{logged['call_id']}/attach", agent, {"customer_id": frank}
    )
    assert again["status"] == 409


# ---------- Amazon Connect ----------
def test_connect_events_are_recorded_once_per_contact_and_event_type(pipeline, agent):
    connect = pipeline.stack.functions["ConnectEventsFunction"]
    hanna = customer_key("email", "hanna@example.nl")
    pipeline.call_operator_api(
        "POST", "/api/calls", agent, call(email="hanna@example.nl", phone="+31 6 0000 0004", outcome="resolved")
    )
    event = load_event("connect_events/voice_disconnected.json")
    event["detail"]["contactId"] = "11111111-0000-4000-8000-000000000004"
    event["detail"]["customerEndpoint"]["address"] = "+31600000004"
    assert connect.invoke(event) == {"result": "recorded"}
    assert connect.invoke(event) == {"result": "duplicate_ignored"}
    assert connect.invoke(load_event("connect_events/voice_queued.json")) == {"result": "ignored_event_type"}
    calls = [e for e in timeline(pipeline, agent, hanna)["events"] if e["details"].get("connect_event")]
    assert len(calls) == 1
    assert calls[0]["details"]["duration_seconds"] == 270 and calls[0]["details"]["direction"] == "inbound"


def test_a_connect_call_from_a_number_two_customers_hold_is_not_attached(pipeline, agent):
    for email in ("ivo@example.nl", "joke@example.nl"):
        pipeline.call_operator_api(
            "POST", "/api/calls", agent, call(email=email, phone="+31 6 0000 0005", outcome="resolved")
        )
    event = load_event("connect_events/voice_disconnected.json")
    event["detail"] |= {"contactId": "11111111-0000-4000-8000-000000000005"}
    event["detail"]["customerEndpoint"]["address"] = "+31600000005"
    assert pipeline.stack.functions["ConnectEventsFunction"].invoke(event) == {"result": "unmatched"}
    for email in ("ivo@example.nl", "joke@example.nl"):
        assert len(timeline(pipeline, agent, customer_key("email", email))["events"]) == 1
    waiting = pipeline.call_operator_api("GET", "/api/calls/unmatched", agent)["body"]
    assert any(c["reference"] == "11111111-0000-4000-8000-000000000005" for c in waiting)


# ---------- phone numbers from the shop ----------
def test_a_call_from_a_number_the_shop_sent_lands_on_that_buyers_timeline(pipeline, agent):
    assert pipeline.post_sample("shopify_orders_create")["status"] == 202  # customer.phone +31600000021
    assert pipeline.post_sample("woocommerce_order_updated")["status"] == 202  # billing.phone 06 0000 0022
    pipeline.drain()
    anna, sanne = customer_key("email", "anna.jansen@example.nl"), customer_key("email", "sanne.bakker@example.nl")

    for written, buyer in (("06 0000 0021", anna), ("+31 6 0000 0022", sanne)):
        logged = pipeline.call_operator_api("POST", "/api/calls", agent, call(phone=written, outcome="resolved"))
        assert (logged["body"]["matched"], logged["body"]["customer_id"]) == (True, buyer), logged
        kinds = [e["kind"] for e in timeline(pipeline, agent, buyer)["events"]]
        assert "call" in kinds and any(kind.startswith(("order_", "refund_")) for kind in kinds)

    chat = load_event("connect_events/chat_connected_to_agent.json")
    chat["detail"] |= {"contactId": "11111111-0000-4000-8000-000000000022"}
    chat["detail"]["customerEndpoint"] = {"type": "TELEPHONE_NUMBER", "address": "+31600000022"}
    assert pipeline.stack.functions["ConnectEventsFunction"].invoke(chat) == {"result": "recorded"}
    assert [e["kind"] for e in timeline(pipeline, agent, sanne)["events"]].count("chat") == 1


def test_a_number_the_shop_sent_for_two_buyers_leaves_their_calls_unmatched(pipeline, agent):
    sample = load_event("receive_webhook/shopify_orders_create.json")
    for email, event_id in (("kees@example.nl", "shared-phone-1"), ("lot@example.nl", "shared-phone-2")):
        order = json.loads(sample["body"])
        order |= {"email": email, "customer": {"email": email}, "billing_address": {"phone": "+31 6 0000 0023"}}
        headers = {k: v for k, v in sample["headers"].items() if k.lower() != "x-shopify-hmac-sha256"}
        response = pipeline.post_webhook(
            "shopify", json.dumps(order).encode(), headers | {"X-Shopify-Event-Id": event_id}
        )
        assert response["status"] == 202, response
    pipeline.drain()

    logged = pipeline.call_operator_api("POST", "/api/calls", agent, call(phone="0600000023"))["body"]
    assert not logged["matched"] and logged["customer_id"] is None
    waiting = pipeline.call_operator_api("GET", "/api/calls/unmatched", agent)["body"]
    (flagged,) = [c for c in waiting if c["id"] == logged["call_id"]]
    assert sorted(flagged["candidates"]) == sorted(
        customer_key("email", e) for e in ("kees@example.nl", "lot@example.nl")
    )


# ---------- imports ----------
def test_an_import_run_twice_creates_no_duplicates_and_reports_bad_rows_by_line(pipeline, tmp_path, capsys):
    export = tmp_path / "zendesk_tickets.json"
    shutil.copy(FIXTURES / "zendesk_tickets.json", export)
    mapping = FIXTURES / "mapping.json"
    assert run_import(pipeline, "zendesk", export, "--mapping", str(mapping)) == 1  # rows were skipped
    first = json.loads(capsys.readouterr().out)
    assert (first["imported"], first["rejected"]) == (2, 2)
    assert list(csv.reader(Path(first["rejects_file"]).read_text().splitlines())) == [
        ["line", "reason"],
        ["3", "column 37: not valid JSON"],
        ["4", "email and phone: both empty"],
    ]
    count = len(pipeline.tickets())
    assert run_import(pipeline, "zendesk", export, "--mapping", str(mapping)) == 1
    second = json.loads(capsys.readouterr().out)
    assert (second["imported"], second["duplicates"]) == (0, 2)
    assert len(pipeline.tickets()) == count

    bob = pipeline.store.tickets_of_customer(customer_key("email", "bob@example.com"))
    (refund,) = bob
    assert refund.status == TicketStatus.WAITING_ON_HUMAN and refund.triage.category == "refund"
    assert refund.triage.model_name == "imported"
    store = DynamoTimelineStore(boto3.client("dynamodb"), pipeline.stack.physical_id("DeskTable"), 730)
    imported = store.imported_label(refund.id)
    assert imported is not None and (imported.origin, imported.verified) == ("imported", False)


def ticket_partition(pipeline, ticket_id: str) -> list[dict]:
    """Every stored item of the ticket as DynamoDB holds it: messages, labels, audit, the ticket."""
    response = boto3.client("dynamodb").query(
        TableName=pipeline.stack.physical_id("DeskTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}},
    )
    return response["Items"]


def test_a_re_import_keeps_an_operators_correction_and_imports_only_the_new_rows(pipeline, agent, tmp_path, capsys):
    header = "ticket_id,created_at,email,phone,name,subject,body,category,tags,status\n"
    rows = [
        "R-1,2024-07-01T10:00:00Z,rosa@example.nl,,,Lamp kapot,De lamp doet het niet meer.,Defect,,closed\n",
        "R-2,2024-07-02T10:00:00Z,rosa@example.nl,,,Factuur,Ik zie een verkeerd bedrag.,billing_error,,closed\n",
    ]
    export = tmp_path / "history.csv"
    export.write_text(header + "".join(rows))
    assert run_import(pipeline, "csv", export) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 2
    lamp = next(
        t
        for t in pipeline.store.tickets_of_customer(customer_key("email", "rosa@example.nl"))
        if t.subject == "Lamp kapot"
    )
    corrected = pipeline.call_operator_api(
        "POST", f"/api/tickets/{lamp.id}/labels", agent, {"category": "product_defect"}
    )
    assert corrected["status"] == 200, corrected
    as_the_operator_left_it = ticket_partition(pipeline, lamp.id)

    export.write_text(
        header
        + "".join(rows)
        + "R-3,2024-07-03T10:00:00Z,rosa@example.nl,,,Levering,Waar blijft mijn pakket?,shipping,,open\n"
    )
    assert run_import(pipeline, "csv", export) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])  # after the metrics the correction printed
    assert (summary["imported"], summary["duplicates"], summary["rejected"]) == (1, 2, 0)
    assert ticket_partition(pipeline, lamp.id) == as_the_operator_left_it
    detail = pipeline.call_operator_api("GET", f"/api/tickets/{lamp.id}", agent)["body"]
    assert detail["ticket"]["triage"]["category"] == "product_defect"
    assert [label["category"] for label in detail["labels"]] == ["product_defect"]
    subjects = sorted(t.subject for t in pipeline.store.tickets_of_customer(customer_key("email", "rosa@example.nl")))
    assert subjects == ["Factuur", "Lamp kapot", "Levering"]


def test_an_import_resumes_after_its_checkpoint(pipeline, tmp_path, capsys):
    export = tmp_path / "generic.csv"
    shutil.copy(FIXTURES / "generic_tickets.csv", export)
    (tmp_path / "generic.csv.checkpoint.json").write_text(json.dumps({"last_line": 2, "imported": 1}))
    assert run_import(pipeline, "csv", export, "--resume") == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["imported"], summary["rejected"], summary["last_line"]) == (2, 1, 4)  # line 2 was not read
    assert not [t for t in pipeline.tickets() if t.subject == "Retour"]
    (callback,) = pipeline.store.tickets_of_customer(customer_key("handle", "phone:+31600000009"))
    assert callback.subject == "Bellen"


def test_a_file_with_another_layout_stops_the_import_with_file_line_and_column(pipeline, tmp_path, capsys):
    export = tmp_path / "other.csv"
    export.write_text("id,date,mail,text\n1,2024-01-01,a@example.com,hi\n")
    assert run_import(pipeline, "csv", export) == 2
    assert "other.csv line 1: column 'ticket_id' missing" in capsys.readouterr().err


def test_personal_data_of_an_import_never_reaches_the_logs(pipeline, tmp_path, caplog, capsys):
    export = tmp_path / "zendesk_tickets.json"
    shutil.copy(FIXTURES / "zendesk_tickets.json", export)
    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="supportpilot"):
        run_import(pipeline, "zendesk", export)
    streams = capsys.readouterr()
    for text in PERSONAL:
        assert text not in caplog.text and text not in streams.err


def test_an_export_put_to_its_upload_url_is_imported_by_the_function_across_invocations(pipeline, agent, admin, caplog):
    mapping = {"categories": {"Defect": "product_defect"}}
    body = {"source": "freshdesk", "file_name": "freshdesk_tickets.csv", "mapping": mapping}
    assert pipeline.call_operator_api("POST", "/api/imports", agent, body)["status"] == 403
    upload = pipeline.call_operator_api("POST", "/api/imports", admin, body)["body"]
    assert upload["upload_url"].startswith("http") and upload["key"].startswith("imports/")
    bucket = pipeline.stack.physical_id("ImportBucket")
    export = (FIXTURES / "freshdesk_tickets.csv").read_bytes()

    requests.put(upload["upload_url"], data=export, timeout=10).raise_for_status()

    # S3 told EventBridge, whose rule queued the upload for the import function.
    sqs, queue = boto3.client("sqs"), pipeline.stack.physical_id("ImportQueue")
    (queued,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=queued["ReceiptHandle"])
    event = ExportUploaded.model_validate_json(queued["Body"])
    assert (event.detail.bucket.name, event.detail.object.key) == (bucket, upload["key"])
    # The first invocation runs out of time after one record: it checkpoints and queues itself again.
    function = pipeline.stack.functions["ImportFunction"]
    runner: ImportJobRunner = inspect.unwrap(function.handler).__globals__["runner"]
    calls = iter([False, True])
    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="supportpilot"):
        first = runner.run(event, lambda: next(calls, True))
        assert not first.finished and first.last_line == 2
        assert pipeline.queue_depth("ImportQueue") == 1
        pipeline.drain()
    status = pipeline.call_operator_api("GET", f"/api/imports/{upload['import_id']}", admin)["body"]
    assert status["progress"]["finished"] and status["progress"]["imported"] == 2
    assert status["progress"]["rejects"] == [{"line": 5, "reason": "Created time: not a date and time"}]
    report = boto3.client("s3").get_object(Bucket=bucket, Key=f"import-reports/{upload['import_id']}/rejects.csv")
    assert report["Body"].read().decode().splitlines() == ["line,reason", "5,Created time: not a date and time"]
    for text in ("anne@example.nl", "carla@example.nl", "De waterkoker lekt"):
        assert text not in caplog.text


def test_an_object_uploaded_around_the_api_is_dead_lettered(pipeline):
    event = load_event("import_history/export_uploaded.json")
    with pytest.raises(BatchFailed, match="all 1 records failed"):
        pipeline.stack.functions["ImportFunction"].invoke(event)


# ---------- one customer, three sources ----------
def test_calls_connect_contacts_and_imports_share_one_customers_timeline(pipeline, agent, tmp_path, capsys):
    export = tmp_path / "zendesk_tickets.json"
    shutil.copy(FIXTURES / "zendesk_tickets.json", export)
    run_import(pipeline, "zendesk", export)  # Anne, with her number +31 6 0000 0001
    capsys.readouterr()
    pipeline.call_operator_api("POST", "/api/calls", agent, call(phone="06-0000 0001", outcome="resolved"))
    connect = pipeline.stack.functions["ConnectEventsFunction"]
    for sample in ("voice_disconnected", "chat_connected_to_agent"):
        assert connect.invoke(load_event(f"connect_events/{sample}.json"))["result"] == "recorded"
    kinds = {e["kind"] for e in timeline(pipeline, agent, ANNE)["events"]}
    assert {"imported_ticket", "call", "chat"} <= kinds
    annes = pipeline.store.tickets_of_customer(ANNE)
    (imported,) = [t for t in annes if t.channel == Channel.IMPORT and "bestelling" in t.subject]
    detail = pipeline.call_operator_api("GET", f"/api/tickets/{imported.id}", agent)["body"]
    assert {"imported_ticket", "call", "chat"} <= {e["kind"] for e in detail["timeline"]}


# ---------- training from an import ----------
def test_an_imported_export_trains_a_model(tmp_path, capsys):
    rows = [json.loads(line) for line in (PROJECT_ROOT / "corpus" / "seed_en_1.jsonl").read_text().splitlines()]
    export = tmp_path / "history.csv"
    with open(export, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["ticket_id", "created_at", "email", "body", "category"])
        for number, row in enumerate(rows[:400]):
            address = f"c{number}@example.com"
            writer.writerow([f"H-{number}", "2024-01-01T00:00:00Z", address, row["text"], row["label"]])
    training = tmp_path / "training.csv"
    assert main(["import", "--source", "csv", str(export), "--export-training", str(training)]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 400
    out = tmp_path / "model"
    args = ["train", "--data", str(training), "--text-column", "text", "--label-column", "label", "--out", str(out)]
    assert main(args) == 0
    assert (out / "model.json").is_file()
    assert json.loads((out / "model.json").read_text())["labels"]

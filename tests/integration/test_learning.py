"""Continuous learning through the operator API and the retrain function, on the in-process stack:
verified labels (corrections and confirmations, masked), the quality check's review queue, retraining
with a model card, promotion picked up by classify without a restart, and the faults the issue lists."""

import json
import time
from datetime import timedelta

import boto3
import pytest

from supportpilot.adapters.label_store import DynamoLabelStore
from supportpilot.adapters.model_store import DynamoModelRegistry, S3ModelArtifacts
from supportpilot.learning.models import ModelCard, ModelVersion, PromotedPointer
from supportpilot.models import Actor, AuditEntry, utc_now
from supportpilot.privacy import customer_id_for
from tests.conftest import PROJECT_ROOT
from tests.integration.test_operator_api import ADMIN, AGENT, SUPERVISOR
from tests.pipeline import Pipeline

ORDER_STATUS = [
    "Waar blijft mijn bestelling 48213? Ik wacht al een week op mijn pakket en heb nog geen track & trace.",
    "Hoe lang duurt het nog voordat mijn bestelling wordt verzonden? Ik heb vorige week besteld.",
    "Where is my order 55102? I ordered ten days ago and the parcel has still not been shipped.",
    "Can you tell me when my order will arrive? The tracking page has not changed for days.",
    "Wanneer wordt mijn pakket bezorgd? Bestelnummer 77120, besteld op maandag. Bel me op +31 6 0000 0000.",
    "I am still waiting for my order, can you give me an update on the delivery date please?",
]
WRONG = "Waar blijft mijn pakket? Bestelling 39910 is nog steeds niet verzonden, wanneer komt het?"
REFUND = "I returned the shoes two weeks ago, when will I get my money back for the refund?"
NEW_TICKET = "Waar is mijn bestelling? Ik heb nog niets ontvangen en wil weten wanneer het pakket komt."


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def loop():
    # no labels reserved for the holdout: label ids are random, and this test counts what trains
    environment = {"MIN_LABELS_PER_CATEGORY": "3", "HOLDOUT_PERCENT": "0", "POWERTOOLS_METRICS_DISABLED": "true"}
    with Pipeline.in_process(environment) as pipeline:
        S3ModelArtifacts(boto3.client("s3"), pipeline.stack.physical_id("ModelBucket")).upload_seed(
            PROJECT_ROOT / "corpus"
        )
        yield pipeline


@pytest.fixture(scope="module")
def tokens(loop) -> dict[str, str]:
    return {email: loop.operator_token(email) for email in (AGENT, SUPERVISOR, ADMIN)}


def new_ticket(pipeline: Pipeline, text: str, number: int) -> str:
    body = {"email": f"learner-{number}@example.com", "subject": "", "message": text}
    response = pipeline.post_webhook("form", json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert response["status"] == 202
    pipeline.drain()
    (ticket,) = pipeline.store.tickets_of_customer(customer_id_for(body["email"]))
    return ticket.id


def registry(pipeline: Pipeline) -> DynamoModelRegistry:
    return DynamoModelRegistry(boto3.client("dynamodb"), pipeline.stack.physical_id("DeskTable"), 730)


def labels(pipeline: Pipeline) -> DynamoLabelStore:
    return DynamoLabelStore(boto3.client("dynamodb"), pipeline.stack.physical_id("DeskTable"), 730)


def test_corrected_labels_retrain_flag_the_wrong_one_and_the_new_version_classifies_without_a_restart(loop, tokens):
    agent, supervisor, admin = tokens[AGENT], tokens[SUPERVISOR], tokens[ADMIN]
    for number, text in enumerate(ORDER_STATUS):
        ticket_id = new_ticket(loop, text, number)
        body = {"category": "order_status"}
        assert loop.call_operator_api("POST", f"/api/tickets/{ticket_id}/labels", agent, body)["status"] == 200
    confirmed_id = new_ticket(loop, ORDER_STATUS[0] + " Graag snel antwoord.", 50)
    confirmed = loop.call_operator_api("POST", f"/api/tickets/{confirmed_id}/labels/confirm", agent)
    assert confirmed["status"] == 200 and confirmed["body"]["source"] == "confirmation"
    wrong_id = new_ticket(loop, WRONG, 60)
    wrong = loop.call_operator_api("POST", f"/api/tickets/{wrong_id}/labels", agent, {"category": "privacy_request"})
    refund_id = new_ticket(loop, REFUND, 70)
    loop.call_operator_api("POST", f"/api/tickets/{refund_id}/labels", agent, {"category": "refund"})

    stored = {label.ticket_id: label for label in labels(loop).labels_with_status("verified")}
    masked = next(label.text for label in stored.values() if "<phone>" in (label.text or ""))
    assert "0000" not in masked and "77120" not in masked

    assert loop.call_operator_api("POST", "/api/models/retrain", agent)["status"] == 403
    queued = loop.call_operator_api("POST", "/api/models/retrain", supervisor)
    assert queued["status"] == 200 and queued["body"]["queued"]
    loop.drain()  # RetrainQueue -> RetrainFunction, in this process

    queue = loop.call_operator_api("GET", "/api/labels/review", supervisor)["body"]
    flagged = next(label for label in queue if label["id"] == wrong["body"]["id"])
    assert flagged["flag"]["given"] == "privacy_request" and flagged["flag"]["suggested"] == "order_status"
    assert flagged["flag"]["confidence"] > 0.3

    listing = loop.call_operator_api("GET", "/api/models", supervisor)["body"]
    (version,) = listing["versions"]
    card = ModelCard.model_validate(version["card"])
    assert card.flagged_labels >= 1 and any(f.label_id == wrong["body"]["id"] for f in card.flagged)
    assert card.held_back == {"refund": 1}  # too few refund labels: refund trains on the seed corpus alone
    assert card.data["verified"]["per_label"].get("order_status", 0) >= 3
    assert card.data["verified"]["per_label"].get("privacy_request") is None
    assert set(card.data["seed"]["per_language"]) == {"en", "nl"}
    assert card.metrics is not None and card.parent_metrics is not None and card.holdout_version
    assert card.parent_version is None and card.decision is not None
    if not card.decision.promoted:  # rejected: an admin can still choose to serve it
        assert version["status"] == "rejected"
        assert loop.call_operator_api("POST", f"/api/models/{card.version}/promote", admin)["status"] == 200
    assert loop.call_operator_api("GET", "/api/models", supervisor)["body"]["serving_version"] == card.version

    classify = loop.handler_module("ClassifyFunction")
    clock = Clock()
    classify.triager.clock = clock
    clock.now += 61  # the pointer cache expires
    ticket_id = new_ticket(loop, NEW_TICKET, 80)
    assert loop.store.get_ticket(ticket_id).triage.model_version == card.version
    assert classify.triager.version == card.version

    reviewed = loop.call_operator_api(
        "POST",
        f"/api/tickets/{wrong_id}/labels/{wrong['body']['id']}/review",
        supervisor,
        {"decision": "relabel", "category": "order_status"},
    )
    assert reviewed["status"] == 200 and reviewed["body"]["status"] == "verified" and reviewed["body"]["reviewed_by"]
    audit = loop.store.audit_trail(wrong_id)
    assert {"label_corrected", "label_flagged", "label_reviewed"} <= {entry.action for entry in audit}
    again = loop.call_operator_api(
        "POST", f"/api/tickets/{wrong_id}/labels/{wrong['body']['id']}/review", supervisor, {"decision": "drop"}
    )
    assert again["status"] == 409


def test_a_corrupt_promoted_version_keeps_the_last_good_model_serving_and_reports_it(loop):
    classify = loop.handler_module("ClassifyFunction")
    clock = Clock()
    classify.triager.clock = clock
    clock.now += 61
    serving = classify.triager.current()
    problems = []
    classify.triager._on_problem = lambda kind, message: problems.append(kind)
    good = registry(loop).promoted()
    assert good is not None
    bucket = loop.stack.physical_id("ModelBucket")
    s3 = boto3.client("s3")
    for name in ("model.json", "weights.bin"):
        body = s3.get_object(Bucket=bucket, Key=f"models/{good.version}/{name}")["Body"].read()
        s3.put_object(Bucket=bucket, Key=f"models/CORRUPT0000000000000000000/{name}", Body=body)
    s3.put_object(Bucket=bucket, Key="models/CORRUPT0000000000000000000/weights.bin", Body=body[: len(body) // 2])
    half_written = PromotedPointer(
        version="CORRUPT0000000000000000000", digests=good.digests, promoted_at=utc_now(), promoted_by="test"
    )
    audit = AuditEntry(actor=Actor(kind="system", id="test"), action="model_promoted")
    registry(loop).promote(half_written, good.version, audit)
    clock.now += 61
    ticket_id = new_ticket(loop, NEW_TICKET + " Nog een keer.", 90)
    assert loop.store.get_ticket(ticket_id).triage.model_version == serving.version
    assert problems == ["model_unusable"]
    registry(loop).promote(good, half_written.version, audit)


def test_an_unevaluated_version_is_never_promoted(loop, tokens):
    good = registry(loop).promoted()
    card = ModelCard(version="0" * 26, created_at=utc_now(), parent_version=None, run_id="0" * 26)
    registry(loop).save_version(
        ModelVersion(version=card.version, status="unevaluated", created_at=card.created_at, card=card)
    )
    refused = loop.call_operator_api("POST", f"/api/models/{card.version}/promote", tokens[ADMIN])
    assert refused["status"] == 409 and "never evaluated" in refused["body"]["message"]
    assert loop.call_operator_api("POST", f"/api/models/{card.version}/promote", tokens[SUPERVISOR])["status"] == 403
    assert loop.call_operator_api("POST", f"/api/models/{'1' * 26}/promote", tokens[ADMIN])["status"] == 404
    assert registry(loop).promoted() == good


def test_a_second_retrain_while_one_runs_is_refused(loop, tokens):
    table = registry(loop)
    table.acquire_lock("running-retrain", utc_now(), 600)
    try:
        refused = loop.call_operator_api("POST", "/api/models/retrain", tokens[SUPERVISOR])
        assert refused["status"] == 409 and "running" in refused["body"]["message"]
        retrain = loop.handler_module("RetrainFunction")
        before = len(table.versions())
        outcome = retrain.service.retrain("test")
        assert outcome.status == "refused" and "another retrain is running" in outcome.message
        assert len(table.versions()) == before
    finally:
        table.release_lock("running-retrain")
    expired = utc_now() - timedelta(hours=2)
    table.acquire_lock("crashed-retrain", expired, 600)  # a crashed run's lock expires
    assert table.lock_holder(utc_now()) is None
    table.acquire_lock("next-retrain", utc_now(), 600)
    table.release_lock("next-retrain")


def test_erasing_a_customer_removes_their_verified_labels(loop, tokens):
    ticket_id = new_ticket(loop, "Where is my order? It has been two weeks.", 99)
    label = loop.call_operator_api(
        "POST", f"/api/tickets/{ticket_id}/labels", tokens[AGENT], {"category": "order_status"}
    )
    customer = customer_id_for("learner-99@example.com")
    export = loop.call_operator_api("GET", f"/api/customers/{customer}/export", tokens[ADMIN])["body"]
    (exported,) = [item for t in export["tickets"] for item in t["labels"]]
    assert exported["id"] == label["body"]["id"] and exported["text"]
    erased = loop.call_operator_api("DELETE", f"/api/customers/{customer}", tokens[ADMIN])
    assert erased["status"] == 200 and erased["body"]["counts"]["labels"] == 1
    remaining = labels(loop).labels_with_status("verified") + labels(loop).labels_with_status("review")
    assert all(entry.ticket_id != ticket_id for entry in remaining)

"""The events/ samples that `sam local invoke -e` takes are the ones the handlers are tested with."""

import json
import uuid

import boto3
import pytest
from pydantic import TypeAdapter

from supportpilot.envelopes import ClassifyRequest, IngestWork
from supportpilot.lambda_entry import BatchFailed
from supportpilot.receive_mail import SesEvent
from supportpilot.receive_webhook import ApiGatewayProxyEvent
from supportpilot.timeline.connect import ConnectContactEvent
from supportpilot.timeline.import_jobs import ExportUploaded
from tests.conftest import EVENTS, load_event

SQS_BODIES = {
    "ingest": TypeAdapter(IngestWork).validate_json,
    "classify": ClassifyRequest.model_validate_json,
    "import_history": ExportUploaded.model_validate_json,
}


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_event_has_the_shape_its_function_reads(path):
    event = json.loads(path.read_text())
    function = path.parent.name
    if function == "receive_mail":
        assert (EVENTS / "mail" / f"{SesEvent.model_validate(event).records[0].ses.mail.message_id}.eml").exists()
    elif function == "receive_webhook":
        request = ApiGatewayProxyEvent.model_validate(event)
        assert request.raw_body() or (request.http_method == "GET" and request.query_string_parameters)
    elif function == "connect_events":
        assert ConnectContactEvent.from_event(event).detail.contact_id
    else:
        for record in event["Records"]:
            SQS_BODIES[function](record["body"])


def test_the_ingest_samples_are_served_by_the_ingest_function(pipeline):
    bucket = pipeline.stack.physical_id("MailBucket")
    ses_id = f"sample-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").put_object(
        Bucket=bucket, Key=f"raw/{ses_id}", Body=(EVENTS / "mail" / "order_status_nl.eml").read_bytes()
    )
    mail_event = load_event("ingest/mail_arrived.json")
    body = json.loads(mail_event["Records"][0]["body"])
    body["mail"] |= {"bucket": bucket, "key": f"raw/{ses_id}", "ses_message_id": ses_id}
    mail_event["Records"][0]["body"] = json.dumps(body)
    ingest = pipeline.stack.functions["IngestFunction"]
    assert ingest.invoke(mail_event) == {"batchItemFailures": []}
    assert ingest.invoke(load_event("ingest/shopify_order.json")) == {"batchItemFailures": []}
    assert pipeline.queue_depth("ClassifyQueue") >= 1


def test_the_classify_sample_for_an_unknown_ticket_fails_so_that_sqs_retries_it(pipeline):
    event = load_event("classify/classify_request.json")
    with pytest.raises(BatchFailed, match="all 1 records failed"):
        pipeline.stack.functions["ClassifyFunction"].invoke(event)

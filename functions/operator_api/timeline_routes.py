"""Operator API routes of the customer timeline: logged calls, unmatched contacts, a customer's
timeline, and helpdesk-history uploads. Included by app.py."""

import boto3
from aws_lambda_powertools.event_handler.api_gateway import Router

from supportpilot.adapters.s3 import S3ExportFiles
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.adapters.timeline_store import DynamoTimelineStore
from supportpilot.ingest import DeliveryCommitter
from supportpilot.operator.claims import operator_from_claims
from supportpilot.operator.models import Operator, Role
from supportpilot.phone import DEFAULT_COUNTRY_CODE
from supportpilot.privacy import CustomerNotFound
from supportpilot.settings import TableSettings
from supportpilot.timeline.calls import CallLog
from supportpilot.timeline.import_jobs import ImportJobs
from supportpilot.timeline.models import (
    AttachContactBody,
    CallLogBody,
    CustomerTimeline,
    ImportStatus,
    ImportUpload,
    ImportUploadBody,
    LoggedCall,
    UnmatchedContact,
)
from supportpilot.triage import load_triager
from supportpilot.triage.interface import DEFAULT_MODEL_DIR


class TimelineSettings(TableSettings):
    classify_queue_url: str
    import_bucket: str
    model_dir: str = DEFAULT_MODEL_DIR
    phone_country_code: str = DEFAULT_COUNTRY_CODE


settings = TimelineSettings.from_environment()
dynamodb = boto3.client("dynamodb")
store = DynamoTimelineStore(dynamodb, settings.table_name, settings.ticket_retention_days)
calls = CallLog(
    store,
    store,
    DeliveryCommitter(store, SqsWorkQueue(boto3.client("sqs"), settings.classify_queue_url)),
    load_triager(settings.model_dir),
    settings.phone_country_code,
)
imports = ImportJobs(store, S3ExportFiles(boto3.client("s3")), settings.import_bucket)
router = Router()


def caller() -> Operator:
    return operator_from_claims(router.current_event.request_context.authorizer.claims)


@router.post("/api/calls")
def log_call(body: CallLogBody) -> LoggedCall:
    return calls.log(caller(), body)


@router.get("/api/calls/unmatched")
def unmatched_contacts() -> list[UnmatchedContact]:
    return calls.unmatched(caller())


@router.post("/api/calls/unmatched/<contact_id>/attach")
def attach_contact(contact_id: str, body: AttachContactBody) -> LoggedCall:
    return calls.attach(caller(), contact_id, body.customer_id)


@router.get("/api/customers/<customer_id>/timeline")
def customer_timeline(customer_id: str) -> CustomerTimeline:
    caller().require(Role.AGENT)
    customer = store.customer(customer_id)
    if customer is None:
        raise CustomerNotFound()
    events = sorted(store.timeline(customer_id), key=lambda e: (e.occurred_at, e.id))
    tickets = store.tickets_of_customer(customer_id)
    return CustomerTimeline(customer=customer, events=events, ticket_ids=sorted(t.id for t in tickets))


@router.post("/api/imports")
def request_import(body: ImportUploadBody) -> ImportUpload:
    return imports.request_upload(caller(), body)


@router.get("/api/imports/<import_id>")
def import_status(import_id: str) -> ImportStatus:
    return imports.status(caller(), import_id)

"""ClassifyQueue -> triage of the message -> result stored on the ticket -> EnrichQueue."""

import tempfile
from pathlib import Path

import boto3
from aws_lambda_powertools import Logger

from supportpilot import desk_metrics
from supportpilot.adapters.dynamodb import DynamoTicketStore
from supportpilot.adapters.model_store import DynamoModelRegistry, S3ModelArtifacts
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.classify import Classifier
from supportpilot.envelopes import ClassifyRequest
from supportpilot.lambda_entry import SqsRecord, sqs_batch_handler
from supportpilot.learning.serving import PromotedModelTriager
from supportpilot.settings import TableSettings
from supportpilot.triage import Triager, load_triager
from supportpilot.triage.interface import DEFAULT_MODEL_DIR


class Settings(TableSettings):
    model_dir: str = DEFAULT_MODEL_DIR  # served until a version is promoted (or always, without a model bucket)
    model_bucket: str | None = None  # where retrained versions live; the pointer is read from the table
    model_pointer_max_age_seconds: float = 60.0
    enrich_queue_url: str


settings = Settings.from_environment()
logger = Logger()


def report_model_problem(kind: str, message: str) -> None:
    logger.error("promoted model not used; the last good model keeps serving", extra={"kind": kind, "problem": message})
    desk_metrics.record(desk_metrics.MODEL_LOAD_FAILED)


dynamodb = boto3.client("dynamodb")
triager: Triager = load_triager(settings.model_dir)
if settings.model_bucket:
    triager = PromotedModelTriager(
        triager,
        DynamoModelRegistry(dynamodb, settings.table_name, settings.ticket_retention_days),
        S3ModelArtifacts(boto3.client("s3"), settings.model_bucket),
        Path(tempfile.gettempdir()) / "supportpilot-models",
        on_problem=report_model_problem,
        max_age_seconds=settings.model_pointer_max_age_seconds,
    )
classifier = Classifier(
    DynamoTicketStore(dynamodb, settings.table_name, settings.ticket_retention_days),
    triager,
    SqsWorkQueue(boto3.client("sqs"), settings.enrich_queue_url),
)


def classify_record(record: SqsRecord) -> None:
    request = ClassifyRequest.model_validate_json(record.body)
    result = classifier.classify(request)
    if result is None:
        logger.info("already triaged", extra={"ticket_id": request.ticket_id})
        return
    logger.info(
        "ticket triaged",
        extra={
            "ticket_id": request.ticket_id,
            "category": result.category,
            "language": result.language,
            "needs_human": result.needs_human,
        },
    )


handler = sqs_batch_handler(logger, classify_record)

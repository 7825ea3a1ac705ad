"""ClassifyQueue -> triage of the message -> result stored on the ticket -> EnrichQueue."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from supportpilot.adapters.dynamodb import DynamoTicketStore
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.classify import Classifier
from supportpilot.envelopes import ClassifyRequest
from supportpilot.lambda_entry import TableSettings, sqs_batch_handler
from supportpilot.triage import load_triager
from supportpilot.triage.interface import DEFAULT_MODEL_DIR


class Settings(TableSettings):
    model_dir: str = DEFAULT_MODEL_DIR  # a directory written by `supportpilot train`
    enrich_queue_url: str


settings = Settings.from_environment()
logger = Logger()
classifier = Classifier(
    DynamoTicketStore(boto3.client("dynamodb"), settings.table_name, settings.ticket_retention_days),
    load_triager(settings.model_dir),
    SqsWorkQueue(boto3.client("sqs"), settings.enrich_queue_url),
)


def classify_record(record: SQSRecord) -> None:
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

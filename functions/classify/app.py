"""ClassifyQueue -> triage of the message -> result stored on the ticket -> EnrichQueue."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.dynamodb import DynamoTicketStore
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.classify import Classifier
from supportpilot.envelopes import ClassifyRequest
from supportpilot.settings import FunctionSettings
from supportpilot.triage import load_triager


class Settings(FunctionSettings):
    table_name: str
    ticket_retention_days: int = 730
    model_dir: str | None = None
    enrich_queue_url: str


settings = Settings.from_environment()
logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)
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


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=classify_record, processor=processor, context=context)

"""IngestQueue -> tickets, messages and timeline events in DynamoDB -> ClassifyQueue."""

import boto3
from aws_lambda_powertools import Logger
from pydantic import TypeAdapter

from supportpilot.adapters.dynamodb import DynamoTicketStore
from supportpilot.adapters.s3 import S3BlobStore
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.envelopes import IngestWork
from supportpilot.ingest import Ingestor
from supportpilot.lambda_entry import SqsRecord, sqs_batch_handler
from supportpilot.phone import DEFAULT_COUNTRY_CODE
from supportpilot.settings import TableSettings


class Settings(TableSettings):
    classify_queue_url: str
    support_address: str
    phone_country_code: str = DEFAULT_COUNTRY_CODE


settings = Settings.from_environment()
logger = Logger()
ingest_work = TypeAdapter(IngestWork)
ingestor = Ingestor(
    DynamoTicketStore(boto3.client("dynamodb"), settings.table_name, settings.ticket_retention_days),
    S3BlobStore(boto3.client("s3")),
    SqsWorkQueue(boto3.client("sqs"), settings.classify_queue_url),
    settings.support_address,
    country_code=settings.phone_country_code,
)


def ingest_record(record: SqsRecord) -> None:
    outcome = ingestor.ingest(ingest_work.validate_json(record.body))
    logger.info(
        "delivery ingested",
        extra={"result": outcome.result, "ticket_id": outcome.ticket_id, "reason": outcome.reason},
    )


handler = sqs_batch_handler(logger, ingest_record)

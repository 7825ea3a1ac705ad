"""ImportQueue (S3 `Object Created` under imports/, or a continuation) -> the export imported onto
the customer timelines, resuming from its checkpoint; re-queued before the time runs out."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.s3 import S3BlobStore, S3ExportFiles
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.adapters.timeline_store import DynamoTimelineStore
from supportpilot.lambda_entry import SqsRecord, process_sqs_batch
from supportpilot.phone import DEFAULT_COUNTRY_CODE
from supportpilot.settings import TableSettings
from supportpilot.timeline.import_jobs import ExportUploaded, ImportJobRunner

# Leave a minute for the last record, the checkpoint and the re-queue.
STOP_BEFORE_TIMEOUT_MS = 60_000


class Settings(TableSettings):
    import_queue_url: str
    phone_country_code: str = DEFAULT_COUNTRY_CODE


settings = Settings.from_environment()
logger = Logger()
s3 = boto3.client("s3")
store = DynamoTimelineStore(boto3.client("dynamodb"), settings.table_name, settings.ticket_retention_days)
runner = ImportJobRunner(
    store,
    S3ExportFiles(s3),
    S3BlobStore(s3),
    SqsWorkQueue(boto3.client("sqs"), settings.import_queue_url),
    settings.phone_country_code,
)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    """Batch size 1; the record handler needs the invocation's remaining time, hence no `sqs_batch_handler`."""

    def import_record(record: SqsRecord) -> None:
        uploaded = ExportUploaded.model_validate_json(record.body)
        checkpoint = runner.run(uploaded, lambda: context.get_remaining_time_in_millis() < STOP_BEFORE_TIMEOUT_MS)
        logger.info("import step done", extra={"finished": checkpoint.finished, "line": checkpoint.last_line})

    return process_sqs_batch(event, import_record, logger)

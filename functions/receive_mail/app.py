"""SES Lambda action -> IngestQueue. SES invokes asynchronously; failures retry twice, then go to
ReceiveMailDeadLetterQueue (the raw mail stays in S3)."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.receive_mail import SesEvent, queue_received_mail
from supportpilot.settings import FunctionSettings


class Settings(FunctionSettings):
    mail_bucket: str
    raw_mail_prefix: str = "raw/"
    ingest_queue_url: str


settings = Settings.from_environment()
logger = Logger()
ingest_queue = SqsWorkQueue(boto3.client("sqs"), settings.ingest_queue_url)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    queued = queue_received_mail(
        SesEvent.model_validate(event), settings.mail_bucket, settings.raw_mail_prefix, ingest_queue
    )
    logger.info("mail queued for ingestion", extra={"ses_message_ids": queued})
    return {"queued": len(queued)}

"""Retrain the triage model: weekly (EventBridge schedule) and on request (RetrainQueue, from the operator API).

The run is `RetrainService.retrain`: verified labels minus flagged, seed corpus, frozen holdout, promotion
rule. A refused run (another one holds the lock) is logged and not retried; a failure raises, so the
schedule's retries and then its dead-letter queue, or the queue's redrive, take it.
"""

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.learning_stack import retrain_service
from supportpilot.lambda_entry import SqsRecord, sqs_batch_handler
from supportpilot.learning.desk import RetrainRequest
from supportpilot.learning.retrain import RetrainSettings
from supportpilot.settings import TableSettings


class Settings(TableSettings):
    model_bucket: str
    min_labels_per_category: int = 10
    holdout_percent: int = 15
    train_with_sentence_encoder: bool = False


settings = Settings.from_environment()
logger = Logger()
metrics = Metrics()
service = retrain_service(
    boto3.client("dynamodb"),
    boto3.client("s3"),
    settings.table_name,
    settings.model_bucket,
    settings.ticket_retention_days,
    RetrainSettings(
        min_labels_per_category=settings.min_labels_per_category,
        holdout_percent=settings.holdout_percent,
        sentence_encoder=settings.train_with_sentence_encoder,
    ),
)


def run(request: RetrainRequest) -> dict:
    outcome = service.retrain(request.requested_by, request.refresh_holdout)
    metrics.add_metric(name=f"Retrain{outcome.status.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("retrain", extra={"run_id": outcome.run_id, "status": outcome.status, "outcome": outcome.message})
    if outcome.status == "failed":
        raise RuntimeError(f"retrain {outcome.run_id} failed: {outcome.message}")
    return outcome.model_dump(mode="json", include={"run_id", "status", "version", "message"})


def retrain_record(record: SqsRecord) -> None:
    run(RetrainRequest.model_validate_json(record.body))


requested = sqs_batch_handler(logger, retrain_record)  # RetrainQueue, batch size 1


@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    if "Records" in event:
        return requested(event, context)
    return run(RetrainRequest(requested_by="schedule"))  # the EventBridge schedule

"""What every SQS-triggered function's entry point does, written once: partial batch responses.

Written here instead of with Powertools' batch utility: importing that (its processors, asyncio for the async ones,
every event data class) took ~23 ms of each SQS stage's cold start (Python 3.13, median of 6), for a loop that the
stages need and nothing else of it.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext


class SqsRecord:
    """One message of an SQS event, as the stages read it."""

    __slots__ = ("body", "message_id")

    def __init__(self, record: dict[str, Any]):
        self.message_id: str = record["messageId"]
        self.body: str = record["body"]


class BatchFailed(Exception):
    """Every record of a batch failed: Lambda counts an error and SQS delivers the whole batch again."""


def process_sqs_batch(event: dict[str, Any], record_handler: Callable[[SqsRecord], None], logger: Logger) -> dict:
    """Hand each record of an SQS event to `record_handler`. A record that raises is reported in
    `batchItemFailures`, so SQS delivers it again (and after maxReceiveCount dead-letters it) without holding back
    the rest of its batch; when every record fails, raises `BatchFailed`.

    A failure is logged with the message id, the exception's type and where it was raised, never the exception's
    message: that may quote a customer's data."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise ValueError("not an SQS event: it has no Records")
    failures: list[dict[str, str]] = []
    errors: set[str] = set()
    for record in records:
        message_id = record["messageId"]
        try:
            record_handler(SqsRecord(record))
        except Exception as error:  # any failure of one record must not fail the others
            errors.add(type(error).__name__)
            logger.warning(
                "record failed: SQS delivers it again",
                extra={"message_id": message_id, "error": type(error).__name__, "raised_at": _raised_at(error)},
            )
            failures.append({"itemIdentifier": message_id})
    if len(failures) == len(records):
        raise BatchFailed(f"all {len(records)} records failed ({', '.join(sorted(errors))})")
    return {"batchItemFailures": failures}


def _raised_at(error: BaseException) -> str:
    """File, line and function where `error` was raised: enough to find the cause, without its message."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None:
        return "unknown"
    code = traceback.tb_frame.f_code
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{traceback.tb_lineno} in {code.co_name}"


def sqs_batch_handler(
    logger: Logger, record_handler: Callable[[SqsRecord], None]
) -> Callable[[dict, LambdaContext], dict]:
    """The Lambda entry point of an SQS stage: `process_sqs_batch` with the invocation's context in the logs."""

    @logger.inject_lambda_context
    def handler(event: dict, context: LambdaContext) -> dict:
        return process_sqs_batch(event, record_handler, logger)

    return handler

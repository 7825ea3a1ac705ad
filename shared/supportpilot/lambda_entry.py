"""What every SQS-triggered function's entry point does, written once.

Import this module before anything that imports pydantic (pyproject.toml's isort sections put it first): Powertools'
batch module then skips its parser models, which this entry point does not use.
"""

from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext


def sqs_batch_handler(
    logger: Logger, record_handler: Callable[[SQSRecord], None]
) -> Callable[[dict, LambdaContext], dict]:
    """The Lambda entry point of an SQS stage. It reports partial batch failures, so a failing record
    is retried (and after maxReceiveCount dead-lettered) without holding back the rest of its batch;
    when every record fails, Powertools raises and Lambda retries the whole batch."""
    processor = BatchProcessor(event_type=EventType.SQS)

    @logger.inject_lambda_context
    def handler(event: dict, context: LambdaContext) -> dict:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler

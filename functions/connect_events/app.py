"""EventBridge `Amazon Connect Contact Event` -> a call or chat on the customer's timeline."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.timeline_store import DynamoTimelineStore
from supportpilot.phone import DEFAULT_COUNTRY_CODE
from supportpilot.settings import TableSettings
from supportpilot.timeline.connect import ConnectContactEvent, ConnectContactRecorder


class Settings(TableSettings):
    phone_country_code: str = DEFAULT_COUNTRY_CODE


settings = Settings.from_environment()
logger = Logger()
store = DynamoTimelineStore(boto3.client("dynamodb"), settings.table_name, settings.ticket_retention_days)
recorder = ConnectContactRecorder(store, store, store, settings.phone_country_code)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    contact = ConnectContactEvent.from_event(event)
    result = recorder.record(contact)
    logger.info(
        "contact event handled",
        extra={"result": result, "event_type": contact.detail.event_type, "channel": contact.detail.channel},
    )
    return {"result": result}

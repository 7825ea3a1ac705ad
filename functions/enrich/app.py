"""EnrichQueue -> customer profile on the ticket -> RouteQueue."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

from supportpilot.adapters.dynamodb import DynamoTicketStore
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.adapters.trend_store import DynamoTrendStore
from supportpilot.connectors import ConnectorMisconfigured, ShopConnector, connector_from_secret
from supportpilot.enrich import Enricher
from supportpilot.envelopes import EnrichRequest
from supportpilot.lambda_entry import SqsRecord, sqs_batch_handler
from supportpilot.profile import VipRule
from supportpilot.settings import TableSettings


class Settings(TableSettings):
    route_queue_url: str
    shop_connector_secret_id: str
    vip_min_lifetime_value: str = "1000"
    vip_min_orders: int = 10


settings = Settings.from_environment()
logger = Logger()


def shop_connector() -> ShopConnector | None:
    document = parameters.get_secret(settings.shop_connector_secret_id, transform="json", max_age=300)
    try:
        return connector_from_secret(document if isinstance(document, dict) else {})
    except ConnectorMisconfigured as exc:
        logger.error("live order lookups are off: the shop connector secret is invalid", extra={"problem": str(exc)})
        return None


dynamodb = boto3.client("dynamodb")
enricher = Enricher(
    DynamoTicketStore(dynamodb, settings.table_name, settings.ticket_retention_days),
    SqsWorkQueue(boto3.client("sqs"), settings.route_queue_url),
    VipRule(min_lifetime_value=settings.vip_min_lifetime_value, min_order_count=settings.vip_min_orders),
    shop_connector,
    DynamoTrendStore(dynamodb, settings.table_name),
)


def enrich_record(record: SqsRecord) -> None:
    request = EnrichRequest.model_validate_json(record.body)
    profile = enricher.enrich(request)
    logger.info(
        "profile built",
        extra={
            "ticket_id": request.ticket_id,
            "contacts_last_7_days": profile.contacts_last_7_days,
            "vip": profile.vip,
            "order_data_available": profile.order_data_available,
        },
    )


handler = sqs_batch_handler(logger, enrich_record)

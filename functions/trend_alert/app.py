"""EventBridge schedule (hourly) -> complaints per SKU, last 24 h against the 28 days before ->
the product team (SNS topic, optional Slack/Teams) when a SKU spikes; once per spike."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.team_channels import SnsTeamChannel, chat_channels_from_secret
from supportpilot.adapters.trend_store import DynamoTrendStore
from supportpilot.notify.service import DEFAULT_DESK_URL, TeamChannel
from supportpilot.settings import TableSettings
from supportpilot.trends import SpikeRule, TrendAlerter


class Settings(TableSettings):
    product_team_topic_arn: str
    chat_webhook_secret_id: str
    trend_min_complaints: int = 5
    trend_spike_factor: float = 3.0
    desk_url: str = DEFAULT_DESK_URL


settings = Settings.from_environment()
logger = Logger()
sns_channel = SnsTeamChannel(
    boto3.client("sns"), settings.product_team_topic_arn, subject="SupportPilot: a product draws complaints"
)


def channels() -> list[TeamChannel]:
    """The topic, plus the Slack or Teams webhook of the chat secret when one is set."""
    secret = parameters.get_secret(settings.chat_webhook_secret_id, transform="json", max_age=300)
    return [sns_channel, *chat_channels_from_secret(secret)]


trend_store = DynamoTrendStore(boto3.client("dynamodb"), settings.table_name)
alerter = TrendAlerter(
    trend_store,
    trend_store,
    channels,
    SpikeRule(min_complaints=settings.trend_min_complaints, factor=settings.trend_spike_factor),
    settings.desk_url,
)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    run = alerter.run()
    logger.info("trend check done", extra=run.model_dump())
    return run.model_dump()

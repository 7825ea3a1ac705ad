"""NotifyQueue -> acknowledgements and replies to the customer by SES; alerts to the team's chat.

The escalation workflow publishes team notifications to the SNS topic itself (start, every tier,
breach); this function adds the optional Slack or Teams post when an escalation starts.
"""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

from supportpilot.adapters.notify_store import DynamoNotifyStore
from supportpilot.adapters.ses_mail import SesMailSender
from supportpilot.adapters.team_channels import ChatWebhookChannel, chat_channels_from_secret
from supportpilot.csat import CsatSigner, rating_link
from supportpilot.envelopes import NotifyRequest
from supportpilot.lambda_entry import SqsRecord, sqs_batch_handler
from supportpilot.notify import Notifier
from supportpilot.settings import TableSettings


class Settings(TableSettings):
    support_address: str
    chat_webhook_secret_id: str
    csat_secret_id: str
    csat_link_base: str  # https://.../csat/: the public rating endpoint
    csat_link_days: int = 30


settings = Settings.from_environment()
logger = Logger()


def chat_channels() -> list[ChatWebhookChannel]:
    return chat_channels_from_secret(
        parameters.get_secret(settings.chat_webhook_secret_id, transform="json", max_age=300)
    )


def csat_link(ticket_id: str) -> str:
    """A signed rating link; the key is re-read at most every five minutes (rotation)."""
    secret = parameters.get_secret(settings.csat_secret_id, transform="json", max_age=300)
    return rating_link(
        settings.csat_link_base, CsatSigner.from_secret(secret, settings.csat_link_days).token(ticket_id)
    )


notifier = Notifier(
    DynamoNotifyStore(boto3.client("dynamodb"), settings.table_name, settings.ticket_retention_days),
    SesMailSender(boto3.client("ses")),
    chat_channels(),
    settings.support_address,
    rating_link=csat_link,
)


def notify_record(record: SqsRecord) -> None:
    outcome = notifier.notify(NotifyRequest.model_validate_json(record.body))
    logger.info(
        "notification handled",
        extra={"ticket_id": outcome.ticket_id, "result": outcome.result, "reason": outcome.reason},
    )


handler = sqs_batch_handler(logger, notify_record)

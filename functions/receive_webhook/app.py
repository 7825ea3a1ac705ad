"""POST /webhooks/{source} -> IngestQueue, after the size, signature and payload checks.
GET /webhooks/{source} -> the platform's endpoint check (X's CRC, Meta's verification)."""

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from supportpilot.adapters.secrets import SecretsManagerWebhookSecrets
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.receive_webhook import ApiGatewayProxyEvent, HttpResponse, receive_handshake, receive_webhook
from supportpilot.settings import FunctionSettings


class Settings(FunctionSettings):
    ingest_queue_url: str
    webhook_secrets_id: str
    max_body_bytes: int = 196_608


settings = Settings.from_environment()
logger = Logger()
ingest_queue = SqsWorkQueue(boto3.client("sqs"), settings.ingest_queue_url)
secrets = SecretsManagerWebhookSecrets(settings.webhook_secrets_id)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        request = ApiGatewayProxyEvent.model_validate(event)
    except ValidationError:
        response = HttpResponse(status=400, body={"error": "malformed API Gateway event"})
    else:
        response = (
            receive_handshake(request, secrets)
            if request.http_method == "GET"
            else receive_webhook(request, secrets, ingest_queue, settings.max_body_bytes)
        )
    source = (event.get("pathParameters") or {}).get("source", "")[:32]
    logger.info("webhook answered", extra={"source": source, "status": response.status})
    return response.to_api_gateway()

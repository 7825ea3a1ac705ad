"""POST /webhooks/{source}: bound, authenticate and parse a webhook, then queue it.
GET /webhooks/{source}: answer the platform's check of the endpoint (X's CRC, Meta's verification).

The platform gets its answer before any ticket work happens (Shopify gives up after 5 s); the
ingest stage does the rest from the queue. Checks run cheapest-first and nothing is queued unless
every check passed.
"""

import base64
import binascii
import json
import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from supportpilot.envelopes import WebhookWork
from supportpilot.models import utc_now
from supportpilot.ports import SecretSource, WorkQueue
from supportpilot.webhooks import Ping, SignatureError, WebhookEnvelope, WebhookRejected, get_source


class ApiGatewayProxyEvent(BaseModel):
    """The parts of an API Gateway (REST, payload 1.0) proxy event that the receiver reads."""

    http_method: str = Field(default="POST", alias="httpMethod")
    path_parameters: dict[str, str] | None = Field(default=None, alias="pathParameters")
    query_string_parameters: dict[str, str] | None = Field(default=None, alias="queryStringParameters")
    headers: dict[str, str] | None = None
    multi_value_headers: dict[str, list[str]] | None = Field(default=None, alias="multiValueHeaders")
    body: str | None = None
    is_base64_encoded: bool = Field(default=False, alias="isBase64Encoded")

    def lower_case_headers(self) -> dict[str, str]:
        merged = {name.lower(): ", ".join(values) for name, values in (self.multi_value_headers or {}).items()}
        merged.update({name.lower(): value for name, value in (self.headers or {}).items()})
        return merged

    def raw_body(self) -> bytes:
        """The bytes exactly as the platform sent them; signatures are computed over these."""
        if self.body is None:
            return b""
        if self.is_base64_encoded:
            return base64.b64decode(self.body, validate=True)
        return self.body.encode("utf-8")


class HttpResponse(BaseModel):
    """A JSON object, or text as is (Meta's verification wants its challenge back as plain text)."""

    status: int
    body: dict[str, str] | str
    content_type: str = "application/json"

    def to_api_gateway(self) -> dict:
        return {
            "statusCode": self.status,
            "headers": {"Content-Type": self.content_type},
            "body": self.body if isinstance(self.body, str) else json.dumps(self.body),
        }


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse(status=status, body={"error": message})


def receive_webhook(
    event: ApiGatewayProxyEvent,
    secrets: SecretSource,
    queue: WorkQueue,
    max_body_bytes: int,
    clock: Callable[[], float] = time.time,
) -> HttpResponse:
    source_name = (event.path_parameters or {}).get("source", "")
    source = get_source(source_name)
    if source is None:
        return _error(404, "unknown webhook source")
    try:
        raw = event.raw_body()
    except (binascii.Error, ValueError):
        return _error(400, "body is not valid base64")
    if len(raw) > max_body_bytes:
        return _error(413, f"body exceeds the {max_body_bytes}-byte limit")
    headers = event.lower_case_headers()
    secret = secrets.webhook_secret(source.secret_name)
    if not secret:
        return _error(401, f"no signing secret is configured for {source.name}: the request cannot be verified")
    try:
        source.verify(raw, headers, secret, clock())
    except SignatureError as exc:
        return _error(401, f"signature rejected: {exc}")
    try:
        parsed = source.parse(raw, headers, utc_now())
    except WebhookRejected as exc:
        return _error(exc.status, str(exc))
    if isinstance(parsed, Ping):
        return HttpResponse(status=200, body={"status": "ping received"})
    if isinstance(parsed, WebhookEnvelope):
        queue.send(WebhookWork(webhook=parsed))
        return HttpResponse(status=202, body={"status": "accepted"})
    return _queue_each(parsed, queue)


def _queue_each(envelopes: list[WebhookEnvelope], queue: WorkQueue) -> HttpResponse:
    """A request carrying many messages (X, Meta). Those platforms count only a 200 as delivered."""
    queue.send_many([WebhookWork(webhook=envelope) for envelope in envelopes])
    if not envelopes:
        return HttpResponse(status=200, body={"status": "nothing to do"})
    return HttpResponse(status=200, body={"status": "accepted", "queued": str(len(envelopes))})


def receive_handshake(event: ApiGatewayProxyEvent, secrets: SecretSource) -> HttpResponse:
    source = get_source((event.path_parameters or {}).get("source", ""))
    if source is None or source.handshake is None:
        return _error(404, "no webhook source with a GET check here")
    secret_document = {name: value for name in source.handshake_secrets if (value := secrets.webhook_secret(name))}
    answer = source.handshake(event.query_string_parameters or {}, secret_document)
    return HttpResponse(status=answer.status, body=answer.body, content_type=answer.content_type)

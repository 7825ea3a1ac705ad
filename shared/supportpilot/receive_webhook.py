"""POST /webhooks/{source}: bound, authenticate and parse a webhook, then queue it.

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
from supportpilot.webhooks import Ping, SignatureError, WebhookRejected, get_source


class ApiGatewayProxyEvent(BaseModel):
    """The parts of an API Gateway (REST, payload 1.0) proxy event that the receiver reads."""

    path_parameters: dict[str, str] | None = Field(default=None, alias="pathParameters")
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
    status: int
    body: dict[str, str]

    def to_api_gateway(self) -> dict:
        return {
            "statusCode": self.status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(self.body),
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
    queue.send(WebhookWork(webhook=parsed))
    return HttpResponse(status=202, body={"status": "accepted"})

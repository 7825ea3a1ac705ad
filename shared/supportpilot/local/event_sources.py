"""Event sources of the local runtime, each producing the event shape AWS would deliver.

- SQS: a poller per event source mapping, batch size and partial batch responses as declared.
  Failed records become visible again at once (AWS waits out the visibility timeout), so the
  redrive policy moves a poison message to its dead-letter queue within seconds.
- API Gateway: an HTTP server on loopback turning requests into REST proxy events (payload 1.0).
- SES: stores the raw mail where the receipt rule's S3 action would, then invokes the Lambda
  action asynchronously: two retries, then the function's on-failure destination.
"""

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3

from supportpilot.local.cognito import CognitoAuthorizer
from supportpilot.local.stack import ACCOUNT_ID, REGION, LocalFunction, LocalStack
from supportpilot.local.template import ApiRoute, SesRule, SqsSource

logger = logging.getLogger("supportpilot.local")
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
UNAUTHORIZED = b'{"message":"Unauthorized"}'


class SqsPoller(threading.Thread):
    def __init__(self, stack: LocalStack, function: LocalFunction, source: SqsSource, stop: threading.Event):
        super().__init__(name=f"sqs-{source.queue}", daemon=True)
        self._function = function
        self._source = source
        self._queue_url = stack.physical_id(source.queue)
        self._queue_arn = stack.queue_arn(source.queue)
        self._sqs = boto3.client("sqs")
        self._stopping = stop
        self.busy = False

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:  # keep serving: a local runtime should survive a bad poll
                logger.exception("polling %s failed", self._source.queue)
                time.sleep(0.5)

    def poll_once(self, wait_seconds: int = 0) -> int:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self._source.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        self.busy = True
        try:
            failed = self._deliver(messages)
        finally:
            self.busy = False
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        for message in messages:
            if message["MessageId"] in failed:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return len(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> set[str]:
        event = sqs_event(messages, self._queue_arn)
        all_ids = {m["MessageId"] for m in messages}
        try:
            result = self._function.invoke(event)
        except Exception:
            logger.warning("%s raised: the whole batch returns to the queue", self._function.spec.logical_id)
            return all_ids
        if not self._source.reports_batch_item_failures:
            return set()
        failures = (result or {}).get("batchItemFailures", [])
        return {f["itemIdentifier"] for f in failures}


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict:
    """The event Lambda's SQS event source mapping delivers for messages from ReceiveMessage."""
    now_ms = str(int(time.time() * 1000))
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", now_ms),
                    "SenderId": attributes.get("SenderId", ACCOUNT_ID),
                    "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", now_ms),
                },
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def proxy_event(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    route: ApiRoute,
    claims: dict[str, str] | None = None,
) -> dict:
    """An API Gateway REST proxy event (payload 1.0) for a request that matched `route`; `claims` are
    what a Cognito authorizer verified."""
    url = urlsplit(raw_path)
    path_parameters = route.match(method, url.path) or {}
    query = parse_qsl(url.query, keep_blank_values=True)
    try:
        text_body: str | None = body.decode("utf-8")
        is_base64 = False
    except UnicodeDecodeError:
        text_body, is_base64 = base64.b64encode(body).decode(), True
    return {
        "resource": route.path,
        "path": url.path,
        "httpMethod": method.upper(),
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": {k: [v for q, v in query if q == k] for k, _ in query} or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method.upper(),
            "path": url.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "accountId": ACCOUNT_ID,
            "identity": {"sourceIp": "127.0.0.1"},
            **({"authorizer": {"claims": claims}} if claims is not None else {}),
        },
        "body": text_body if body else None,
        "isBase64Encoded": is_base64,
    }


class LocalApi:
    """Serves the template's Api routes on loopback, like `sam local start-api` without Docker, with
    API Gateway's Cognito authorizer on the routes that have one."""

    def __init__(self, stack: LocalStack, port: int = 0):
        self.authorizers = {name: CognitoAuthorizer(pool) for name, pool in stack.user_pools.items()}
        self.routes = [
            (route, stack.functions[name])
            for name, spec in stack.template.functions.items()
            for route in spec.api_routes
        ]
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # no request lines on the console
                return

            def _serve(self) -> None:
                api.serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True)

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        matched = next(((r, f) for r, f in self.routes if r.match(request.command, path) is not None), None)
        if matched is None:
            self._reply(request, HTTPStatus.NOT_FOUND, {"Content-Type": "application/json"}, b'{"message":"Not Found"}')
            return
        length = int(request.headers.get("Content-Length") or 0)
        if length > API_GATEWAY_MAX_BODY:
            self._reply(request, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {}, b'{"message":"Request Too Long"}')
            return
        body = request.rfile.read(length) if length else b""
        route, function = matched
        claims = None
        if route.user_pool is not None:
            claims = self.authorizers[route.user_pool].claims(request.headers.get("Authorization"))
            if claims is None:
                self._reply(request, HTTPStatus.UNAUTHORIZED, {"Content-Type": "application/json"}, UNAUTHORIZED)
                return
        event = proxy_event(request.command, request.path, dict(request.headers.items()), body, route, claims)
        try:
            response = function.invoke(event)
        except Exception:
            logger.exception("%s raised", function.spec.logical_id)
            self._reply(request, HTTPStatus.BAD_GATEWAY, {}, b'{"message":"Internal server error"}')
            return
        payload = response.get("body") or ""
        raw = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        # API Gateway merges `headers` and `multiValueHeaders` (Powertools' REST resolver uses the latter).
        headers = {name: [value] for name, value in (response.get("headers") or {}).items()}
        headers.update(response.get("multiValueHeaders") or {})
        self._reply(request, response.get("statusCode", 200), headers, raw)

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str | list[str]], body: bytes) -> None:
        request.send_response(status)
        for name, values in headers.items():
            for value in [values] if isinstance(values, str) else values:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


class LocalSes:
    """Delivers a raw mail as the template's receipt rule does: S3 action, then Lambda action."""

    def __init__(self, stack: LocalStack):
        if not stack.template.ses_rules:
            raise RuntimeError("template.yaml has no SES receipt rule with an S3 action")
        self._rule: SesRule = stack.template.ses_rules[0]
        self._stack = stack
        self._function = stack.functions[self._rule.function]
        self._s3 = boto3.client("s3")
        self._sqs = boto3.client("sqs")

    def deliver(self, raw_mail: bytes, ses_event: dict) -> bool:
        """Returns False when every attempt failed and the event went to the on-failure destination."""
        message_id = ses_event["Records"][0]["ses"]["mail"]["messageId"]
        bucket = self._stack.physical_id(self._rule.bucket)
        self._s3.put_object(Bucket=bucket, Key=f"{self._rule.prefix}{message_id}", Body=raw_mail)
        spec = self._function.spec
        for _attempt in range(1 + spec.max_async_retries):
            try:
                self._function.invoke(ses_event)
                return True
            except Exception:
                logger.warning("%s failed on an SES event", spec.logical_id)
        if spec.on_failure_destination:
            self._sqs.send_message(
                QueueUrl=self._stack.physical_id(spec.on_failure_destination),
                MessageBody=json.dumps(
                    {"requestPayload": ses_event, "responseContext": {"functionError": "Unhandled"}}
                ),
            )
        return False

"""The local stack in-process (moto's mock_aws), pumped by hand so tests are deterministic."""

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from supportpilot.local.cognito import CognitoAuthorizer, sign_in
from supportpilot.local.demo import LocalRuntime, sign_sample
from supportpilot.local.event_sources import LocalSes, SqsPoller, proxy_event
from supportpilot.local.stack import DEMO_OPERATOR_PASSWORD, MOTO_CONFIG, REGION
from supportpilot.models import Ticket
from tests.conftest import EVENTS, PROJECT_ROOT


def mails_about(ticket_id: str, text: str) -> int:
    """Mails SES took that name the ticket and contain `text`."""
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return sum(1 for message in sent if ticket_id in message.raw_data and text in message.raw_data)


class Pipeline:
    def __init__(self, runtime: LocalRuntime):
        self.runtime = runtime
        self.stack = runtime.stack
        self.store = runtime.ticket_store()
        self.sqs = boto3.client("sqs")
        never_started = threading.Event()
        self.pollers = [
            SqsPoller(self.stack, self.stack.functions[name], source, never_started)
            for name, spec in self.stack.template.functions.items()
            for source in spec.sqs_sources
        ]
        self.ses = LocalSes(self.stack)

    @classmethod
    @contextmanager
    def in_process(
        cls, environment: dict[str, str] | None = None, parameters: dict[str, str] | None = None
    ) -> Iterator["Pipeline"]:
        """`parameters`: template parameters besides the local stack's own (`DEMO_PARAMETERS`)."""
        with mock_aws(config=MOTO_CONFIG):
            runtime = LocalRuntime(PROJECT_ROOT, parameters=parameters)
            # Re-read the routing-policy override on every ticket, so tests can change it.
            runtime.stack.create(
                environment_overrides={
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                    "ROUTING_POLICY_MAX_AGE_SECONDS": "0",
                    **(environment or {}),
                }
            )
            runtime.stack.create_demo_operators()
            yield cls(runtime)

    # ---------- feeding ----------
    def deliver_mail(self, eml_name: str, message_id: str | None = None, **verdicts: str) -> dict:
        """Deliver events/mail/<eml_name>.eml through SES with the sample SES event as template."""
        event = json.loads((EVENTS / "receive_mail" / "order_status_nl.json").read_text())
        mail = event["Records"][0]["ses"]["mail"]
        mail["messageId"] = message_id or eml_name
        for name, status in verdicts.items():
            event["Records"][0]["ses"]["receipt"][name] = {"status": status}
        self.ses.deliver((EVENTS / "mail" / f"{eml_name}.eml").read_bytes(), event)
        return event

    def deliver_raw_mail(self, raw: bytes, message_id: str, recipients: list[str] | None = None) -> None:
        event = json.loads((EVENTS / "receive_mail" / "order_status_nl.json").read_text())
        event["Records"][0]["ses"]["mail"]["messageId"] = message_id
        if recipients:
            event["Records"][0]["ses"]["receipt"]["recipients"] = recipients
        self.ses.deliver(raw, event)

    def post_webhook(self, source: str, body: bytes, headers: dict[str, str], sign: bool = True) -> dict:
        """Invoke the webhook function with an API Gateway event, as the API would."""
        route = next(r for f in self.stack.template.functions.values() for r in f.api_routes)
        all_headers = dict(headers)
        if sign:
            all_headers.update(sign_sample(source, body, int(time.time())))
        event = proxy_event("POST", f"/webhooks/{source}", all_headers, body, route)
        response = self.stack.functions["ReceiveWebhookFunction"].invoke(event)
        return {"status": response["statusCode"], "body": json.loads(response["body"])}

    def post_sample(self, name: str) -> dict:
        event = json.loads((EVENTS / "receive_webhook" / f"{name}.json").read_text())
        source = event["pathParameters"]["source"]
        return self.post_webhook(source, event["body"].encode(), event["headers"])

    def drain(self, max_rounds: int = 200) -> None:
        """Run the SQS stages until every source queue is empty."""
        for _ in range(max_rounds):
            if sum(poller.poll_once() for poller in self.pollers) == 0:
                return
        raise AssertionError("queues did not drain")

    # ---------- operators ----------
    def operator_token(self, email: str) -> str:
        """An ID token of a development operator (agent@, supervisor@ or admin@example.com)."""
        (pool,) = self.stack.user_pools.values()
        return sign_in(pool, email, DEMO_OPERATOR_PASSWORD)

    def call_operator_api(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: dict | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict:
        """Through API Gateway as the local runtime emulates it: the Cognito authorizer checks the token
        (401 without a valid one), then the operator API's handler gets the proxy event with its claims."""
        function = self.stack.functions["OperatorApiFunction"]
        route = next(r for r in function.spec.api_routes if r.match(method, path.split("?")[0]) is not None)
        claims = None
        if route.user_pool is not None:
            claims = CognitoAuthorizer(self.stack.user_pools[route.user_pool]).claims(token)
            if claims is None:
                return {"status": 401, "body": {"message": "Unauthorized"}}
        raw = (body if isinstance(body, str) else json.dumps(body)).encode() if body is not None else b""
        sent = {"Content-Type": "application/json", **({"Authorization": token} if token else {}), **(headers or {})}
        response = function.invoke(proxy_event(method, path, sent, raw, route, claims))
        text = response.get("body") or ""
        headers = {
            **(response.get("headers") or {}),
            **{k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()},
        }
        return {
            "status": response["statusCode"],
            "body": json.loads(text) if text.startswith(("{", "[")) else text,
            "headers": {name.lower(): value for name, value in headers.items()},
        }

    def handler_module(self, logical_id: str) -> ModuleType:
        """The module of a function's handler as this stack imported it (to reach its globals)."""
        prefix = f"_supportpilot_{logical_id}_"  # supportpilot.local.stack.import_handler's naming
        newest = max((name for name in sys.modules if name.startswith(prefix)), key=lambda n: int(n[len(prefix) :]))
        return sys.modules[newest]

    # ---------- reading ----------
    def tickets(self) -> list[Ticket]:
        return self.store.all_tickets()

    def ticket_with_subject(self, fragment: str) -> Ticket:
        matches = [t for t in self.tickets() if fragment.lower() in t.subject.lower()]
        assert len(matches) == 1, f"expected one ticket with {fragment!r}, found {len(matches)}"
        return matches[0]

    def ticket_once(self, ticket_id: str, condition, timeout: float = 10.0) -> Ticket:
        """The ticket as soon as `condition` holds: escalation executions run in moto's own threads."""
        deadline = time.monotonic() + timeout
        while True:
            ticket = self.store.get_ticket(ticket_id)
            if condition(ticket) or time.monotonic() > deadline:
                return ticket
            time.sleep(0.05)

    def ticket_at_rest(self, ticket_id: str) -> Ticket:
        """The ticket once its escalation waits on its task token: moto's in-process transactions fail while
        the execution's thread still writes the ticket."""
        dynamodb, table = boto3.client("dynamodb"), self.stack.physical_id("DeskTable")
        key = {"pk": {"S": f"TICKET#{ticket_id}"}, "sk": {"S": "#TICKET"}}
        for _ in range(200):
            if "escalation_task_token" in dynamodb.get_item(TableName=table, Key=key)["Item"]:
                break
            time.sleep(0.05)
        return self.store.get_ticket(ticket_id)

    def inbound_messages(self, ticket_id: str) -> list:
        return [m for m in self.store.messages(ticket_id) if m.direction == "inbound"]

    def queue_depth(self, logical_id: str) -> int:
        return self.stack.queue_depth(logical_id)

    def dead_letter_bodies(self, logical_id: str) -> list[str]:
        url = self.stack.physical_id(logical_id)
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [m["Body"] for m in messages]

"""`supportpilot demo`: the whole pipeline on an embedded local AWS, fed with the samples in events/.

Samples follow one convention, the same files `sam local invoke -e` takes:
- events/receive_mail/<name>.json is an SES Lambda-action event; its raw mail is
  events/mail/<mail.messageId>.eml.
- events/receive_webhook/<name>.json is an API Gateway proxy event; the replay moves its dates by the
  days since `SAMPLES_DATED`, re-signs its body with the development secrets (signatures carry
  timestamps that go stale) and POSTs it to the local API over HTTP. A GET sample (a platform's
  endpoint check) is sent as GET with its query.
"""

import json
import logging
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import boto3

from supportpilot.adapters.dynamodb import DynamoTicketStore
from supportpilot.local.event_sources import LocalApi, LocalSes, SqsPoller
from supportpilot.local.stack import (
    DEMO_OPERATOR_PASSWORD,
    DEMO_OPERATORS,
    DEMO_WEBHOOK_SECRETS,
    LocalStack,
    MotoServer,
    use_local_aws,
)
from supportpilot.models import Ticket
from supportpilot.regex_store import compiled
from supportpilot.webhooks import sign_form, sign_meta, sign_shopify, sign_stripe, sign_woocommerce, sign_x

# The day the samples' dates were written for. The replay moves every date of a webhook sample by the whole days
# since, so an order delivered "three days ago" stays three days ago, inside its return window, and the demo
# shows the same decisions whenever it runs.
SAMPLES_DATED = datetime(2026, 11, 27, tzinfo=UTC)
_ISO_DATETIME = compiled(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_TIMESPEC = {0: "seconds", 4: "milliseconds"}  # by the length of the fraction with its dot; else microseconds

SIGNATURE_HEADERS = {
    "x-shopify-hmac-sha256",
    "x-wc-webhook-signature",
    "stripe-signature",
    "x-supportpilot-signature",
    "x-twitter-webhooks-signature",
    "x-hub-signature-256",
}


def sign_sample(source: str, raw: bytes, now: int) -> dict[str, str]:
    secret = DEMO_WEBHOOK_SECRETS[source]
    signers = {
        "shopify": lambda: sign_shopify(raw, secret),
        "woocommerce": lambda: sign_woocommerce(raw, secret),
        "stripe": lambda: sign_stripe(raw, secret, timestamp=now),
        "form": lambda: sign_form(raw, secret, timestamp=now),
        "x": lambda: sign_x(raw, secret),
        "meta": lambda: sign_meta(raw, secret),
    }
    return signers[source]()


def shift_sample_dates(text: str, by: timedelta) -> str:
    """Every ISO 8601 date-time in `text` moved by `by`, written as it was (offset or Z, fraction digits)."""

    def moved(match: re.Match[str]) -> str:
        fraction, zone = match.group(1) or "", match.group(2)
        shifted = datetime.fromisoformat(match.group().replace("Z", "+00:00")) + by
        written = shifted.isoformat(timespec=_TIMESPEC.get(len(fraction), "microseconds"))
        return written.removesuffix("+00:00") + "Z" if zone == "Z" else written

    return _ISO_DATETIME.sub(moved, text)


def days_since_samples_dated(now: datetime) -> timedelta:
    return timedelta(days=(now.date() - SAMPLES_DATED.date()).days)


@dataclass
class ReplayReport:
    mails_delivered: int = 0
    mails_failed: int = 0
    webhook_statuses: dict[str, int] = field(default_factory=dict)


class LocalRuntime:
    """The stack, its event sources, and helpers to feed it and wait for it to settle."""

    def __init__(self, project_root: Path, quiet: bool = True, parameters: dict[str, str] | None = None):
        self.root = project_root
        self.stack = LocalStack(project_root / "template.yaml", parameters)
        self._quiet = quiet
        self._stop = threading.Event()
        self.pollers: list[SqsPoller] = []
        self.api: LocalApi | None = None
        self.ses: LocalSes | None = None

    def start(self, api_port: int = 0) -> None:
        self.create_stack()
        self.start_event_sources(api_port)

    def create_stack(self) -> None:
        # stdout belongs to the board and --json; EMF metrics would print there (no CloudWatch here).
        overrides = {"POWERTOOLS_METRICS_DISABLED": "true"}
        if self._quiet:
            overrides["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        if os.environ.get("AWS_ENDPOINT_URL"):
            # The console signs in from the browser: against moto's Cognito (it answers CORS preflights).
            overrides["CONSOLE_COGNITO_ENDPOINT"] = os.environ["AWS_ENDPOINT_URL"]
        self.stack.create(environment_overrides=overrides)
        self.stack.create_demo_operators()
        _send_function_logs_to_stderr()

    def start_event_sources(self, api_port: int = 0) -> None:
        for name, spec in self.stack.template.functions.items():
            for source in spec.sqs_sources:
                poller = SqsPoller(self.stack, self.stack.functions[name], source, self._stop)
                poller.start()
                self.pollers.append(poller)
        self.api = LocalApi(self.stack, api_port)
        self.api.start()
        self.ses = LocalSes(self.stack)

    def stop(self) -> None:
        self._stop.set()
        if self.api:
            self.api.stop()
        for poller in self.pollers:
            poller.join(timeout=5)

    def wait_until_settled(self, timeout: float = 60.0) -> None:
        """Until every source queue is empty and no handler is running (checked twice in a row)."""
        deadline = time.monotonic() + timeout
        calm = 0
        while time.monotonic() < deadline:
            idle = not any(p.busy for p in self.pollers)
            empty = all(self.stack.queue_depth(q) == 0 for q in self.stack.source_queues())
            calm = calm + 1 if idle and empty else 0
            if calm >= 2:
                return
            time.sleep(0.05)
        raise TimeoutError(f"the pipeline did not settle within {timeout:.0f} s")

    # ---------- feeding ----------
    def replay_samples(self) -> ReplayReport:
        """Webhooks first, so the shop's orders are on the timelines when the mails about them are
        enriched; then the mails, in file-name order (angry_1, angry_2, angry_3 ...)."""
        report = ReplayReport()
        events = self.root / "events"
        for path in sorted((events / "receive_webhook").glob("*.json")):
            report.webhook_statuses[path.stem] = self.post_sample(json.loads(path.read_text()))
        self.wait_until_settled()
        for path in sorted((events / "receive_mail").glob("*.json")):
            ses_event = json.loads(path.read_text())
            message_id = ses_event["Records"][0]["ses"]["mail"]["messageId"]
            raw = (events / "mail" / f"{message_id}.eml").read_bytes()
            assert self.ses is not None
            if self.ses.deliver(raw, ses_event):
                report.mails_delivered += 1
            else:
                report.mails_failed += 1
            self.wait_until_settled()
        return report

    def post_sample(self, api_event: dict) -> int:
        assert self.api is not None
        if api_event["httpMethod"] == "GET":
            query = urllib.parse.urlencode(api_event.get("queryStringParameters") or {})
            return self.send("GET", f"{api_event['path']}?{query}", None, api_event.get("headers") or {})
        age = days_since_samples_dated(datetime.now(UTC))
        raw = shift_sample_dates(api_event.get("body") or "", age).encode()
        source = api_event["pathParameters"]["source"]
        headers = {
            name: shift_sample_dates(value, age)
            for name, value in (api_event.get("headers") or {}).items()
            if name.lower() not in SIGNATURE_HEADERS
        }
        headers.update(sign_sample(source, raw, int(time.time())))
        return self.send("POST", api_event["path"], raw, headers)

    def send(self, method: str, path: str, raw: bytes | None, headers: dict[str, str]) -> int:
        assert self.api is not None
        request = urllib.request.Request(f"{self.api.url}{path}", data=raw, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the local API on loopback)
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def wait_for_escalations(self, timeout: float = 15.0) -> None:
        """Escalation executions run in moto's threads: wait until each one has reached its wait."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tickets = self.ticket_store().all_tickets()
            if all(t.escalation for t in tickets if t.routing and t.routing.automation_level != "auto_reply"):
                return
            time.sleep(0.1)

    # ---------- reading ----------
    def ticket_store(self) -> DynamoTicketStore:
        return DynamoTicketStore(
            boto3.client("dynamodb"),
            self.stack.physical_id("DeskTable"),
            int(self.stack.environment.get("TICKET_RETENTION_DAYS", "730")),
        )

    def dead_letters(self) -> dict[str, int]:
        return {queue: self.stack.queue_depth(queue) for queue in self.stack.dead_letter_queues()}


def _send_function_logs_to_stderr() -> None:
    """Powertools logs to stdout, which the demo keeps for the board and --json lines."""
    for handler in logging.getLogger("supportpilot").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


def ticket_summary(ticket: Ticket) -> dict:
    routing = ticket.routing
    return {
        "id": ticket.id,
        "channel": ticket.channel.value,
        "status": ticket.status.value,
        "category": ticket.triage.category if ticket.triage else None,
        "language": ticket.language,
        "queue": ticket.queue,
        "priority": ticket.priority,
        "automation_level": routing.automation_level if routing else None,
        "reasons": routing.reasons if routing else [],
        "escalation_state": ticket.escalation.state if ticket.escalation else None,
    }


def print_board(tickets: list[Ticket], dead_letters: dict[str, int], out: TextIO) -> None:
    columns = ("id", "channel", "status", "category", "lang", "queue", "prio", "automation", "escalation", "subject")
    rows = [
        (
            t.id,
            t.channel.value,
            t.status.value,
            t.triage.category if t.triage else "-",
            t.language or "-",
            t.queue,
            t.priority or "-",
            t.routing.automation_level if t.routing else "-",
            t.escalation.state if t.escalation else "-",
            (t.subject[:38] + "...") if len(t.subject) > 41 else t.subject,
        )
        for t in tickets
    ]
    widths = [max(len(str(v)) for v in column) for column in zip(columns, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*columns), file=out)
    print(line.format(*("-" * w for w in widths)), file=out)
    for row in rows:
        print(line.format(*row), file=out)
    print(f"\n{len(tickets)} tickets", file=out)
    failed = {queue: depth for queue, depth in dead_letters.items() if depth}
    print("dead-letter queues: " + (", ".join(f"{q}={d}" for q, d in failed.items()) if failed else "empty"), file=out)


PRINT_SIGN_IN_RESULT = 'import json,sys; print(json.load(sys.stdin)["AuthenticationResult"]["IdToken"])'


def sign_in_instructions(stack: LocalStack, moto_url: str, api_url: str) -> str:
    """How an operator signs in to the local Cognito and calls the operator API."""
    (pool,) = stack.user_pools.values()
    request = json.dumps(
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": pool.client_ids[0],
            "AuthParameters": {"USERNAME": "agent@example.com", "PASSWORD": DEMO_OPERATOR_PASSWORD},
        }
    )
    users = ", ".join(f"{email} ({group})" for email, group in DEMO_OPERATORS.items())
    return (
        f"\ndevelopment operators: {users}; password {DEMO_OPERATOR_PASSWORD}\n"
        f"operator console: {api_url}/console (sign in with one of them)\n"
        "sign in and list the queue:\n"
        f"  TOKEN=$(curl -s {moto_url}/ -H 'Content-Type: application/x-amz-json-1.1' "
        "-H 'X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth' "
        f"-d '{request}' | python3 -c {PRINT_SIGN_IN_RESULT!r})\n"
        f'  curl -s -H "Authorization: $TOKEN" {api_url}/api/tickets'
    )


@contextmanager
def local_aws() -> Iterator[str]:
    server = MotoServer()
    url = server.start()
    use_local_aws(url)
    try:
        yield url
    finally:
        server.stop()


def run_demo(project_root: Path, once: bool, as_json: bool, api_port: int, verbose: bool, out: TextIO) -> int:
    status = sys.stderr
    with local_aws() as moto_url:
        runtime = LocalRuntime(project_root, quiet=not verbose)
        started = time.monotonic()
        runtime.start(api_port)
        print(f"local AWS (moto) at {moto_url}; stack created in {time.monotonic() - started:.1f} s", file=status)
        try:
            report = runtime.replay_samples()
            runtime.wait_until_settled()
            runtime.wait_for_escalations()
            tickets = runtime.ticket_store().all_tickets()
            dead_letters = runtime.dead_letters()
            print(
                f"replayed {report.mails_delivered} mails and {len(report.webhook_statuses)} webhooks "
                f"({', '.join(f'{k}: {v}' for k, v in report.webhook_statuses.items())})",
                file=status,
            )
            if as_json:
                for ticket in tickets:
                    print(json.dumps(ticket_summary(ticket)), file=out)
            else:
                print_board(tickets, dead_letters, out)
            if once:
                return 1 if any(dead_letters.values()) or report.mails_failed else 0
            assert runtime.api is not None
            print(sign_in_instructions(runtime.stack, moto_url, runtime.api.url), file=status)
            print(
                f"\nserving the API at {runtime.api.url} (/webhooks/{{source}}, /api/..., /swagger); Ctrl-C to stop",
                file=status,
            )
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
        finally:
            runtime.stop()

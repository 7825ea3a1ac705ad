"""`make bench`: cold start of every function and throughput of the local pipeline.

All figures come from one run on one machine against moto in server mode on loopback, so they
compare with each other, not with AWS. Cold start = a fresh Python process that imports the
handler module and serves one event (the parent also times the whole process, interpreter start
included). Beside it, the same kind of process that only imports boto3 and creates one client: the
floor every function that talks to AWS pays.
"""

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import boto3

from bench.cost import UsageMeter, cost_per_thousand, stepfunctions_transitions, table_indexes
from bench.layer import LAMBDA_PYTHON, build_layer, lambda_python_description, layer_environment
from bench.parse_bench import table as parse_table
from bench.retrain_bench import table as retrain_table
from bench.triage_bench import DEFAULT_MODEL
from bench.triage_bench import table as triage_table
from supportpilot.envelopes import MailArrived, MailWork
from supportpilot.local.demo import LocalRuntime, local_aws, sign_sample
from supportpilot.local.event_sources import proxy_event, sqs_event
from supportpilot.local.template import load_template

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
COLD_START = Path(__file__).with_name("cold_start.py")
SAMPLE_MAIL = (EVENTS / "mail" / "order_status_nl.eml").read_bytes()


# One event of these does hours of work, not a request: measured in their own sections.
# Not measured here: retraining has its own section; an import needs an uploaded export and its job;
# a rating page needs a link signed with the stack's secret.
NO_COLD_START_RUN = {"RetrainFunction", "ImportFunction", "CsatFunction"}

STAGES = [
    ("IngestFunction", "ClassifyQueue"),
    ("ClassifyFunction", "EnrichQueue"),
    ("EnrichFunction", "RouteQueue"),
    ("RouteFunction", "NotifyQueue"),
]


class EventFactory:
    """A fresh, valid event per function and run (no redelivery short-cuts in the timings)."""

    def __init__(self, runtime: LocalRuntime):
        self.runtime = runtime
        self.stack = runtime.stack
        self.bucket = self.stack.physical_id("MailBucket")
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")

    def _stored_mail(self) -> str:
        ses_id = f"bench-{uuid.uuid4().hex}"
        self.s3.put_object(Bucket=self.bucket, Key=f"raw/{ses_id}", Body=SAMPLE_MAIL)
        return ses_id

    def receive_mail(self) -> dict:
        event = json.loads((EVENTS / "receive_mail" / "order_status_nl.json").read_text())
        event["Records"][0]["ses"]["mail"]["messageId"] = self._stored_mail()
        return event

    def receive_webhook(self) -> dict:
        event = json.loads((EVENTS / "receive_webhook" / "form_contact_nl.json").read_text())
        event["headers"].update(sign_sample("form", event["body"].encode(), int(time.time())))
        event["multiValueHeaders"] = None
        return event

    def ingest(self) -> dict:
        ses_id = self._stored_mail()
        work = MailWork(
            mail=MailArrived(
                ses_message_id=ses_id, bucket=self.bucket, key=f"raw/{ses_id}", received_at=datetime.now(UTC)
            )
        )
        message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "bench", "Body": work.model_dump_json()}
        return sqs_event([message], self.stack.queue_arn("IngestQueue"))

    def trend_alert(self) -> dict:
        """The hourly EventBridge schedule's event."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "eu-west-1",
            "resources": [],
            "detail": {},
        }

    def connect_event(self) -> dict:
        return json.loads((EVENTS / "connect_events" / "voice_disconnected.json").read_text())

    def operator_api(self) -> dict:
        """GET /api/tickets as API Gateway passes it after the Cognito authorizer accepted an agent."""
        spec = self.stack.template.functions["OperatorApiFunction"]
        route = next(r for r in spec.api_routes if r.match("GET", "/api/tickets") is not None)
        claims = {"sub": "bench-operator", "cognito:groups": "[agent]"}
        return proxy_event("GET", "/api/tickets", {}, b"", route, claims)

    def stage_event(self, queue: str) -> dict:
        """Run one fresh mail through the stages before `queue` in this process; the event that
        the consumer of `queue` would get is handed to the child."""
        event = self.ingest()
        for function, output in STAGES:
            self.stack.functions[function].invoke(event)
            url = self.stack.physical_id(output)
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
            event = sqs_event(messages, self.stack.queue_arn(output))
            if output == queue:
                return event
        raise ValueError(f"no stage feeds {queue}")


def run_child(
    arguments: list[str], environment: dict[str, str] | None = None, python: str = sys.executable
) -> tuple[float, dict]:
    started = time.perf_counter()
    completed = subprocess.run(
        [python, *arguments], capture_output=True, text=True, check=True, env=environment or os.environ.copy()
    )
    wall = time.perf_counter() - started
    return wall, json.loads(completed.stdout.strip().splitlines()[-1])


def measure_retrain(labels: int) -> dict:
    """In a fresh process: the pipeline runs above leave clients bound to the stopped moto server."""
    return run_child(["-m", "bench.retrain_bench", "--labels", str(labels), "--json"])[1]


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def measure_cold_starts(factory: EventFactory, runs: int) -> list[dict]:
    rows = []
    builders: dict[str, Callable[[], dict]] = {
        "ReceiveMailFunction": factory.receive_mail,
        "ReceiveWebhookFunction": factory.receive_webhook,
        "IngestFunction": factory.ingest,
        "ClassifyFunction": partial(factory.stage_event, "ClassifyQueue"),
        "EnrichFunction": partial(factory.stage_event, "EnrichQueue"),
        "RouteFunction": partial(factory.stage_event, "RouteQueue"),
        "NotifyFunction": partial(factory.stage_event, "NotifyQueue"),
        "OperatorApiFunction": factory.operator_api,
        "TrendAlertFunction": factory.trend_alert,
        "ConnectEventsFunction": factory.connect_event,
    }
    with tempfile.TemporaryDirectory() as scratch:
        package = Path(scratch) / "package"
        layer = build_layer(package)
        shutil.copytree(ROOT / "functions", package / "functions", ignore=shutil.ignore_patterns("__pycache__"))
        environment = layer_environment(layer)
        for name, spec in factory.stack.template.functions.items():
            if name in NO_COLD_START_RUN:
                continue
            code_dir = package / Path(spec.code_dir).resolve().relative_to(ROOT)
            walls, imports, served, served_without_boto3, failures = [], [], [], [], 0
            for run in range(runs):
                event_file = Path(scratch) / f"{name}-{run}.json"
                event_file.write_text(json.dumps(builders[name]()))
                wall, child = run_child([str(COLD_START), str(code_dir), str(event_file)], environment, LAMBDA_PYTHON)
                walls.append(wall)
                imports.append(child["import_s"])
                served.append(child["first_event_s"])
                served_without_boto3.append(child["first_event_s"] - child["boto3_s"])
                failures += int(child["failed"] or (child["status"] or 200) >= 400)
            if failures:
                raise RuntimeError(f"{name} failed {failures} of its benchmark events")
            rows.append(
                {
                    "function": name,
                    "import_ms": median_ms(imports),
                    "first_event_ms": median_ms(served),
                    "first_event_without_boto3_ms": median_ms(served_without_boto3),
                    "process_wall_ms": median_ms(walls),
                }
            )
    return rows


def measure_boto3_floor(runs: int) -> dict:
    walls, clients = [], []
    for _ in range(runs):
        wall, child = run_child([str(COLD_START), "--boto3"], python=LAMBDA_PYTHON)
        walls.append(wall)
        clients.append(child["boto3_client_s"])
    return {"import_and_client_ms": median_ms(clients), "process_wall_ms": median_ms(walls)}


def send_ticket(runtime: LocalRuntime, index: int, label: str) -> bool:
    """One new ticket from a customer of its own: a signed contact form (even index) or an SES
    mail (odd). Returns True for a mail."""
    customer = f"bench-{label}-{index}@example.com"
    if index % 2:
        event = json.loads((EVENTS / "receive_mail" / "order_status_nl.json").read_text())
        event["Records"][0]["ses"]["mail"]["messageId"] = f"bench-{uuid.uuid4().hex}"
        raw = SAMPLE_MAIL.replace(b"jan.voorbeeld@example.nl", customer.encode())
        assert runtime.ses is not None
        runtime.ses.deliver(raw, event)
        return True
    sample = json.loads((EVENTS / "receive_webhook" / "form_contact_nl.json").read_text())
    sample["body"] = json.dumps({**json.loads(sample["body"]), "email": customer, "subject": f"{label} {index}"})
    status = runtime.post_sample(sample)
    if status != 202:
        raise RuntimeError(f"webhook answered {status}")
    return False


def reset_usage(runtime: LocalRuntime, meter: UsageMeter) -> None:
    meter.units.clear()
    meter.calls.clear()
    for function in runtime.stack.functions.values():
        function.invocations, function.billed_seconds = 0, 0.0


def new_tickets(runtime: LocalRuntime, known: set[str], expected: int) -> list:
    tickets = [t for t in runtime.ticket_store().all_tickets() if t.id not in known]
    if len(tickets) != expected or not all(t.routing for t in tickets):
        raise RuntimeError(f"expected {expected} routed tickets, found {sum(1 for t in tickets if t.routing)}")
    return tickets


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_one_at_a_time(runtime: LocalRuntime, tickets: int, meter: UsageMeter) -> dict:
    """Tickets sent one by one, each run to its decision before the next: the latency a customer's
    message sees on an idle desk, and what one ticket uses (metered while the table is small)."""
    runtime.wait_until_settled(timeout=900)  # what the cold-start runs left on the queues
    runtime.wait_for_escalations()
    known = {t.id for t in runtime.ticket_store().all_tickets()}
    reset_usage(runtime, meter)
    started_at = datetime.now(UTC)
    meter.active = True
    mails = 0
    for index in range(tickets):
        mails += send_ticket(runtime, index, "sequential")
        runtime.wait_until_settled(timeout=120)
    runtime.wait_for_escalations()
    meter.active = False
    routed = new_tickets(runtime, known, tickets)
    latencies = [(t.routing.decided_at - t.created_at).total_seconds() for t in routed if t.routing]
    state_machine = runtime.stack.physical_id("EscalationStateMachine")
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"]
    functions = runtime.stack.functions.values()
    units = {
        **{unit: amount for unit, amount in meter.units.items() if amount},
        "lambda_gb_second_arm64": sum(f.gb_seconds for f in functions),
        "lambda_request": sum(f.invocations for f in functions),
        "stepfunctions_transition": stepfunctions_transitions(
            [e["executionArn"] for e in executions if e["startDate"] >= started_at]
        ),
        "ses_inbound_message": mails,
        "ses_inbound_chunk_256kb": mails * math.ceil(len(SAMPLE_MAIL) / (256 * 1024)),
    }
    total, rows = cost_per_thousand(units, tickets)
    return {
        "tickets": tickets,
        "latency_p50_s": round(statistics.median(latencies), 2),
        "latency_p95_s": round(percentile(latencies, 0.95), 2),
        "gb_seconds_per_ticket": round(units["lambda_gb_second_arm64"] / tickets, 4),
        "gb_seconds_by_function": {
            name: round(f.gb_seconds / tickets, 4)
            for name, f in sorted(runtime.stack.functions.items())
            if f.invocations
        },
        "cost_per_1000_usd": round(total, 4),
        "cost_rows": rows,
    }


def measure_burst(runtime: LocalRuntime, tickets: int) -> dict:
    """Tickets sent as fast as the local API and SES take them, then the time until all are routed."""
    known = {t.id for t in runtime.ticket_store().all_tickets()}
    started = time.perf_counter()
    for index in range(tickets):
        send_ticket(runtime, index, "burst")
    runtime.wait_until_settled(timeout=1800)
    elapsed = time.perf_counter() - started
    new_tickets(runtime, known, tickets)
    table = runtime.stack.physical_id("DeskTable")
    return {
        "tickets": tickets,
        "seconds": round(elapsed, 1),
        "tickets_per_second": round(tickets / elapsed, 2),
        "table_items": boto3.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"],
    }


def render(cold: list[dict], floor: dict, sequential: dict, burst: dict, runs: int, command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, moto server on loopback). Medians of {runs} fresh processes. Cold "
        f"starts and triage speed: {lambda_python_description()}.",
        "",
        "## Cold start per function",
        "",
        "Import of the handler module (settings, clients, model) and the first event served, measured inside a "
        "fresh process from its first line; `process wall` is the parent's view, interpreter start included. "
        "The `boto3 floor` row is a process that only imports boto3 and creates one client. The children import "
        "the supportpilot package as `sam build` packages SupportPilotLayer (shared/Makefile: compiled to .pyc, by "
        "that interpreter) and functions/ from a copy without `__pycache__` (a handler module is compiled at "
        "import, as in Lambda), with `PYTHONDONTWRITEBYTECODE=1`; installed packages have their .pyc.",
        "",
        "`excluding boto3` is import + first event less the time the same process spent inside boto3, measured in "
        "it (bench/cold_start.py): `import boto3` (with botocore, s3transfer and urllib3; imported first, before "
        "the handler), every `boto3.client(...)` call and every AWS API call (`BaseClient._make_api_call`: "
        "serialising, signing, the moto server's answer, parsing), at import and in the first event; standard "
        "modules that boto3 imports (logging, json, http.client, ...) count as boto3's. What is left is the "
        "function's own cold start: its modules, pydantic, Powertools, settings, the model, its logic.",
        "",
        "| function | import (ms) | import + first event (ms) | import + first event, excluding boto3 (ms) "
        "| process wall (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['function']} | {r['import_ms']} | {r['first_event_ms']} | {r['first_event_without_boto3_ms']} "
        f"| {r['process_wall_ms']} |"
        for r in cold
    ]
    lines += [
        f"| boto3 floor: `import boto3` + one client | {floor['import_and_client_ms']} | - | - "
        f"| {floor['process_wall_ms']} |",
        "",
        f"Not in this table: {', '.join(sorted(NO_COLD_START_RUN))} (see the comment in bench/run.py).",
        "",
        "## Latency and throughput of the local pipeline",
        "",
        "receive -> ingest -> classify -> enrich -> route -> notify and the escalation workflow on the local runtime "
        "(one poller thread per SQS stage), each ticket from a customer of its own (half signed contact-form "
        "webhooks over HTTP, half SES mails).",
        "",
        f"- One at a time ({sequential['tickets']} tickets, each run to its decision before the next): from "
        f"ingestion (ticket written) to the routing decision **p50 {sequential['latency_p50_s']} s, p95 "
        f"{sequential['latency_p95_s']} s**.",
        f"- Burst ({burst['tickets']} tickets sent at once): all routed after {burst['seconds']} s, "
        f"**{burst['tickets_per_second']} tickets/s** ({burst['table_items']} items in the table at the end).",
        "",
        "These figures measure the emulator, not AWS: moto's `TransactWriteItems` deep-copies the whole table "
        "for rollback once per item of a transaction (so every write slows down as the table grows), the local "
        "runtime serialises DynamoDB calls, and moto shares one process (and its GIL) with all handlers.",
        "",
        "## Cost per 1,000 tickets",
        "",
        f"Lambda: **{sequential['gb_seconds_per_ticket']} GB-s per ticket**, the handlers' billed wall time "
        "(rounded up to 1 ms per invocation) times their configured memory, measured in-process on the "
        "one-at-a-time run (per function: "
        + ", ".join(f"{name} {value}" for name, value in sequential["gb_seconds_by_function"].items())
        + "). The wall time includes moto's answers on loopback, which are slower than DynamoDB's for writes. "
        "Other units are counted from the API calls the handlers and event sources made (bench/cost.py).",
        "",
        "| unit | per ticket | USD per 1,000 tickets |",
        "|---|---:|---:|",
    ]
    lines += [f"| {unit} | {per_ticket:.4g} | {usd:.4f} |" for unit, per_ticket, usd in sequential["cost_rows"]]
    lines += [
        f"| **total** | | **{sequential['cost_per_1000_usd']:.4f}** |",
        "",
        "Assumptions: US East list prices of 2025 (`bench/cost.PRICES_USD`; eu-west-1 is up to ~15% higher); no "
        "free tier; DynamoDB write units estimated from the request sizes (+1 KB for the untouched part of an "
        "updated item, x2 inside transactions), and apart each write's copy in every index of the table that holds "
        "the item before or after it (dynamodb_index_write_request_unit; twice where the item's key there "
        "changes), reads from the returned sizes; idle SQS long polls of the event "
        "source mappings are a fixed monthly cost and not counted; Step Functions transitions are those until "
        "each escalation waits for its claim (a claim adds about 3, each SLA tier about 4); SES inbound per "
        "received mail; no CloudWatch Logs ingestion, X-Ray, API Gateway requests ($3.50 per million REST "
        "requests), KMS or storage.",
        "",
    ]
    return "\n".join(lines)


TRIAGE_HEADING = "\n## Triage model\n"


def triage_section() -> str:
    return (
        f"{TRIAGE_HEADING}\nThe issue's targets beside this project's figures (bench/triage_bench.py: "
        "banking77 and clinc150 from ../shared/data, trained and evaluated with `supportpilot train/evaluate`'s "
        "code: the linear model, with the sentence encoder block (`supportpilot train --encoder`), and the "
        "cascade with a fine-tuned encoder (`supportpilot train --fine-tune`); for speed, cold start and size the "
        "shipped default model, and the seed corpus trained the other two ways; one OpenBLAS thread; `make bench "
        f"ARGS=--triage-only` measures this section alone; this section measured on {datetime.now(UTC):%Y-%m-%d})."
        "\n\n" + triage_table(DEFAULT_MODEL) + "\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sequential", type=int, default=20, help="tickets sent one at a time")
    parser.add_argument("--burst", type=int, default=100, help="tickets sent at once")
    parser.add_argument(
        "--triage-only", action="store_true", help="only measure the triage model and replace its section in --out"
    )
    parser.add_argument(
        "--keep-triage", action="store_true", help="measure everything but the triage model; keep its section of --out"
    )
    parser.add_argument("--retrain-labels", type=int, default=10_000, help="verified labels of the retrain run")
    args = parser.parse_args()
    previous = args.out.read_text() if args.out.is_file() else ""
    before, _, section = previous.partition(TRIAGE_HEADING)
    later_sections = section[section.find("\n## ") :] if "\n## " in section else ""
    if args.triage_only:
        report = before.rstrip("\n") + "\n" + triage_section() + later_sections
        args.out.write_text(report)
        print(report)
        return 0
    if args.keep_triage and not section:
        parser.error(f"--keep-triage: {args.out} has no triage section to keep")
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    desk_table = load_template(ROOT / "template.yaml").resources["DeskTable"]["Properties"]
    meter = UsageMeter(indexes=table_indexes(desk_table))
    meter.install()
    with local_aws():
        runtime = LocalRuntime(ROOT)
        runtime.create_stack()
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        cold = measure_cold_starts(EventFactory(runtime), args.runs)
        floor = measure_boto3_floor(args.runs)
        runtime.start_event_sources()
        try:
            sequential = measure_one_at_a_time(runtime, args.sequential, meter)
            burst = measure_burst(runtime, args.burst)
        finally:
            runtime.stop()
    kept_triage = TRIAGE_HEADING + section[: len(section) - len(later_sections)]
    report = render(cold, floor, sequential, burst, args.runs, "make bench") + (
        kept_triage if args.keep_triage else triage_section()
    )
    report += (
        "\n## Parsing large mails in the ingest stage\n\n`parse_mail` in this process (bench/parse_bench.py; "
        f"median and slowest of {args.runs} runs, peak Python heap of one more; IngestFunction has 1024 MB).\n\n"
        + parse_table(args.runs)
        + "\n"
    )
    report += (
        "\n## Retraining\n\nOne `supportpilot retrain` run (bench/retrain_bench.py): verified labels read from the "
        "table, the quality check (5-fold out-of-fold predictions), training on seed corpus + labels, evaluation "
        "of candidate and serving model on the frozen holdout, artifacts and card to S3; in-process moto.\n\n"
        + retrain_table(measure_retrain(args.retrain_labels))
        + "\n"
    )
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

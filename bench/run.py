"""`make bench`: cold start of every function and throughput of the local pipeline.

All figures come from one run on one machine against moto in server mode on loopback, so they
compare with each other, not with AWS. Cold start = a fresh Python process that imports the
handler module and serves one event (the parent also times the whole process, interpreter start
included). Beside it, the same kind of process that only imports boto3 and creates one client: the
floor every function that talks to AWS pays.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import boto3

from supportpilot.envelopes import MailArrived, MailWork
from supportpilot.local.demo import LocalRuntime, local_aws, sign_sample
from supportpilot.local.event_sources import sqs_event

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
COLD_START = Path(__file__).with_name("cold_start.py")
SAMPLE_MAIL = (EVENTS / "mail" / "order_status_nl.eml").read_bytes()


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

    def classify(self) -> dict:
        """Ingest one mail in this process, then hand its classify request to the child."""
        self.stack.functions["IngestFunction"].invoke(self.ingest())
        url = self.stack.physical_id("ClassifyQueue")
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        return sqs_event(messages, self.stack.queue_arn("ClassifyQueue"))


def run_child(arguments: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, check=True, env=os.environ.copy()
    )
    wall = time.perf_counter() - started
    return wall, json.loads(completed.stdout.strip().splitlines()[-1])


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def measure_cold_starts(factory: EventFactory, runs: int) -> list[dict]:
    rows = []
    builders: dict[str, Callable[[], dict]] = {
        "ReceiveMailFunction": factory.receive_mail,
        "ReceiveWebhookFunction": factory.receive_webhook,
        "IngestFunction": factory.ingest,
        "ClassifyFunction": factory.classify,
    }
    with tempfile.TemporaryDirectory() as scratch:
        for name, spec in factory.stack.template.functions.items():
            walls, imports, served, failures = [], [], [], 0
            for run in range(runs):
                event_file = Path(scratch) / f"{name}-{run}.json"
                event_file.write_text(json.dumps(builders[name]()))
                wall, child = run_child([str(COLD_START), str(spec.code_dir), str(event_file)])
                walls.append(wall)
                imports.append(child["import_s"])
                served.append(child["first_event_s"])
                failures += int(child["failed"] or (child["status"] or 200) >= 400)
            if failures:
                raise RuntimeError(f"{name} failed {failures} of its benchmark events")
            rows.append(
                {
                    "function": name,
                    "import_ms": median_ms(imports),
                    "first_event_ms": median_ms(served),
                    "process_wall_ms": median_ms(walls),
                }
            )
    return rows


def measure_boto3_floor(runs: int) -> dict:
    walls, clients = [], []
    for _ in range(runs):
        wall, child = run_child([str(COLD_START), "--boto3"])
        walls.append(wall)
        clients.append(child["boto3_client_s"])
    return {"import_and_client_ms": median_ms(clients), "process_wall_ms": median_ms(walls)}


def feed_tickets(runtime: LocalRuntime, count: int, label: str) -> float:
    """Send `count` new tickets (alternating signed form webhooks and SES mails); seconds to settle."""
    sample = json.loads((EVENTS / "receive_webhook" / "form_contact_nl.json").read_text())
    body = json.loads(sample["body"])
    before = len(runtime.ticket_store().all_tickets())
    started = time.perf_counter()
    for index in range(count):
        if index % 2:
            event = json.loads((EVENTS / "receive_mail" / "order_status_nl.json").read_text())
            event["Records"][0]["ses"]["mail"]["messageId"] = f"throughput-{uuid.uuid4().hex}"
            assert runtime.ses is not None
            runtime.ses.deliver(SAMPLE_MAIL, event)
        else:
            sample["body"] = json.dumps({**body, "subject": f"{label} {index}"})
            status = runtime.post_sample(sample)
            if status != 202:
                raise RuntimeError(f"webhook answered {status}")
    runtime.wait_until_settled(timeout=600)
    elapsed = time.perf_counter() - started
    created = len(runtime.ticket_store().all_tickets()) - before
    if created != count:
        raise RuntimeError(f"expected {count} new tickets, found {created}")
    return elapsed


def measure_throughput(runtime: LocalRuntime, tickets: int) -> dict:
    runtime.wait_until_settled(timeout=600)  # what the cold-start runs left on the queues
    half = tickets // 2
    first = feed_tickets(runtime, half, "first")
    second = feed_tickets(runtime, tickets - half, "second")
    return {
        "tickets": tickets,
        "seconds": round(first + second, 2),
        "tickets_per_second": round(tickets / (first + second), 1),
        "first_half_per_second": round(half / first, 1),
        "second_half_per_second": round((tickets - half) / second, 1),
        "table_items": boto3.client("dynamodb").scan(TableName=runtime.stack.physical_id("DeskTable"), Select="COUNT")[
            "Count"
        ],
    }


def render(cold: list[dict], floor: dict, throughput: dict, runs: int, command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, moto server on loopback). Medians of {runs} fresh processes.",
        "",
        "## Cold start per function",
        "",
        "Import of the handler module (settings, clients, model) and the first event served, measured inside a "
        "fresh process from its first line; `process wall` is the parent's view, interpreter start included. "
        "The `boto3 floor` row is a process that only imports boto3 and creates one client. Source files are not "
        "precompiled (`PYTHONDONTWRITEBYTECODE=1`, like a `sam build` package without .pyc); installed "
        "packages are.",
        "",
        "| function | import (ms) | import + first event (ms) | process wall (ms) |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['function']} | {r['import_ms']} | {r['first_event_ms']} | {r['process_wall_ms']} |" for r in cold]
    lines += [
        f"| boto3 floor: `import boto3` + one client | {floor['import_and_client_ms']} | - "
        f"| {floor['process_wall_ms']} |",
        "",
        "## Local pipeline throughput",
        "",
        f"{throughput['tickets']} tickets (half signed contact-form webhooks over HTTP, half SES mails) through "
        f"receive -> ingest -> classify on the local runtime (one poller thread per SQS stage): "
        f"{throughput['seconds']} s, **{throughput['tickets_per_second']} tickets/s** "
        f"(first half {throughput['first_half_per_second']}/s, second half {throughput['second_half_per_second']}/s; "
        f"{throughput['table_items']} items in the table at the end).",
        "",
        "The rate falls as the table grows: moto's `TransactWriteItems` deep-copies the whole table for rollback "
        "once per item of a transaction, and moto shares the process (and its GIL) with the handlers. "
        "It measures the emulator, not DynamoDB; the figure to watch in this table is the cold start.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tickets", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    with local_aws():
        runtime = LocalRuntime(ROOT)
        runtime.create_stack()
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        cold = measure_cold_starts(EventFactory(runtime), args.runs)
        floor = measure_boto3_floor(args.runs)
        runtime.start_event_sources()
        try:
            throughput = measure_throughput(runtime, args.tickets)
        finally:
            runtime.stop()
    report = render(cold, floor, throughput, args.runs, "make bench")
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

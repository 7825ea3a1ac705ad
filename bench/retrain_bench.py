"""Retraining benchmark: one `supportpilot retrain` run over N verified labels (default 10,000).

    .venv/bin/python -m bench.retrain_bench [--labels N]

The stack of template.yaml in in-process moto; N labels written straight to the table (texts drawn from
the seed corpus, each with a varying suffix, round-robin over its categories, 2% deliberately mislabelled),
then `RetrainService.retrain` as the CLI and the retrain function run it: label read, quality check (5-fold
out-of-fold predictions over seed + labels), training, frozen-holdout evaluation of candidate and serving
model, artifacts and card to S3. Wall time on this machine; the Lambda has 3008 MB (about 2 vCPUs).
"""

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
from moto import mock_aws

from supportpilot.adapters.dynamodb import serialise
from supportpilot.adapters.label_store import label_item
from supportpilot.adapters.learning_stack import retrain_service
from supportpilot.learning.retrain import RetrainSettings
from supportpilot.local.demo import LocalRuntime
from supportpilot.local.stack import MOTO_CONFIG, use_local_aws
from supportpilot.operator.models import HumanLabel
from supportpilot.triage import OUT_OF_SCOPE
from supportpilot.triage.training import read_corpus

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


def _labels(count: int) -> list[HumanLabel]:
    rng = random.Random(7)
    seed = [example for example in read_corpus(CORPUS) if example.label != OUT_OF_SCOPE]
    categories = sorted({example.label for example in seed})
    labels = []
    for number in range(count):
        example = seed[number % len(seed)]
        category = rng.choice(categories) if rng.random() < 0.02 else example.label
        labels.append(
            HumanLabel(
                # Ids in label order: the store reads labels by id, and the quality check's folds follow that
                # order, so random ids (ULIDs made in the same millisecond) changed the figures between runs.
                id=f"{number:026d}",
                ticket_id=f"{number:026d}",
                message_id=None,
                category=category,
                operator_id="bench",
                at=datetime.now(UTC),
                language=example.language,
                text=f"{example.text} (ref {number})",
            )
        )
    return labels


def measure(count: int) -> dict:
    use_local_aws(None)
    with mock_aws(config=MOTO_CONFIG):
        runtime = LocalRuntime(ROOT)
        runtime.stack.create(environment_overrides={"POWERTOOLS_LOG_LEVEL": "WARNING"})
        table, bucket = runtime.stack.physical_id("DeskTable"), runtime.stack.physical_id("ModelBucket")
        dynamodb = boto3.client("dynamodb")
        items = [serialise(label_item(label, 0)) for label in _labels(count)]
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            dynamodb.batch_write_item(RequestItems={table: requests})
        service = retrain_service(dynamodb, boto3.client("s3"), table, bucket, 730, RetrainSettings(), CORPUS)
        started = time.perf_counter()
        outcome = service.retrain("bench")
        seconds = time.perf_counter() - started
    card = outcome.card
    return {
        "labels": count,
        "seconds": round(seconds, 1),
        "status": outcome.status,
        "flagged": card.flagged_labels if card else 0,
        "trained_rows": (card.data["seed"]["rows"] + card.data["verified"]["rows"]) if card else 0,
    }


def table(result: dict) -> str:
    return (
        "| verified labels | rows trained on | labels flagged for review | decision | retrain wall time (s) |\n"
        "|---:|---:|---:|---|---:|\n"
        f"| {result['labels']} | {result['trained_rows']} | {result['flagged']} | {result['status']} "
        f"| {result['seconds']} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args()
    result = measure(args.labels)
    print(json.dumps(result) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

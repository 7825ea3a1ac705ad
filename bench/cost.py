"""What one ticket costs in AWS: usage metered from the local run, priced at public list prices.

Usage is counted from the real API calls the handlers and the local event sources make (a botocore
hook on boto3's default session), Lambda GB-seconds from the handlers' billed wall time, and
Step Functions transitions from the executions' histories. The price list is an assumption written
down here; check https://aws.amazon.com/pricing before quoting it.
"""

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.client import BaseClient

# US East (N. Virginia) on-demand list prices, 2025. eu-west-1 is up to ~15% higher for some.
PRICES_USD = {
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1_000_000,
    "sqs_request": 0.40 / 1_000_000,  # standard queue, per 64 KB chunk
    "dynamodb_write_request_unit": 0.625 / 1_000_000,
    "dynamodb_index_write_request_unit": 0.625 / 1_000_000,  # a write's copy in a global secondary index
    "dynamodb_read_request_unit": 0.125 / 1_000_000,
    "stepfunctions_transition": 0.025 / 1_000,
    "ses_outbound_message": 0.10 / 1_000,
    "ses_inbound_message": 0.10 / 1_000,
    "ses_inbound_chunk_256kb": 0.09 / 1_000,
    "s3_put": 0.005 / 1_000,
    "s3_get": 0.0004 / 1_000,
    "secretsmanager_api_call": 0.05 / 10_000,
}


# Calls only the benchmark and the local runtime make (waiting for the pipeline to settle).
NOT_PRODUCTION_CALLS = frozenset({"GetQueueAttributes", "Scan", "ListExecutions", "GetExecutionHistory"})


def _size_kb(value: Any) -> float:
    return len(json.dumps(value, default=str).encode()) / 1024


_SET_KEY = re.compile(r"(gsi\d+(?:pk|sk)) = (if_not_exists\(\1, )?(:\w+)")
_REMOVE = re.compile(r"\bREMOVE (.*)$")


def table_indexes(table: dict) -> list[tuple[str, ...]]:
    """The key attributes of each global secondary index of a template's table resource."""
    return [tuple(key["AttributeName"] for key in index["KeySchema"]) for index in table["GlobalSecondaryIndexes"]]


@dataclass
class UsageMeter:
    """Counts billable units of the AWS calls made while `active`."""

    active: bool = False
    calls: Counter = field(default_factory=Counter)
    units: Counter = field(default_factory=Counter)
    indexes: list[tuple[str, ...]] = field(default_factory=list)  # key attributes per index (`table_indexes`)
    # Per item (its key), the index key values its writes gave it: which indexes it is in, for later updates.
    index_values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def install(self) -> None:
        """Meter every boto3 client of this process (botocore copies no session-level event
        handlers onto clients that handlers create with boto3.client, so wrap the call itself)."""
        original = BaseClient._make_api_call
        meter = self

        def metered(client: BaseClient, operation: str, params: dict) -> dict:
            response = original(client, operation, params)
            if meter.active and operation not in NOT_PRODUCTION_CALLS:
                meter.record(client.meta.service_model.service_name, operation, params, response)
            return response

        BaseClient._make_api_call = metered

    def record(self, service: str, operation: str, params: dict, response: dict) -> None:
        self.calls[(service, operation)] += 1
        if service == "dynamodb":
            self._count_dynamodb(operation, params, response)
        elif service == "sqs" and not (operation == "ReceiveMessage" and not response.get("Messages")):
            # Idle polls are a fixed cost of the event source mappings, not of a ticket.
            self.units["sqs_request"] += max(1, math.ceil(_size_kb(params.get("Entries") or params) / 64))
        elif service == "s3":
            self.units["s3_put" if operation == "PutObject" else "s3_get"] += 1
        elif service in {"ses", "sesv2"} and operation.startswith("Send"):
            self.units["ses_outbound_message"] += 1
        elif service == "secretsmanager":
            self.units["secretsmanager_api_call"] += 1

    def _count_dynamodb(self, operation: str, params: dict, response: dict) -> None:
        # A write costs 1 WRU per started KB of the item, twice inside a transaction. An update is
        # billed on the larger of the item before and after: estimated from its written values plus
        # 1 KB of the attributes it leaves alone. Strongly consistent reads: 1 RRU per 4 KB.
        units = self.units
        if operation == "PutItem":
            units["dynamodb_write_request_unit"] += self._write(params, math.ceil(_size_kb(params["Item"])))
        elif operation == "UpdateItem":
            units["dynamodb_write_request_unit"] += self._write(params, math.ceil(_size_kb(params) + 1))
        elif operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((_, spec),) = item.items()
                size = _size_kb(spec.get("Item") or spec) + (0 if "Item" in spec else 1)
                units["dynamodb_write_request_unit"] += 2 * self._write(spec, math.ceil(size))
        elif operation == "GetItem":
            units["dynamodb_read_request_unit"] += max(1, math.ceil(_size_kb(response.get("Item", {})) / 4))
        elif operation == "Query":
            units["dynamodb_read_request_unit"] += max(1, math.ceil(_size_kb(response.get("Items", [])) / 4))

    def _write(self, spec: dict, units: int) -> int:
        """`units` for the table's write (`spec`: a put's or an update's parameters), and `units` more in
        dynamodb_index_write_request_unit for each index the item is in before or after it (all project ALL),
        twice where the write changes the item's key there (a delete and a put). Index keys come from this run's
        puts and updates; an update of an item this run did not write counts only the indexes it sets."""
        key = json.dumps(spec.get("Key") or {name: spec["Item"][name] for name in ("pk", "sk")}, sort_keys=True)
        before = self.index_values.get(key, {})
        if "Item" in spec:
            after = {name: value for name, value in spec["Item"].items() if name.startswith("gsi")}
        else:
            after = dict(before)
            expression, values = spec.get("UpdateExpression", ""), spec.get("ExpressionAttributeValues", {})
            for name, only_if_missing, placeholder in _SET_KEY.findall(expression):
                if not (only_if_missing and name in before):
                    after[name] = values[placeholder]
            removed = _REMOVE.search(expression)
            for name in removed.group(1).split(", ") if removed else ():
                after.pop(name.strip(), None)
        self.index_values[key] = after
        copies = 0
        for names in self.indexes:
            was_in, is_in = all(n in before for n in names), all(n in after for n in names)
            moved = was_in and is_in and any(before[n] != after[n] for n in names)
            copies += was_in or is_in
            copies += moved
        self.units["dynamodb_index_write_request_unit"] += copies * units
        return units


def stepfunctions_transitions(execution_arns: list[str]) -> int:
    client = boto3.client("stepfunctions")
    transitions = 0
    for arn in execution_arns:
        events = client.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        transitions += sum(1 for e in events if e["type"].endswith("StateEntered"))
    return transitions


def cost_per_thousand(units: dict[str, float], tickets: int) -> tuple[float, list[tuple[str, float, float]]]:
    """Total USD per 1,000 tickets and the rows (unit, units per ticket, USD per 1,000 tickets)."""
    rows = []
    for unit, amount in sorted(units.items()):
        per_ticket = amount / tickets
        rows.append((unit, per_ticket, per_ticket * 1000 * PRICES_USD[unit]))
    return sum(row[2] for row in rows), rows

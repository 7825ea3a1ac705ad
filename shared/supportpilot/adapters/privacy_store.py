"""Customer data requests on the one table and the mail bucket (key scheme: adapters/dynamodb.py).

Adds one item kind:

| item            | pk                               | sk          |
|-----------------|----------------------------------|-------------|
| erasure record  | ERASURE#<sha256(customer id)>    | RUN#<ulid>  |

Deletes are idempotent (a key that is gone already is no error), so an erasure can be re-run.
"""

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import DynamoTicketStore, key_hash, serialise, ticket_key, translate_error
from supportpilot.models import AuditEntry, Message, Ticket
from supportpilot.ports import StoreUnavailable
from supportpilot.privacy import ErasureRecord, TicketRecords
from supportpilot.retention import RetentionPolicy

_KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})
_KIND_OF_PREFIX = (("MSG#", "messages"), ("AUDIT#", "audit_entries"), ("LABEL#", "labels"))
_DYNAMO_BATCH = 25
_S3_BATCH = 1000
_ATTEMPTS = 6


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _kind_of(sk: str) -> str:
    return next((kind for prefix, kind in _KIND_OF_PREFIX if sk.startswith(prefix)), "other_ticket_items")


def _without_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in _KEY_ATTRIBUTES}


class DynamoCustomerRecords(DynamoTicketStore):
    def __init__(self, client: Any, table_name: str, retention: RetentionPolicy):
        super().__init__(client, table_name, retention.tickets, retention)

    # ---------- reads ----------
    def ticket_ids(self, customer_id: str) -> list[str]:
        items = self._query(
            IndexName="customer-tickets",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=serialise({":pk": f"CUSTOMER#{customer_id}"}),
            ProjectionExpression="gsi1sk",
        )
        return [item["gsi1sk"].removeprefix("TICKET#") for item in items]

    def ticket_records(self, ticket_id: str) -> TicketRecords | None:
        items = self._partition(f"TICKET#{ticket_id}")
        ticket = next((item for item in items if item["sk"] == "#TICKET"), None)
        if ticket is None:
            return None
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            if item["sk"] != "#TICKET":
                by_kind.setdefault(_kind_of(item["sk"]), []).append(item)
        return TicketRecords(
            ticket=Ticket.model_validate(ticket),
            messages=[Message.model_validate(item) for item in by_kind.get("messages", [])],
            audit=[AuditEntry.model_validate(item) for item in by_kind.get("audit_entries", [])],
            labels=[_without_keys(item) for item in by_kind.get("labels", [])],
            other_items=[_without_keys(item) for item in by_kind.get("other_ticket_items", [])],
        )

    def erasures(self, subject: str) -> list[ErasureRecord]:
        return [ErasureRecord.model_validate(item) for item in self._partition(f"ERASURE#{subject}")]

    def _partition(self, pk: str, projection: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": serialise({":pk": pk}),
            "ConsistentRead": True,
        }
        if projection:
            query["ProjectionExpression"] = projection
        return self._query(**query)

    # ---------- writes ----------
    def save_erasure(self, record: ErasureRecord) -> None:
        item = {
            "pk": f"ERASURE#{record.subject}",
            "sk": f"RUN#{record.id}",
            "kind": "erasure",
            "expires_at": self._expires_at(record.started_at, "audit"),
            **record.model_dump(mode="json"),
        }
        self._call("put_item", TableName=self._table, Item=serialise(item))

    def delete_thread_references(self, ticket_id: str, thread_ids: list[str]) -> int:
        """Only references that still point at this ticket: a Message-ID reused elsewhere is not ours."""
        deleted = 0
        for thread_id in dict.fromkeys(thread_ids):
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key=serialise({"pk": f"THREAD#{key_hash(thread_id)}", "sk": "#THREAD"}),
                    ConditionExpression="ticket_id = :ticket",
                    ExpressionAttributeValues=serialise({":ticket": ticket_id}),
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise translate_error(exc) from exc
                continue
            deleted += 1
        return deleted

    def delete_ticket_items(self, ticket_id: str) -> dict[str, int]:
        keys = [key for key in self._partition(f"TICKET#{ticket_id}", "pk, sk") if key["sk"] != "#TICKET"]
        self._batch_delete(keys)
        return dict(Counter(_kind_of(key["sk"]) for key in keys))

    def delete_ticket(self, ticket_id: str) -> None:
        self._call("delete_item", TableName=self._table, Key=ticket_key(ticket_id))

    def delete_customer_items(self, customer_id: str) -> int:
        keys = self._partition(f"CUSTOMER#{customer_id}", "pk, sk")
        self._batch_delete(keys)
        return len(keys)

    def _batch_delete(self, keys: list[dict[str, Any]]) -> None:
        for chunk in _chunks(keys, _DYNAMO_BATCH):
            pending = {self._table: [{"DeleteRequest": {"Key": serialise(key)}} for key in chunk]}
            for attempt in range(_ATTEMPTS):
                pending = self._call("batch_write_item", RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise StoreUnavailable("DynamoDB left deletes unprocessed: run the erasure again")


class S3MailObjects:
    """Raw mail and attachments in the mail bucket (raw/<SES message id>, attachments/<hash>/<n>)."""

    def __init__(self, client: Any, bucket: str):
        self._client = client
        self._bucket = bucket

    def delete(self, keys: list[str]) -> int:
        unique = list(dict.fromkeys(keys))
        for chunk in _chunks(unique, _S3_BATCH):
            try:
                response = self._client.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True}
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                raise StoreUnavailable(f"S3 delete failed ({code}): run the erasure again") from exc
            if response.get("Errors"):
                codes = sorted({error.get("Code", "unknown") for error in response["Errors"]})
                raise StoreUnavailable(f"S3 could not delete {len(response['Errors'])} objects ({', '.join(codes)})")
        return len(unique)

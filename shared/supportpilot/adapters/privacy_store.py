"""Customer data requests on the one table and the mail bucket (key scheme: adapters/dynamodb.py).

Adds one item kind:

| item            | pk                               | sk          |
|-----------------|----------------------------------|-------------|
| erasure record  | ERASURE#<sha256(customer id)>    | RUN#<ulid>  |

Deletes are idempotent (a key that is gone already is no error), so an erasure can be re-run.
It also reads and deletes items of other partitions (key schemes: adapters/timeline_store.py and
adapters/trend_store.py): the ticket's complaints in `COMPLAINTS#<day of the ticket>` and the
unmatched contacts in `UNMATCHED` that concern the customer.
"""

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import DynamoTicketStore, key_hash, serialise, ticket_key, translate_error
from supportpilot.adapters.timeline_store import UNMATCHED_PK
from supportpilot.models import AuditEntry, Message, Ticket
from supportpilot.ports import StoreUnavailable
from supportpilot.privacy import ErasureRecord, TicketRecords, customer_id_for
from supportpilot.retention import RetentionPolicy
from supportpilot.timeline.customers import phone_customer
from supportpilot.timeline.models import UnmatchedContact

_KEY_ATTRIBUTES = frozenset(
    {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi4pk", "gsi4sk", "gsi5pk", "gsi5sk"}
)
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
        ticket_record = Ticket.model_validate(ticket)
        return TicketRecords(
            ticket=ticket_record,
            complaints=self._complaints(ticket_record),
            messages=[Message.model_validate(item) for item in by_kind.get("messages", [])],
            audit=[AuditEntry.model_validate(item) for item in by_kind.get("audit_entries", [])],
            labels=[_without_keys(item) for item in by_kind.get("labels", [])],
            other_items=[_without_keys(item) for item in by_kind.get("other_ticket_items", [])],
        )

    def _complaints(self, ticket: Ticket) -> list[dict[str, Any]]:
        """A complaint lives in the partition of the day its ticket was opened (trends.complaints_of)."""
        return self._query(
            KeyConditionExpression="pk = :pk",
            FilterExpression="ticket_id = :ticket",
            ExpressionAttributeValues=serialise(
                {":pk": f"COMPLAINTS#{ticket.created_at.date().isoformat()}", ":ticket": ticket.id}
            ),
        )

    def contact_points(self, customer_id: str) -> list[dict[str, Any]]:
        items = self._partition(f"CUSTOMER#{customer_id}")
        return [_without_keys(item) for item in items if not item["sk"].startswith("EVENT#")]

    def unmatched_contacts(self, customer_id: str) -> list[UnmatchedContact]:
        """Named as a candidate, or holding a number the customer holds (their phone contact points, or
        the number of a customer known only by it) or their address. A contact that holds the number of
        two customers may have been either: it concerns both."""
        phones = {
            item["sk"].removeprefix("PHONE#")
            for item in self._partition(f"CUSTOMER#{customer_id}", "pk, sk")
            if item["sk"].startswith("PHONE#")
        }
        contacts = [UnmatchedContact.model_validate(item) for item in self._partition(UNMATCHED_PK)]
        return [contact for contact in contacts if _concerns(contact, customer_id, phones)]

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

    def delete_unmatched_contacts(self, contact_ids: list[str]) -> int:
        self._batch_delete([{"pk": UNMATCHED_PK, "sk": f"CONTACT#{contact_id}"} for contact_id in contact_ids])
        return len(contact_ids)

    def delete_complaints(self, complaints: list[dict[str, Any]]) -> int:
        self._batch_delete([{"pk": item["pk"], "sk": item["sk"]} for item in complaints])
        return len(complaints)

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


def _concerns(contact: UnmatchedContact, customer_id: str, phone_hashes: set[str]) -> bool:
    if customer_id in contact.candidates:
        return True
    if contact.phone is not None and (
        key_hash(contact.phone) in phone_hashes or phone_customer(contact.phone).id == customer_id
    ):
        return True
    return contact.email is not None and customer_id_for(contact.email) == customer_id


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

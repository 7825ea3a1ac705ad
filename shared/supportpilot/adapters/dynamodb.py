"""DynamoDB adapter for the ticket store: one table, keys below.

| item             | pk                     | sk                          | gsi1pk / gsi1sk            |
|------------------|------------------------|-----------------------------|----------------------------|
| ticket           | TICKET#<id>            | #TICKET                     | CUSTOMER#<cid> / TICKET#id |
| message          | TICKET#<id>            | MSG#<message id>            |                            |
| audit entry      | TICKET#<id>            | AUDIT#<ulid>                |                            |
| thread reference | THREAD#<sha256(id)>    | #THREAD                     |                            |
| timeline event   | CUSTOMER#<cid>         | EVENT#<iso time>#<event id> |                            |
| delivery marker  | DELIVERY#<sha256(key)> | #DELIVERY                   |                            |
| quarantined mail | QUARANTINE#<ses id>    | #QUARANTINE                 |                            |

Open tickets also carry gsi4pk = OPEN and gsi4sk = `due_key` (index open-by-due: the operator queue, the
earliest SLA due time first; the escalation workflow rewrites gsi4sk with each tier, a claim with its
time); the keys exist only while a ticket is open, so the index holds open tickets only. Every ticket
carries gsi5pk = TICKETS and gsi5sk = `touched_key` (index tickets-by-time: the later of its creation and
closing times, so the tickets created or closed since a moment are one query). The index
open-by-queue holds phone contact points (timeline_store.py); tickets written before 2026-11-29 carry
gsi2pk = QUEUE#<queue> there until they close, and nothing reads those.
Every item carries `expires_at` (epoch seconds) for the table's TTL, set by the `RetentionPolicy`
of its kind (tickets, messages and thread references share the `tickets` retention).
"""

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic_core import to_jsonable_python

from supportpilot.ids import new_ulid
from supportpilot.models import (
    OPEN_STATUSES,
    AuditEntry,
    CustomerIdentity,
    Message,
    Ticket,
    TicketStatus,
    TimelineEvent,
    TriageResult,
    conversation_language,
    utc_now,
)
from supportpilot.ports import (
    DeliveryRecord,
    DuplicateDelivery,
    PhoneContactPoint,
    QuarantinedMail,
    StoreUnavailable,
    TicketChanged,
    TicketNotFound,
)
from supportpilot.retention import RetentionKind, RetentionPolicy

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflict",
}


class ConditionFailed(Exception):
    def __init__(self, failed_first: bool):
        super().__init__("a condition of the transaction failed")
        self.failed_first = failed_first


def key_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def serialise(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in _to_dynamo(item).items()}


def deserialise(item: dict[str, Any]) -> dict[str, Any]:
    return _from_dynamo({k: _deserializer.deserialize(v) for k, v in item.items()})


def _delivery_key(dedupe_key: str) -> dict[str, str]:
    return {"pk": f"DELIVERY#{key_hash(dedupe_key)}", "sk": "#DELIVERY"}


OPEN_TICKETS = "OPEN"  # gsi4pk of every open ticket
TICKETS = "TICKETS"  # gsi5pk of every ticket
# gsi4sk prefixes, in the queue's order: escalations waiting or breached (by due time), claimed (by claim time),
# then tickets without a running SLA.
UNCLAIMED, CLAIMED, NO_SLA = "0#", "1#", "2"


def _key_time(value: datetime) -> str:
    """A time as pydantic writes it in JSON: the form of the due times in the workflow's execution input."""
    return to_jsonable_python(value)


def claimed_key(at: datetime) -> str:
    return f"{CLAIMED}{_key_time(at)}"


def due_key(ticket: Ticket) -> str:
    """gsi4sk of an open ticket (index open-by-due): `0#<SLA due time>` while its escalation waits or has breached
    (the workflow writes the same with each tier), `1#<claim time>` once claimed, `2` without a running SLA."""
    escalation = ticket.escalation
    if escalation is None or escalation.state == "closed" or escalation.sla_due_at is None:
        return NO_SLA
    if escalation.state == "claimed" and escalation.claimed_at is not None:
        return claimed_key(escalation.claimed_at)
    return f"{UNCLAIMED}{_key_time(escalation.sla_due_at)}"


def touched_key(ticket: Ticket) -> str:
    """gsi5sk of a ticket (index tickets-by-time): its closing time, or its creation time while it has none."""
    return _key_time(ticket.closed_at or ticket.created_at)


def index_keys(ticket: Ticket) -> dict[str, str]:
    """The index keys of a ticket: tickets-by-time for every ticket, open-by-due for an open one."""
    keys = {"gsi5pk": TICKETS, "gsi5sk": touched_key(ticket)}
    if ticket.status in OPEN_STATUSES:
        keys |= {"gsi4pk": OPEN_TICKETS, "gsi4sk": due_key(ticket)}
    return keys


def index_update(ticket: Ticket) -> tuple[list[str], dict[str, str], list[str]]:
    """SET assignments, their values and REMOVE names that give `ticket` its index keys after a change of status:
    its place in tickets-by-time, and into or out of open-by-due. The due key is only set when missing: the
    escalation workflow may have written a later tier's since `ticket` was read."""
    keys = index_keys(ticket)
    values = {f":{name}": value for name, value in keys.items()}
    assignments = ["gsi5pk = :gsi5pk", "gsi5sk = :gsi5sk"]
    if "gsi4pk" not in keys:  # tickets written before 2026-11-29 may hold open-by-queue keys: dropped too
        return assignments, values, ["gsi2pk", "gsi2sk", "gsi4pk", "gsi4sk"]
    return [*assignments, "gsi4pk = :gsi4pk", "gsi4sk = if_not_exists(gsi4sk, :gsi4sk)"], values, []


def update_expression(assignments: list[str], removals: list[str]) -> str:
    return "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")


def ticket_key(ticket_id: str) -> dict[str, Any]:
    return serialise({"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"})


class DynamoTicketStore:
    def __init__(self, client: Any, table_name: str, retention_days: int, retention: RetentionPolicy | None = None):
        """`retention` sets the days per data kind; without it every kind keeps `retention_days`."""
        self._client = client
        self._table = table_name
        self._retention = retention or RetentionPolicy.uniform(retention_days)

    # ---------- mapping ----------
    def _expires_at(self, start: datetime, kind: RetentionKind = "tickets") -> int:
        return self._retention.expires_at(kind, start)

    def _ticket_item(self, ticket: Ticket) -> dict[str, Any]:
        item = {
            "pk": f"TICKET#{ticket.id}",
            "sk": "#TICKET",
            "kind": "ticket",
            "gsi1pk": f"CUSTOMER#{ticket.customer.id}",
            "gsi1sk": f"TICKET#{ticket.id}",
            "expires_at": self._expires_at(ticket.created_at),
            **ticket.model_dump(mode="json"),
        }
        return item | index_keys(ticket)

    def _message_item(self, message: Message) -> dict[str, Any]:
        return {
            "pk": f"TICKET#{message.ticket_id}",
            "sk": f"MSG#{message.id}",
            "kind": "message",
            "expires_at": self._expires_at(message.received_at),
            **message.model_dump(mode="json"),
        }

    def _audit_item(self, ticket_id: str, entry: AuditEntry) -> dict[str, Any]:
        return {
            "pk": f"TICKET#{ticket_id}",
            "sk": f"AUDIT#{new_ulid()}",
            "kind": "audit",
            "expires_at": self._expires_at(entry.at, "audit"),
            **entry.model_dump(mode="json"),
        }

    def _event_item(self, event: TimelineEvent) -> dict[str, Any]:
        return {
            "pk": f"CUSTOMER#{event.customer_id}",
            "sk": f"EVENT#{event.occurred_at.isoformat()}#{event.id}",
            "kind": "timeline_event",
            "expires_at": self._expires_at(event.occurred_at, "timeline_events"),
            **event.model_dump(mode="json"),
        }

    def _identity_item(self, customer: CustomerIdentity, now: datetime) -> dict[str, Any]:
        return {
            "pk": f"CUSTOMER#{customer.id}",
            "sk": "#IDENTITY",
            "kind": "customer_identity",
            "expires_at": self._expires_at(now, "timeline_events"),
            **customer.model_dump(mode="json"),
        }

    def _phone_item(self, customer_id: str, phone: str, now: datetime) -> dict[str, Any]:
        return {
            "pk": f"CUSTOMER#{customer_id}",
            "sk": f"PHONE#{key_hash(phone)}",
            "gsi2pk": f"PHONE#{key_hash(phone)}",
            "gsi2sk": f"CUSTOMER#{customer_id}",
            "kind": "phone_contact_point",
            "customer_id": customer_id,
            "expires_at": self._expires_at(now, "timeline_events"),
        }

    def _contact_point_items(self, points: list[PhoneContactPoint], now: datetime) -> list[dict[str, Any]]:
        """Identity and number items, each once (a transaction takes one operation per item)."""
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for point in points:
            for item in (
                self._identity_item(point.customer, now),
                self._phone_item(point.customer.id, point.phone, now),
            ):
                items[(item["pk"], item["sk"])] = item
        return list(items.values())

    # ---------- writes ----------
    def delivery_recorded(self, dedupe_key: str) -> bool:
        return self._get(_delivery_key(dedupe_key)) is not None

    def record_delivery(self, record: DeliveryRecord) -> None:
        now = utc_now()
        marker = {
            **_delivery_key(record.dedupe_key),
            "kind": "delivery",
            "received_at": now.isoformat(),
            "ticket_id": record.ticket.id if record.ticket else None,
            "message_id": record.message.id if record.message else None,
            "expires_at": self._expires_at(now, "delivery_markers"),
        }
        writes: list[dict[str, Any]] = [{"Put": {"Item": marker, "ConditionExpression": "attribute_not_exists(pk)"}}]
        ticket = record.ticket
        if ticket is not None and record.is_new_ticket:
            writes.append(
                {"Put": {"Item": self._ticket_item(ticket), "ConditionExpression": "attribute_not_exists(pk)"}}
            )
        elif ticket is not None:
            writes.append({"Update": self._ticket_status_update(ticket)})
        if record.message is not None:
            writes.append({"Put": {"Item": self._message_item(record.message)}})
        for thread_id in record.thread_ids:
            writes.append(
                {
                    "Put": {
                        "Item": {
                            "pk": f"THREAD#{key_hash(thread_id)}",
                            "sk": "#THREAD",
                            "kind": "thread",
                            "ticket_id": ticket.id if ticket else None,
                            "expires_at": self._expires_at(now),
                        }
                    }
                }
            )
        writes.extend({"Put": {"Item": self._event_item(event)}} for event in record.timeline_events)
        if ticket is not None:
            writes.extend({"Put": {"Item": self._audit_item(ticket.id, entry)}} for entry in record.audit)
        writes.extend({"Put": {"Item": item}} for item in self._contact_point_items(record.phone_contact_points, now))
        try:
            self._transact(writes)
        except ConditionFailed as exc:
            marker = self._get(_delivery_key(record.dedupe_key))
            if exc.failed_first and marker is not None:
                raise DuplicateDelivery(marker.get("ticket_id"), marker.get("message_id")) from exc
            raise StoreUnavailable("the ticket changed while the delivery was recorded") from exc

    def _ticket_status_update(self, ticket: Ticket) -> dict[str, Any]:
        index_assignments, index_values, removals = index_update(ticket)
        assignments = ["#status = :status", "updated_at = :updated", *index_assignments]
        values: dict[str, Any] = {
            ":status": ticket.status.value,
            ":updated": ticket.updated_at.isoformat(),
            **index_values,
        }
        return {
            "Key": {"pk": f"TICKET#{ticket.id}", "sk": "#TICKET"},
            "UpdateExpression": update_expression(assignments, removals),
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
            "ConditionExpression": "attribute_exists(pk)",
        }

    def _transact(self, writes: list[dict[str, Any]]) -> None:
        request = []
        for write in writes:
            ((action, spec),) = write.items()
            spec = dict(spec, TableName=self._table)
            if "Item" in spec:
                spec["Item"] = serialise(spec["Item"])
            if "Key" in spec:
                spec["Key"] = serialise(spec["Key"])
            if "ExpressionAttributeValues" in spec:
                spec["ExpressionAttributeValues"] = serialise(spec["ExpressionAttributeValues"])
            request.append({action: spec})
        try:
            self._client.transact_write_items(TransactItems=request)
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                raise ConditionFailed(failed_first=reasons[0] == "ConditionalCheckFailed") from exc
            raise translate_error(exc) from exc

    def record_quarantine(self, quarantined: QuarantinedMail) -> None:
        now = utc_now()
        item = {
            "pk": f"QUARANTINE#{quarantined.ses_message_id}",
            "sk": "#QUARANTINE",
            "kind": "quarantine",
            "quarantined_at": now.isoformat(),
            "expires_at": self._expires_at(now, "quarantine"),
            **quarantined.model_dump(mode="json"),
        }
        self._call("put_item", TableName=self._table, Item=serialise(item))

    def record_triage(self, ticket_id: str, message_id: str, result: TriageResult, audit: AuditEntry) -> Ticket:
        ticket = self.get_ticket(ticket_id)
        status = TicketStatus.TRIAGED if ticket.status == TicketStatus.NEW else ticket.status
        updated = ticket.model_copy(
            update={
                "triage": result,
                "triaged_message_id": message_id,
                "language": conversation_language(ticket.language, result.language),
                "status": status,
            }
        )
        self.save_ticket_fields(updated, ["triage", "triaged_message_id", "language", "status"], audit, ticket.status)
        return updated

    def save_ticket_fields(
        self,
        ticket: Ticket,
        fields: list[str],
        audit: AuditEntry | None,
        expected_status: TicketStatus | None = None,
    ) -> None:
        """Write only `fields` of `ticket` (and updated_at, and the index keys they imply), with its
        audit entry, in one transaction. Other stages own other fields, so nothing of theirs is
        overwritten. With `expected_status`, the write fails with `TicketChanged` if another writer
        moved the ticket meanwhile."""
        update = self._ticket_fields_update(ticket, fields)
        if expected_status is not None:
            update["ConditionExpression"] += " AND #status = :expected"
            update["ExpressionAttributeNames"]["#status"] = "status"
            update["ExpressionAttributeValues"][":expected"] = expected_status.value
        writes: list[dict[str, Any]] = [{"Update": update}]
        if audit is not None:
            writes.append({"Put": {"Item": self._audit_item(ticket.id, audit)}})
        try:
            self._transact(writes)
        except ConditionFailed as exc:
            raise TicketChanged(ticket.id) from exc

    def _ticket_fields_update(self, ticket: Ticket, fields: list[str]) -> dict[str, Any]:
        """The transaction's update of only `fields` of an existing ticket (see save_ticket_fields)."""
        data = ticket.model_dump(mode="json", include=set(fields))
        names = {f"#f{i}": field for i, field in enumerate(fields)}
        values: dict[str, Any] = {":now": utc_now().isoformat()}
        assignments, removals = ["updated_at = :now"], []
        for i, field in enumerate(fields):
            if data.get(field) is None:  # DynamoDB stores no nulls here: an unset field is removed
                removals.append(f"#f{i}")
            else:
                assignments.append(f"#f{i} = :v{i}")
                values[f":v{i}"] = data[field]
        if "status" in fields or "queue" in fields:
            index_assignments, index_values, index_removals = index_update(ticket)
            assignments += index_assignments
            values |= index_values
            removals += index_removals
        return {
            "Key": {"pk": f"TICKET#{ticket.id}", "sk": "#TICKET"},
            "UpdateExpression": update_expression(assignments, removals),
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    # ---------- reads ----------
    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self._call("get_item", TableName=self._table, Key=serialise(key), ConsistentRead=True)
        return deserialise(response["Item"]) if "Item" in response else None

    def get_ticket(self, ticket_id: str) -> Ticket:
        item = self._get({"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"})
        if item is None:
            raise TicketNotFound(ticket_id)
        return Ticket.model_validate(item)

    def get_message(self, ticket_id: str, message_id: str) -> Message:
        item = self._get({"pk": f"TICKET#{ticket_id}", "sk": f"MSG#{message_id}"})
        if item is None:
            raise TicketNotFound(f"{ticket_id}/{message_id}")
        return Message.model_validate(item)

    def find_ticket_by_thread(self, thread_ids: list[str]) -> Ticket | None:
        for thread_id in thread_ids:
            item = self._get({"pk": f"THREAD#{key_hash(thread_id)}", "sk": "#THREAD"})
            if item and item.get("ticket_id"):
                try:
                    return self.get_ticket(item["ticket_id"])
                except TicketNotFound:
                    continue
        return None

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(TableName=self._table, **kwargs):
            items.extend(deserialise(i) for i in page["Items"])
        return items

    def messages(self, ticket_id: str) -> list[Message]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialise({":pk": f"TICKET#{ticket_id}", ":prefix": "MSG#"}),
        )
        return [Message.model_validate(i) for i in items]

    def audit_trail(self, ticket_id: str) -> list[AuditEntry]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialise({":pk": f"TICKET#{ticket_id}", ":prefix": "AUDIT#"}),
        )
        return [AuditEntry.model_validate(i) for i in items]

    def timeline(self, customer_id: str) -> list[TimelineEvent]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialise({":pk": f"CUSTOMER#{customer_id}", ":prefix": "EVENT#"}),
        )
        return [TimelineEvent.model_validate(i) for i in items]

    def tickets_of_customer(self, customer_id: str) -> list[Ticket]:
        items = self._query(
            IndexName="customer-tickets",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=serialise({":pk": f"CUSTOMER#{customer_id}"}),
        )
        return [Ticket.model_validate(i) for i in items]

    def all_tickets(self) -> list[Ticket]:
        """Every ticket, by a table scan: for the local board and small reports only."""
        tickets: list[Ticket] = []
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            FilterExpression="sk = :sk",
            ExpressionAttributeValues=serialise({":sk": "#TICKET"}),
        )
        for page in pages:
            tickets.extend(Ticket.model_validate(deserialise(i)) for i in page["Items"])
        return sorted(tickets, key=lambda t: t.id)

    def index_tickets(self) -> int:
        """Give the tickets written before the indexes tickets-by-time and open-by-due existed their keys
        (`supportpilot reindex`); how many. A ticket another writer moves meanwhile keeps what that writer set."""
        open_statuses = {f":open{i}": status.value for i, status in enumerate(sorted(OPEN_STATUSES))}
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression=(
                "sk = :sk AND (attribute_not_exists(gsi5pk)"
                f" OR (attribute_not_exists(gsi4pk) AND #status IN ({', '.join(open_statuses)})))"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=serialise({":sk": "#TICKET", **open_statuses}),
        )
        indexed = 0
        for page in pages:
            for item in page["Items"]:
                ticket = Ticket.model_validate(deserialise(item))
                assignments, values, removals = index_update(ticket)
                update = {
                    "Key": {"pk": f"TICKET#{ticket.id}", "sk": "#TICKET"},
                    "UpdateExpression": update_expression(assignments, removals),
                    "ConditionExpression": "#status = :expected",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {**values, ":expected": ticket.status.value},
                }
                try:
                    self._transact([{"Update": update}])
                except ConditionFailed:
                    continue
                indexed += 1
        return indexed

    def quarantined(self, ses_message_id: str) -> QuarantinedMail | None:
        item = self._get({"pk": f"QUARANTINE#{ses_message_id}", "sk": "#QUARANTINE"})
        return QuarantinedMail.model_validate(item) if item else None

    # ---------- errors ----------
    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            raise translate_error(exc) from exc


def translate_error(exc: ClientError) -> Exception:
    """An AWS error as a domain error: transient ones become StoreUnavailable (retry)."""
    code = exc.response.get("Error", {}).get("Code", "")
    reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
    if code in _TRANSIENT or any(r in _TRANSIENT for r in reasons):
        return StoreUnavailable(f"DynamoDB is unavailable ({code})")
    return RuntimeError(f"DynamoDB rejected the request ({code}: {reasons or ''})")

"""What the operator's desk reads and writes beyond the pipeline's ticket store.

Human-verified labels are items of the ticket's partition (sk `LABEL#<ulid>`), and so are the
operators' reply requests (sk `REPLY#<sha256 of operator id and idempotency key>`) and their checks of
unconfirmed sends (sk `CHECK#<request id>`, kept as long as the audit entries); the routing policy
override is one SSM parameter.
"""

import base64
import binascii
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from supportpilot.adapters.dynamodb import (
    OPEN_TICKETS,
    TICKETS,
    UNCLAIMED,
    ConditionFailed,
    DynamoTicketStore,
    deserialise,
    serialise,
)
from supportpilot.adapters.label_store import label_item
from supportpilot.adapters.ssm_policy import SsmPolicyOverrides
from supportpilot.models import OPEN_STATUSES, AuditEntry, Message, Ticket
from supportpilot.notify.service import SEND_STATUS_UNKNOWN
from supportpilot.operator.models import HumanLabel, ReplyRequest, SendCheck, TicketFilter
from supportpilot.operator.service import InvalidRequest
from supportpilot.ports import TicketChanged, TicketNotFound
from supportpilot.routing import PolicyOverrideUnavailable

OPEN_BY_DUE_KEYS = frozenset({"pk", "sk", "gsi4pk", "gsi4sk"})
TICKETS_BY_TIME_KEYS = frozenset({"pk", "sk", "gsi5pk", "gsi5sk"})
# Requests per page: a filter that matches few items must not read the whole table in one call.
MAX_REQUESTS_PER_PAGE = 10


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def decode_cursor(cursor: str | None, expected_keys: frozenset[str]) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = None
    valid = (
        isinstance(key, dict)
        and set(key) == expected_keys
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
    )
    if not valid:
        raise InvalidRequest("cursor", "not a cursor of this listing")
    return key


class DynamoOperatorStore(DynamoTicketStore):
    def labels(self, ticket_id: str) -> list[HumanLabel]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialise({":pk": f"TICKET#{ticket_id}", ":prefix": "LABEL#"}),
        )
        return [HumanLabel.model_validate(i) for i in items]

    def add_message(self, message: Message, audit: AuditEntry) -> None:
        self._transact(
            [
                {"Put": {"Item": self._message_item(message)}},
                {"Put": {"Item": self._audit_item(message.ticket_id, audit)}},
            ]
        )

    def record_label(self, label: HumanLabel, audit: AuditEntry, corrected: Ticket | None = None) -> None:
        item = label_item(label, self._expires_at(label.at))
        self._transact([{"Put": {"Item": item}}, {"Put": {"Item": self._audit_item(label.ticket_id, audit)}}])
        if corrected is not None:
            self.save_ticket_fields(corrected, ["triage"], None)

    def reply_request(self, ticket_id: str, key: str) -> ReplyRequest | None:
        item = self._get({"pk": f"TICKET#{ticket_id}", "sk": f"REPLY#{key}"})
        return ReplyRequest.model_validate(item) if item else None

    def claim_reply(self, ticket_id: str, request: ReplyRequest) -> ReplyRequest | None:
        item = {
            "pk": f"TICKET#{ticket_id}",
            "sk": f"REPLY#{request.key}",
            "kind": "reply_request",
            "expires_at": self._expires_at(request.at, "delivery_markers"),
            **request.model_dump(mode="json"),
        }
        try:
            self._transact([{"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}])
        except ConditionFailed:
            return self.reply_request(ticket_id, request.key)
        return None

    def mark_reply_queued(self, ticket_id: str, key: str) -> None:
        self._call(
            "update_item",
            TableName=self._table,
            Key=serialise({"pk": f"TICKET#{ticket_id}", "sk": f"REPLY#{key}"}),
            UpdateExpression="SET queued = :true",
            ExpressionAttributeValues=serialise({":true": True}),
        )

    def record_send_check(
        self, ticket_id: str, check: SendCheck, audit: AuditEntry, settled: Ticket | None = None
    ) -> SendCheck | None:
        key = {"pk": f"TICKET#{ticket_id}", "sk": f"CHECK#{check.request_id}"}
        item = {**key, "kind": "send_check", "expires_at": self._expires_at(check.at, "audit")}
        writes: list[dict[str, Any]] = [
            {"Put": {"Item": item | check.model_dump(mode="json"), "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"Item": self._audit_item(ticket_id, audit)}},
        ]
        if settled is not None:
            update = self._ticket_fields_update(settled, ["customer_notified", "customer_notified_reason"])
            # Still this mail's unknown delivery: another mail's outcome (whose reason may read the same) since the
            # audit was read fails the check. Tickets last mailed before the request was recorded have none.
            update["ConditionExpression"] = (
                "customer_notified_reason = :unknown"
                " AND (customer_notified_request = :request OR attribute_not_exists(customer_notified_request))"
            )
            update["ExpressionAttributeValues"] |= {":unknown": SEND_STATUS_UNKNOWN, ":request": check.request_id}
            writes.append({"Update": update})
        try:
            self._transact(writes)
        except ConditionFailed as exc:
            if not exc.failed_first:
                raise TicketChanged(ticket_id) from exc
            earlier = self._get(key)
            if earlier is None:  # the ticket was erased in between
                raise TicketNotFound(ticket_id) from exc
            return SendCheck.model_validate(earlier)
        return None

    def decide_suggestion(self, ticket_id: str, decision: str, audit: AuditEntry) -> bool:
        update = {
            "Key": {"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"},
            "UpdateExpression": "SET routing.suggested_action.#status = :decision, updated_at = :now",
            "ConditionExpression": "routing.suggested_action.#status = :proposed",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":decision": decision, ":proposed": "proposed", ":now": audit.at.isoformat()},
        }
        try:
            self._transact([{"Update": update}, {"Put": {"Item": self._audit_item(ticket_id, audit)}}])
        except ConditionFailed:
            return False
        return True

    def breached_tickets(self) -> list[Ticket]:
        """From the `open-by-due` index: of the unclaimed tickets with a running SLA (gsi4sk `0#<due>`, the longest
        overdue first), those whose escalation recorded a breach."""
        items = self._query(
            IndexName="open-by-due",
            KeyConditionExpression="gsi4pk = :open AND begins_with(gsi4sk, :unclaimed)",
            FilterExpression="escalation.#state = :breached",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=serialise(
                {":open": OPEN_TICKETS, ":unclaimed": UNCLAIMED, ":breached": "breached"}
            ),
        )
        return [Ticket.model_validate(item) for item in items]

    def list_tickets(self, criteria: TicketFilter, limit: int, cursor: str | None) -> tuple[list[Ticket], str | None]:
        """Open tickets come from the `open-by-due` index: unclaimed ones by SLA due time, then claimed ones, then
        those without a running SLA (`dynamodb.due_key`), so the first page holds the most urgent whatever the
        table's size. Resolved or closed tickets come from `tickets-by-time`, the latest closed (or, without a
        closing time, created) first."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        filters = _ticket_filters(criteria, names, values)
        if criteria.status is None or criteria.status in OPEN_STATUSES:
            key_names = OPEN_BY_DUE_KEYS
            request: dict[str, Any] = {"IndexName": "open-by-due", "KeyConditionExpression": "gsi4pk = :open"}
            values[":open"] = OPEN_TICKETS
        else:
            key_names = TICKETS_BY_TIME_KEYS
            request = {
                "IndexName": "tickets-by-time",
                "KeyConditionExpression": "gsi5pk = :tickets",
                "ScanIndexForward": False,  # the latest first
            }
            values[":tickets"] = TICKETS
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if names:
            request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = serialise(values)
        start = decode_cursor(cursor, key_names)
        items: list[dict[str, Any]] = []
        for _ in range(MAX_REQUESTS_PER_PAGE):
            page = self._call(
                "query",
                TableName=self._table,
                Limit=limit - len(items),
                **request,
                **({"ExclusiveStartKey": start} if start else {}),
            )
            items.extend(page["Items"])
            start = page.get("LastEvaluatedKey")
            if start is None or len(items) >= limit:
                break
        return [Ticket.model_validate(deserialise(i)) for i in items], encode_cursor(start)


def _ticket_filters(criteria: TicketFilter, names: dict[str, str], values: dict[str, Any]) -> list[str]:
    filters = []
    for field in ("queue", "status", "priority", "language"):
        value = getattr(criteria, field)
        if value is not None:
            names[f"#{field}"] = field
            values[f":{field}"] = str(value)
            filters.append(f"#{field} = :{field}")
    if criteria.sla_state is not None:
        names["#esc_state"] = "state"
        if criteria.sla_state == "ok":
            values |= {":breached": "breached", ":claimed": "claimed"}
            filters.append("(attribute_not_exists(escalation) OR NOT escalation.#esc_state IN (:breached, :claimed))")
        else:
            values[":sla"] = criteria.sla_state
            filters.append("escalation.#esc_state = :sla")
    return filters


class SsmRoutingPolicyParameter(SsmPolicyOverrides):
    """The routing policy override the route stage reads, written by an admin."""

    def store_override(self, document: str) -> None:
        try:
            # A whole policy exceeds the 4 KB of a standard parameter; intelligent tiering picks advanced then.
            self._client.put_parameter(
                Name=self._name, Value=document, Type="String", Overwrite=True, Tier="Intelligent-Tiering"
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            raise PolicyOverrideUnavailable(f"SSM put_parameter failed ({code})") from exc
        except BotoCoreError as exc:
            raise PolicyOverrideUnavailable(f"SSM put_parameter failed ({type(exc).__name__})") from exc

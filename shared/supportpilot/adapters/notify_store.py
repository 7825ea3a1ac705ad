"""The notify stage's writes on the one table: the acknowledgement claim, "customer notified" flags,
outbound messages with their thread reference, and audit entries. Key scheme: adapters/dynamodb.py."""

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import (
    ConditionFailed,
    DynamoTicketStore,
    key_hash,
    serialise,
    ticket_key,
    translate_error,
)
from supportpilot.models import AuditEntry, Message, utc_now
from supportpilot.ports import StoreUnavailable


class DynamoNotifyStore(DynamoTicketStore):
    def claim_acknowledgement(self, ticket_id: str, at: datetime) -> bool:
        """True when this call set `acknowledged_at`; False when the ticket was acknowledged before."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=ticket_key(ticket_id),
                UpdateExpression="SET acknowledged_at = :at",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(acknowledged_at)",
                ExpressionAttributeValues=serialise({":at": at.isoformat()}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise translate_error(exc) from exc
            self.get_ticket(ticket_id)  # raises TicketNotFound when there is no ticket to claim
            return False
        return True

    def release_acknowledgement(self, ticket_id: str, at: datetime, reason: str, audit: AuditEntry) -> None:
        """Gives up our claim (only ours: `acknowledged_at` still holds our time) and says why."""
        update = self._not_notified_update(ticket_id, reason)
        update["UpdateExpression"] += " REMOVE acknowledged_at"
        update["ConditionExpression"] = "acknowledged_at = :claimed"
        update["ExpressionAttributeValues"][":claimed"] = at.isoformat()
        self._write([{"Update": update}, self._audit_put(ticket_id, audit)], "the acknowledgement claim changed")

    def record_not_notified(self, ticket_id: str, reason: str, audit: AuditEntry) -> None:
        update = self._not_notified_update(ticket_id, reason)
        self._write([{"Update": update}, self._audit_put(ticket_id, audit)], "the ticket disappeared")

    def record_sent(self, message: Message, audit: AuditEntry, first_response: bool = False) -> None:
        """The outbound message, its thread reference (so the customer's reply threads back), the
        ticket's `customer_notified = true` (and, for an answer, `first_response_at` unless set) and
        the audit entry, all or nothing."""
        now = utc_now()
        response = ", first_response_at = if_not_exists(first_response_at, :now)" if first_response else ""
        notified = {
            "Key": {"pk": f"TICKET#{message.ticket_id}", "sk": "#TICKET"},
            "UpdateExpression": f"SET customer_notified = :true, updated_at = :now{response}"
            " REMOVE customer_notified_reason",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":true": True, ":now": now.isoformat()},
        }
        threads = [
            {
                "Put": {
                    "Item": {
                        "pk": f"THREAD#{key_hash(external_id)}",
                        "sk": "#THREAD",
                        "kind": "thread",
                        "ticket_id": message.ticket_id,
                        "expires_at": self._expires_at(now),
                    }
                }
            }
            for external_id in message.external_ids
        ]
        writes = [
            {"Update": notified},
            {"Put": {"Item": self._message_item(message)}},
            *threads,
            self._audit_put(message.ticket_id, audit),
        ]
        self._write(writes, "the ticket disappeared")

    def record_audit(self, ticket_id: str, audit: AuditEntry) -> None:
        self._call("put_item", TableName=self._table, Item=serialise(self._audit_item(ticket_id, audit)))

    def _not_notified_update(self, ticket_id: str, reason: str) -> dict[str, Any]:
        return {
            "Key": {"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"},
            "UpdateExpression": (
                "SET customer_notified = :false, customer_notified_reason = :reason, updated_at = :now"
            ),
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":false": False, ":reason": reason, ":now": utc_now().isoformat()},
        }

    def _audit_put(self, ticket_id: str, audit: AuditEntry) -> dict[str, Any]:
        return {"Put": {"Item": self._audit_item(ticket_id, audit)}}

    def _write(self, writes: list[dict[str, Any]], conflict: str) -> None:
        try:
            self._transact(writes)
        except ConditionFailed as exc:
            raise StoreUnavailable(conflict) from exc

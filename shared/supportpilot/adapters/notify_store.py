"""The notify stage's writes on the one table: the acknowledgement claim, "customer notified" flags,
outbound messages with their thread reference, and audit entries. Key scheme: adapters/dynamodb.py,
plus one item per reply request on the ticket's partition (erased and exported with the ticket):

| item         | pk            | sk                  |
|--------------|---------------|---------------------|
| send marker  | TICKET#<id>   | SEND#<request id>   |
| alert posts  | TICKET#<id>   | ALERT#<request id>  |

An alert posts item holds the names of the team channels that took a team alert request (`posted`).
"""

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
from supportpilot.notify.service import SendMarker
from supportpilot.ports import StoreUnavailable


def _send_key(ticket_id: str, request_id: str) -> dict[str, str]:
    return {"pk": f"TICKET#{ticket_id}", "sk": f"SEND#{request_id}"}


def _alert_key(ticket_id: str, request_id: str) -> dict[str, str]:
    return {"pk": f"TICKET#{ticket_id}", "sk": f"ALERT#{request_id}"}


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

    def release_acknowledgement(
        self, ticket_id: str, request_id: str, at: datetime, reason: str, audit: AuditEntry
    ) -> None:
        """Gives up our claim (only ours: `acknowledged_at` still holds our time) and says why."""
        update = self._not_notified_update(ticket_id, request_id, reason)
        update["UpdateExpression"] += " REMOVE acknowledged_at"
        update["ConditionExpression"] = "acknowledged_at = :claimed"
        update["ExpressionAttributeValues"][":claimed"] = at.isoformat()
        self._write([{"Update": update}, self._audit_put(ticket_id, audit)], "the acknowledgement claim changed")

    def claim_send(self, ticket_id: str, marker: SendMarker) -> SendMarker | None:
        item = {
            **_send_key(ticket_id, marker.request_id),
            "kind": "send_marker",
            "expires_at": self._expires_at(marker.claimed_at, "delivery_markers"),
            **marker.model_dump(mode="json"),
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=serialise(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise translate_error(exc) from exc
            earlier = self._get(_send_key(ticket_id, marker.request_id))
            if earlier is None:  # released by a failed attempt in between: SQS retries this one
                raise StoreUnavailable("the send marker changed meanwhile") from exc
            return SendMarker.model_validate(earlier)
        return None

    def release_send(self, ticket_id: str, marker: SendMarker, reason: str, audit: AuditEntry) -> None:
        release = {
            "Key": _send_key(ticket_id, marker.request_id),
            "ConditionExpression": "message_id = :ours AND #state = :sending",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":ours": marker.message_id, ":sending": "sending"},
        }
        writes = [{"Delete": release}, {"Update": self._not_notified_update(ticket_id, marker.request_id, reason)}]
        self._write([*writes, self._audit_put(ticket_id, audit)], "the send marker changed")

    def record_send_unknown(self, ticket_id: str, request_id: str, reason: str, audit: AuditEntry) -> bool:
        still_sending = {
            "Key": _send_key(ticket_id, request_id),
            "ConditionExpression": "#state = :sending",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":sending": "sending"},
        }
        writes = [
            {"ConditionCheck": still_sending},
            {"Update": self._not_notified_update(ticket_id, request_id, reason)},
            self._audit_put(ticket_id, audit),
        ]
        try:
            self._transact(writes)
        except ConditionFailed as exc:
            if exc.failed_first:
                return False
            raise StoreUnavailable("the ticket disappeared") from exc
        return True

    def record_not_notified(self, ticket_id: str, request_id: str, reason: str, audit: AuditEntry) -> None:
        update = self._not_notified_update(ticket_id, request_id, reason)
        self._write([{"Update": update}, self._audit_put(ticket_id, audit)], "the ticket disappeared")

    def record_sent(
        self,
        message: Message,
        request_id: str,
        audit: AuditEntry,
        first_response: bool = False,
        sent: SendMarker | None = None,
    ) -> None:
        """The outbound message, its thread reference (so the customer's reply threads back), the
        ticket's `customer_notified = true` (and, for an answer, `first_response_at` unless set), the
        request's send marker as `sent` and the audit entry, all or nothing."""
        now = utc_now()
        response = ", first_response_at = if_not_exists(first_response_at, :now)" if first_response else ""
        notified = {
            "Key": {"pk": f"TICKET#{message.ticket_id}", "sk": "#TICKET"},
            "UpdateExpression": "SET customer_notified = :true, customer_notified_request = :request, "
            f"updated_at = :now{response} REMOVE customer_notified_reason",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":true": True, ":request": request_id, ":now": now.isoformat()},
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
        if sent is not None:
            marker = {
                "Key": _send_key(message.ticket_id, sent.request_id),
                "UpdateExpression": "SET #state = :sent, sent_at = :now",
                "ConditionExpression": "message_id = :ours",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": {":sent": "sent", ":now": now.isoformat(), ":ours": sent.message_id},
            }
            writes.append({"Update": marker})
        self._write(writes, "the ticket disappeared")

    def team_alert_posts(self, ticket_id: str, request_id: str) -> set[str]:
        item = self._get(_alert_key(ticket_id, request_id))
        return set(item.get("posted", ())) if item else set()

    def record_team_alert_post(self, ticket_id: str, request_id: str, channel: str, at: datetime) -> None:
        self._call(
            "update_item",
            TableName=self._table,
            Key=serialise(_alert_key(ticket_id, request_id)),
            UpdateExpression="SET kind = :kind, expires_at = if_not_exists(expires_at, :expires) ADD posted :channel",
            ExpressionAttributeValues={
                ":kind": {"S": "team_alert_posts"},
                ":expires": {"N": str(self._expires_at(at, "delivery_markers"))},
                ":channel": {"SS": [channel]},
            },
        )

    def record_audit(self, ticket_id: str, audit: AuditEntry) -> None:
        self._call("put_item", TableName=self._table, Item=serialise(self._audit_item(ticket_id, audit)))

    def _not_notified_update(self, ticket_id: str, request_id: str, reason: str) -> dict[str, Any]:
        return {
            "Key": {"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"},
            "UpdateExpression": (
                "SET customer_notified = :false, customer_notified_reason = :reason,"
                " customer_notified_request = :request, updated_at = :now"
            ),
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {
                ":false": False,
                ":reason": reason,
                ":request": request_id,
                ":now": utc_now().isoformat(),
            },
        }

    def _audit_put(self, ticket_id: str, audit: AuditEntry) -> dict[str, Any]:
        return {"Put": {"Item": self._audit_item(ticket_id, audit)}}

    def _write(self, writes: list[dict[str, Any]], conflict: str) -> None:
        try:
            self._transact(writes)
        except ConditionFailed as exc:
            raise StoreUnavailable(conflict) from exc

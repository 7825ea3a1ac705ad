"""Conditional writes that settle an escalation on the ticket item (pk TICKET#<id>, sk #TICKET).

The item's `escalation` map mirrors `supportpilot.models.EscalationState`; `escalation_task_token`
is the token the workflow waits on. Both are written by the workflow itself (escalation.asl.json).
"""

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import claimed_key, deserialise, serialise, ticket_key, translate_error
from supportpilot.escalation import EscalationConflict, EscalationNotFound, Settlement
from supportpilot.models import EscalationState


class _NotSettleable(Exception):
    def __init__(self, item: dict[str, Any] | None):
        super().__init__("the escalation is not waiting")
        self.item = item


class DynamoEscalationStore:
    def __init__(self, client: Any, table_name: str):
        self._client = client
        self._table = table_name

    def mark_claimed(self, ticket_id: str, operator_id: str, at: datetime) -> Settlement:
        try:
            return self._settle(ticket_id, "claimed", at, claimed_by=operator_id)
        except _NotSettleable as exc:
            escalation = (exc.item or {}).get("escalation")
            if escalation is None:
                raise EscalationNotFound(f"ticket {ticket_id} has no escalation") from None
            raise EscalationConflict(
                ticket_id, escalation.get("state", "unknown"), escalation.get("claimed_by")
            ) from None

    def mark_closed(self, ticket_id: str, at: datetime) -> Settlement | None:
        try:
            return self._settle(ticket_id, "closed", at)
        except _NotSettleable as exc:
            if exc.item is None:
                raise EscalationNotFound(f"ticket {ticket_id} does not exist") from None
            return None

    def _settle(self, ticket_id: str, state: str, at: datetime, claimed_by: str | None = None) -> Settlement:
        assignments = "escalation.#state = :state, escalation.updated_at = :now"
        values: dict[str, Any] = {
            ":state": state,
            ":now": at.isoformat(),
            ":waiting": "waiting",
            ":breached": "breached",
        }
        if claimed_by is not None:  # the operator queue (index open-by-due) lists claimed tickets after the others
            assignments += ", escalation.claimed_by = :operator, escalation.claimed_at = :now, gsi4sk = :claimed"
            values |= {":operator": claimed_by, ":claimed": claimed_key(at)}
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=ticket_key(ticket_id),
                UpdateExpression=f"SET {assignments} REMOVE escalation_task_token",
                ConditionExpression="escalation.#state IN (:waiting, :breached)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=serialise(values),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise _NotSettleable(deserialise(exc.response["Item"]) if "Item" in exc.response else None) from exc
            raise translate_error(exc) from exc
        before = deserialise(response["Attributes"])
        escalation = EscalationState.model_validate(
            {**before["escalation"], "state": state, "updated_at": at, "claimed_by": claimed_by}
            | ({"claimed_at": at} if claimed_by is not None else {})
        )
        return Settlement(escalation=escalation, task_token=before.get("escalation_task_token"))

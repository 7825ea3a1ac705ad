"""Human-verified labels as training data, on the one table (key scheme: adapters/dynamodb.py).

A label stays an item of its ticket's partition (pk `TICKET#<id>`, sk `LABEL#<ulid>`), so erasing the
customer's tickets erases their labels. A label that can train (a category and the masked text) also
carries the keys of the sparse index `verified-labels`: gsi3pk `LABELS#verified` (training data) or
`LABELS#review` (flagged, waiting for a supervisor), gsi3sk = the label id. A dropped label leaves the
index and stays on the ticket for its audit trail.
"""

from typing import Any

from supportpilot.adapters.dynamodb import ConditionFailed, DynamoTicketStore, serialise
from supportpilot.learning.ports import LabelChanged
from supportpilot.models import AuditEntry
from supportpilot.operator.models import HumanLabel, LabelFlag, LabelStatus
from supportpilot.ports import TicketNotFound

LABEL_INDEX = "verified-labels"


def label_index_key(label: HumanLabel) -> str | None:
    if label.category is None or not label.text or label.status == "dropped":
        return None
    return f"LABELS#{label.status}"


def label_item(label: HumanLabel, expires_at: int) -> dict[str, Any]:
    item = {
        "pk": f"TICKET#{label.ticket_id}",
        "sk": f"LABEL#{label.id}",
        "kind": "label",
        "expires_at": expires_at,
        **label.model_dump(mode="json"),
    }
    index_key = label_index_key(label)
    if index_key is not None:
        item |= {"gsi3pk": index_key, "gsi3sk": label.id}
    return item


class DynamoLabelStore(DynamoTicketStore):
    def labels_with_status(self, status: LabelStatus) -> list[HumanLabel]:
        items = self._query(
            IndexName=LABEL_INDEX,
            KeyConditionExpression="gsi3pk = :pk",
            ExpressionAttributeValues=serialise({":pk": f"LABELS#{status}"}),
        )
        return [HumanLabel.model_validate(item) for item in items]

    def get_label(self, ticket_id: str, label_id: str) -> HumanLabel:
        item = self._get({"pk": f"TICKET#{ticket_id}", "sk": f"LABEL#{label_id}"})
        if item is None:
            raise TicketNotFound(f"{ticket_id}/{label_id}")
        return HumanLabel.model_validate(item)

    def save_label(self, label: HumanLabel, expected: LabelStatus, audit: AuditEntry | None) -> None:
        """Replace the label if it is still in status `expected`, with its audit entry in the same transaction."""
        put = {
            "Item": label_item(label, self._expires_at(label.at)),
            "ConditionExpression": "#status = :expected",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":expected": expected},
        }
        writes: list[dict[str, Any]] = [{"Put": put}]
        if audit is not None:
            writes.append({"Put": {"Item": self._audit_item(label.ticket_id, audit)}})
        try:
            self._transact(writes)
        except ConditionFailed as exc:
            raise LabelChanged(label.id) from exc

    def flag(self, label: HumanLabel, flag: LabelFlag, audit: AuditEntry) -> None:
        self.save_label(label.model_copy(update={"status": "review", "flag": flag}), "verified", audit)

"""Complaint items and trend-alert state on the one table.

| item            | pk                        | sk                    |
|-----------------|---------------------------|-----------------------|
| complaint       | COMPLAINTS#<yyyy-mm-dd>   | <sku>#<ticket id>     |
| alert state     | TRENDALERT                | SKU#<sku>             |

A complaint lives in the partition of the day its ticket was opened (UTC) and expires after
`COMPLAINT_DAYS`; the hourly job queries the 1-2 partitions of the window and, for a SKU with
enough complaints, the partitions of its baseline. Writing the same (ticket, SKU) twice overwrites.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import deserialise, serialise, translate_error
from supportpilot.trends import Complaint, SpikeAlert

COMPLAINT_DAYS = 60  # longer than window + baseline
_ALERT_PARTITION = "TRENDALERT"


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), end.date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class DynamoTrendStore:
    def __init__(self, client: Any, table_name: str):
        self._client = client
        self._table = table_name

    # ---------- complaints ----------
    def record_complaints(self, complaints: Sequence[Complaint]) -> None:
        for complaint in complaints:
            item = {
                "pk": f"COMPLAINTS#{complaint.at.date().isoformat()}",
                "sk": f"{complaint.sku}#{complaint.ticket_id}",
                "kind": "complaint",
                "expires_at": int((complaint.at + timedelta(days=COMPLAINT_DAYS)).timestamp()),
                **complaint.model_dump(mode="json"),
            }
            self._call("put_item", TableName=self._table, Item=serialise(item))

    def complaints_between(self, start: datetime, end: datetime, sku: str | None = None) -> list[Complaint]:
        found = []
        for day in _days(start, end):
            condition = "pk = :pk" + (" AND begins_with(sk, :sku)" if sku is not None else "")
            values = {":pk": f"COMPLAINTS#{day.isoformat()}"} | ({":sku": f"{sku}#"} if sku is not None else {})
            for item in self._query(KeyConditionExpression=condition, ExpressionAttributeValues=serialise(values)):
                complaint = Complaint.model_validate(item)
                if start <= complaint.at < end and (sku is None or complaint.sku == sku):
                    found.append(complaint)
        return found

    # ---------- alert state ----------
    def open_alert(self, alert: SpikeAlert) -> bool:
        item = {
            "pk": _ALERT_PARTITION,
            "sk": f"SKU#{alert.sku}",
            "kind": "trend_alert",
            "sku": alert.sku,
            "opened_at": alert.detected_at.isoformat(),
            "complaints": alert.complaints,
        }
        try:
            self._client.put_item(
                TableName=self._table, Item=serialise(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise translate_error(exc) from exc
        return True

    def close_alert(self, sku: str) -> None:
        self._call("delete_item", TableName=self._table, Key=serialise({"pk": _ALERT_PARTITION, "sk": f"SKU#{sku}"}))

    def alerting_skus(self) -> list[str]:
        items = self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues=serialise({":pk": _ALERT_PARTITION})
        )
        return [item["sku"] for item in items]

    # ---------- calls ----------
    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        try:
            for page in self._client.get_paginator("query").paginate(TableName=self._table, **kwargs):
                items.extend(deserialise(i) for i in page["Items"])
        except ClientError as exc:
            raise translate_error(exc) from exc
        return items

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            raise translate_error(exc) from exc

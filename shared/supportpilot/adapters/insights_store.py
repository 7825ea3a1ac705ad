"""Reads the tickets a report or the workload view needs. Key scheme: adapters/dynamodb.py.

Two queries, each reading only the tickets it returns: the index tickets-by-time gives the tickets created
or closed since the period's start, the index open-by-due the open ones. A breach happens only while a
ticket is open, and closing comes after it, so a ticket breached since the start is in one of the two.
"""

from datetime import datetime

from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import OPEN_TICKETS, TICKETS, DynamoTicketStore, serialise, translate_error
from supportpilot.models import Ticket, TicketStatus


class DynamoInsightsStore(DynamoTicketStore):
    def tickets_touching(self, since: datetime) -> list[Ticket]:
        # Stored times are ISO 8601 in UTC, so they compare as strings; the domain filters exactly.
        bound = since.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            return self._tickets_since(bound)
        except ClientError as exc:
            raise translate_error(exc) from exc

    def _tickets_since(self, bound: str) -> list[Ticket]:
        touched = self._query(
            IndexName="tickets-by-time",
            KeyConditionExpression="gsi5pk = :tickets AND gsi5sk >= :since",
            ExpressionAttributeValues=serialise({":tickets": TICKETS, ":since": bound}),
        )
        still_open = self._query(
            IndexName="open-by-due",
            KeyConditionExpression="gsi4pk = :open",
            FilterExpression="created_at >= :since OR escalation.breached_at >= :since OR #status = :waiting",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=serialise(
                {":open": OPEN_TICKETS, ":since": bound, ":waiting": TicketStatus.WAITING_ON_HUMAN.value}
            ),
        )
        by_id = {item["id"]: item for item in [*still_open, *touched]}
        return [Ticket.model_validate(item) for item in by_id.values()]

"""Reads the tickets a report or the workload view needs. Key scheme: adapters/dynamodb.py.

A filtered scan of ticket items (one request per MB of table): fine for a small or mid-sized shop's
table; a status/date index replaces it when tables grow large, as for the ticket listing.
"""

from datetime import datetime

from botocore.exceptions import ClientError

from supportpilot.adapters.dynamodb import DynamoTicketStore, deserialise, serialise, translate_error
from supportpilot.models import Ticket, TicketStatus


class DynamoInsightsStore(DynamoTicketStore):
    def tickets_touching(self, since: datetime) -> list[Ticket]:
        # Stored times are ISO 8601 in UTC, so they compare as strings; the domain filters exactly.
        bound = since.strftime("%Y-%m-%dT%H:%M:%S")
        filter_expression = (
            "sk = :ticket AND (created_at >= :since OR closed_at >= :since"
            " OR escalation.breached_at >= :since OR #status = :waiting)"
        )
        values = serialise({":ticket": "#TICKET", ":since": bound, ":waiting": TicketStatus.WAITING_ON_HUMAN.value})
        tickets: list[Ticket] = []
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression=filter_expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )
        try:
            for page in pages:
                tickets.extend(Ticket.model_validate(deserialise(item)) for item in page["Items"])
        except ClientError as exc:
            raise translate_error(exc) from exc
        return tickets

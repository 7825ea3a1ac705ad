"""The customer's rating on the ticket item (`csat`), written once. Key scheme: adapters/dynamodb.py."""

from supportpilot.adapters.dynamodb import ConditionFailed, DynamoTicketStore
from supportpilot.models import Actor, AuditEntry, CsatVote


class DynamoCsatStore(DynamoTicketStore):
    def record_csat(self, ticket_id: str, vote: CsatVote) -> bool:
        """The vote and its audit entry, only while the ticket has no vote (conditional write)."""
        update = {
            "Key": {"pk": f"TICKET#{ticket_id}", "sk": "#TICKET"},
            "UpdateExpression": "SET csat = :vote",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(csat)",
            "ExpressionAttributeValues": {":vote": vote.model_dump(mode="json")},
        }
        audit = AuditEntry(
            at=vote.at,
            actor=Actor(kind="customer", id="rating-link"),
            action="csat_rated",
            detail={"rating": vote.rating},
        )
        try:
            self._transact([{"Update": update}, {"Put": {"Item": self._audit_item(ticket_id, audit)}}])
        except ConditionFailed:
            return False
        return True

"""Classify stage: triage the newest inbound message of a ticket, store the result on it, and hand
the ticket to the enrich stage."""

from aws_lambda_powertools import Logger

from supportpilot.envelopes import ClassifyRequest, EnrichRequest
from supportpilot.models import Actor, AuditEntry, Ticket, TriageResult
from supportpilot.ports import TicketStore, WorkQueue
from supportpilot.triage import TriageInput, Triager

logger = Logger(child=True)

PARSE_WARNING_REASON = "the message could not be read completely: check the raw mail"


def is_triaged(ticket: Ticket, message_id: str) -> bool:
    """Message ids sort by time, so a ticket triaged on this or a later message needs nothing."""
    return ticket.triaged_message_id is not None and ticket.triaged_message_id >= message_id


class Classifier:
    def __init__(self, store: TicketStore, triager: Triager, enrich_queue: WorkQueue):
        self._store = store
        self._triager = triager
        self._enrich = enrich_queue

    def classify(self, request: ClassifyRequest) -> TriageResult | None:
        ticket = self._store.get_ticket(request.ticket_id)
        if is_triaged(ticket, request.message_id):
            return None
        message = self._store.get_message(request.ticket_id, request.message_id)
        result = self._triager.triage(
            TriageInput(subject=message.subject or ticket.subject, body=message.body, channel=ticket.channel.value)
        )
        if message.warnings and PARSE_WARNING_REASON not in result.reasons:
            result = result.model_copy(update={"needs_human": True, "reasons": [*result.reasons, PARSE_WARNING_REASON]})
        audit = AuditEntry(
            actor=Actor(kind="model", id=result.model_name, version=result.model_version),
            action="triaged",
            detail={
                "message_id": message.id,
                "category": result.category,
                "confidence": round(result.confidence, 3),
                "needs_human": result.needs_human,
            },
        )
        self._store.record_triage(ticket.id, message.id, result, audit)
        self._enrich.send(EnrichRequest(ticket_id=ticket.id, message_id=message.id))
        return result

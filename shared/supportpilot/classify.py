"""Classify stage: triage the newest inbound message of a ticket, store the result on it, and hand
the ticket to the enrich stage."""

from aws_lambda_powertools import Logger

from supportpilot import desk_metrics
from supportpilot.envelopes import ClassifyRequest, EnrichRequest
from supportpilot.models import Actor, AuditEntry, PlatformNotice, Ticket, TicketStatus, TriageResult
from supportpilot.ports import TicketChanged, TicketStore, WorkQueue
from supportpilot.triage import OUT_OF_SCOPE, TriageInput, Triager
from supportpilot.triage.interface import (
    REASON_LOW_CONFIDENCE,
    REASON_NO_REQUEST,
    REASON_OUT_OF_SCOPE,
    REASON_PLATFORM_NOTICE,
    UNDETERMINED_LANGUAGE,
)

logger = Logger(child=True)

CLASSIFY_ACTOR = Actor(kind="system", id="classify")
PARSE_WARNING_REASON = "the message could not be read completely: check the raw mail"
KEPT_TOPIC_REASON = "reply not recognised on its own: kept the ticket's category"


def is_triaged(ticket: Ticket, message_id: str) -> bool:
    """Message ids sort by time, so a ticket triaged on this or a later message needs nothing."""
    return ticket.triaged_message_id is not None and ticket.triaged_message_id >= message_id


def keep_known_topic(earlier: TriageResult, reply: TriageResult) -> TriageResult:
    """A reply the model cannot place on its own ("here is the serial number") or that asks nothing ("Thanks!")
    stays on the topic the ticket already has; so does a reply placed only with low confidence. Its language and
    emotional load still count."""
    placed = reply.category != OUT_OF_SCOPE and REASON_LOW_CONFIDENCE not in reply.reasons
    if placed or earlier.category == OUT_OF_SCOPE:
        return reply
    unplaced = (REASON_OUT_OF_SCOPE, REASON_NO_REQUEST)
    reasons = [r for r in reply.reasons if not r.startswith(REASON_LOW_CONFIDENCE) and r not in unplaced]
    return reply.model_copy(
        update={
            "category": earlier.category,
            "confidence": earlier.confidence,
            "needs_human": earlier.needs_human or bool(reasons),
            "reasons": [*reasons, KEPT_TOPIC_REASON] if earlier.needs_human or reasons else reasons,
            "explanation": f"{KEPT_TOPIC_REASON}; earlier: {earlier.explanation}",
        }
    )


NOTICE_READER = "platform-notice"  # the "model" of a notice's triage: no model reads a notice


def notice_triage(notice: PlatformNotice, language: str) -> TriageResult:
    """The triage of a message the desk wrote from a platform's event: the event gives the category, no model reads
    the desk's own words (it read "chargeback" in a dispute notice as the customer's threat), and a person handles
    it."""
    return TriageResult(
        category=notice.category,
        confidence=1.0,
        language=language,
        emotional_load=0.0,
        high_emotional_load=False,
        needs_human=True,
        reasons=[REASON_PLATFORM_NOTICE],
        model_name=NOTICE_READER,
        model_version="1",
        explanation=f"from the platform's event '{notice.event}'",
    )


class Classifier:
    def __init__(self, store: TicketStore, triager: Triager, enrich_queue: WorkQueue):
        self._store = store
        self._triager = triager
        self._enrich = enrich_queue

    def classify(self, request: ClassifyRequest) -> TriageResult | None:
        """Triage the message, store the result on its ticket and hand the ticket on to be routed. A calm, readable
        reply that asks nothing ("Thanks!") is not routed when the machine answered the ticket (routed again, it got
        that answer once more) or when it reopened a resolved or closed ticket (which goes back to that status)."""
        ticket = self._store.get_ticket(request.ticket_id)
        if is_triaged(ticket, request.message_id):
            return None
        message = self._store.get_message(request.ticket_id, request.message_id)
        if message.notice is not None:
            result = notice_triage(message.notice, ticket.language or UNDETERMINED_LANGUAGE)
        else:
            result = self._triager.triage(
                # the message's own subject: a ticket's title may be the desk's ("Mention on X"), not the customer's
                TriageInput(subject=message.subject, body=message.body, channel=ticket.channel.value)
            )
        answered_by_machine = ticket.routing is not None and ticket.routing.automation_level == "auto_reply"
        asks_nothing = result.reasons == [REASON_NO_REQUEST] and not message.warnings
        reopened_from = self._reopened_from(ticket, message.id) if asks_nothing else None
        nothing_to_route = asks_nothing and (answered_by_machine or reopened_from is not None)
        if ticket.triage is not None:
            result = keep_known_topic(ticket.triage, result)
        if message.warnings and PARSE_WARNING_REASON not in result.reasons:
            result = result.model_copy(update={"needs_human": True, "reasons": [*result.reasons, PARSE_WARNING_REASON]})
        audit = AuditEntry(
            actor=Actor(
                kind="model" if message.notice is None else "system", id=result.model_name, version=result.model_version
            ),
            action="triaged",
            detail={
                "message_id": message.id,
                "category": result.category,
                "confidence": round(result.confidence, 3),
                "needs_human": result.needs_human,
            },
        )
        triaged = self._store.record_triage(ticket.id, message.id, result, audit)
        if reopened_from is not None:
            self._close_again(triaged, message.id, reopened_from)
        if ticket.triage is None:  # the ticket's first triage; replies do not count again
            desk_metrics.record(desk_metrics.TICKETS_TRIAGED, Category=result.category, Language=result.language)
        if nothing_to_route:
            logger.info("a reply that asks nothing: not routed again", extra={"ticket_id": ticket.id})
        else:
            self._enrich.send(EnrichRequest(ticket_id=ticket.id, message_id=message.id))
        return result

    def _reopened_from(self, ticket: Ticket, message_id: str) -> TicketStatus | None:
        """The status (resolved, closed) that this message's arrival took the ticket out of, if it did."""
        if ticket.status != TicketStatus.WAITING_ON_HUMAN:
            return None
        for entry in self._store.audit_trail(ticket.id):
            if entry.action == "ticket_reopened" and entry.detail.get("message_id") == message_id:
                return TicketStatus(entry.detail["from"])
        return None

    def _close_again(self, ticket: Ticket, message_id: str, status: TicketStatus) -> None:
        """Back to resolved or closed: a "Thanks!" after the end reopened the ticket, which started a new escalation
        and a team alert, and a person had to close it once more. The message stays on the ticket."""
        audit = AuditEntry(
            actor=CLASSIFY_ACTOR,
            action="ticket_closed_again",
            detail={"message_id": message_id, "to": status.value, "reason": "the reply asks nothing"},
        )
        try:
            self._store.save_ticket_fields(
                ticket.model_copy(update={"status": status}), ["status"], audit, TicketStatus.WAITING_ON_HUMAN
            )
        except TicketChanged:  # a person took it up meanwhile: theirs
            logger.info("a reply that asks nothing: the ticket changed meanwhile", extra={"ticket_id": ticket.id})

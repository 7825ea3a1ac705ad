"""Route stage: apply the routing policy, then start the escalation and queue the notifications."""

from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from supportpilot import desk_metrics
from supportpilot.envelopes import NotifyKind, NotifyRequest, RouteRequest
from supportpilot.escalation import EscalationService
from supportpilot.ids import stable_ulid
from supportpilot.models import Actor, AuditEntry, RoutingDecision, Ticket, TicketStatus, can_transition, utc_now
from supportpilot.ports import TicketStore, WorkQueue
from supportpilot.routing import PolicySource, decide
from supportpilot.triage.interface import REASON_PLATFORM_NOTICE

logger = Logger(child=True)

ACTIVE_ESCALATION_STATES = frozenset({"waiting"})


@dataclass(frozen=True)
class RouteOutcome:
    decision: RoutingDecision
    decided_now: bool  # False: a redelivery of a request whose decision was saved before


def notify_request(
    kind: NotifyKind, ticket_id: str, message_id: str, decided_at: datetime, template: str | None = None
) -> NotifyRequest:
    """The request id derives from the decision, so a redelivered route request queues the same
    request again and the notify stage's send-once marker (`SEND#<request id>`) holds."""
    request_id = stable_ulid(int(decided_at.timestamp() * 1000), f"{kind}\n{ticket_id}\n{message_id}")
    return NotifyRequest(
        kind=kind, ticket_id=ticket_id, message_id=message_id, template=template, request_id=request_id
    )


def is_platform_notice(ticket: Ticket) -> bool:
    """Whether the ticket's latest message is the desk's notice of a platform's event (a payment dispute): nobody
    wrote to the desk, so nobody is thanked for their message."""
    return ticket.triage is not None and REASON_PLATFORM_NOTICE in ticket.triage.reasons


class TicketNotReady(RuntimeError):
    """Triage or profile is missing: an earlier stage has not finished; SQS retries."""


class Router:
    def __init__(
        self,
        store: TicketStore,
        policies: PolicySource,
        escalations: EscalationService,
        notify_queue: WorkQueue,
    ):
        self._store = store
        self._policies = policies
        self._escalations = escalations
        self._notify = notify_queue

    def route(self, request: RouteRequest) -> RouteOutcome | None:
        """Decides once per message, then queues what the decision calls for. A redelivered request
        (the decision was saved but a later step failed) queues the same notifications again, with
        the same request ids, so the notify stage mails each at most once; None when a newer
        message's decision replaced this one."""
        ticket = self._store.get_ticket(request.ticket_id)
        routing = ticket.routing
        if routing and routing.message_id and routing.message_id > request.message_id:
            return None
        if routing and routing.message_id == request.message_id:
            self._follow_up(ticket, routing, request.message_id)
            return RouteOutcome(routing, decided_now=False)
        if ticket.triage is None or ticket.profile is None:
            raise TicketNotReady(f"ticket {ticket.id} has no triage or profile yet")
        policy = self._policies.current()
        decision = decide(ticket.triage, ticket.profile, policy, utc_now()).model_copy(
            update={"message_id": request.message_id}
        )
        target = TicketStatus.ROUTED if decision.automation_level == "auto_reply" else TicketStatus.WAITING_ON_HUMAN
        status = target if can_transition(ticket.status, target) else ticket.status
        routed = ticket.model_copy(
            update={"routing": decision, "queue": decision.queue, "priority": decision.priority, "status": status}
        )
        audit = AuditEntry(
            actor=Actor(kind="system", id="routing-policy", version=decision.policy_version),
            action="routed",
            detail={
                "queue": decision.queue,
                "priority": decision.priority,
                "automation_level": decision.automation_level,
                "reasons": decision.reasons,
            },
        )
        self._store.save_ticket_fields(routed, ["routing", "queue", "priority", "status"], audit, ticket.status)
        self._follow_up(ticket, decision, request.message_id)
        return RouteOutcome(decision, decided_now=True)

    def _follow_up(self, ticket: Ticket, decision: RoutingDecision, message_id: str) -> None:
        """The notifications and the escalation of a saved decision; safe to repeat (see `route`)."""
        if decision.automation_level == "auto_reply":
            self._notify.send(
                notify_request(
                    "auto_reply", ticket.id, message_id, decision.decided_at, template=decision.auto_reply_template
                )
            )
            return
        if ticket.acknowledged_at is None and not is_platform_notice(ticket):
            self._notify.send(notify_request("acknowledgement", ticket.id, message_id, decision.decided_at))
        if ticket.escalation is None or ticket.escalation.state not in ACTIVE_ESCALATION_STATES:
            started = self._escalations.start_escalation(
                ticket.id,
                queue=decision.queue,
                priority=decision.priority,
                category=ticket.triage.category if ticket.triage else None,
                reasons=decision.reasons,
                message_id=message_id,
            )
            if started.started:
                desk_metrics.record(desk_metrics.ESCALATIONS_STARTED, Queue=decision.queue)
            self._notify.send(notify_request("team_alert", ticket.id, message_id, decision.decided_at))

"""Route stage: apply the routing policy, then start the escalation and queue the notifications."""

from aws_lambda_powertools import Logger

from supportpilot import desk_metrics
from supportpilot.envelopes import NotifyRequest, RouteRequest
from supportpilot.escalation import EscalationService
from supportpilot.models import Actor, AuditEntry, RoutingDecision, TicketStatus, can_transition, utc_now
from supportpilot.ports import TicketStore, WorkQueue
from supportpilot.routing import PolicySource, decide

logger = Logger(child=True)

ACTIVE_ESCALATION_STATES = frozenset({"waiting"})


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

    def route(self, request: RouteRequest) -> RoutingDecision | None:
        ticket = self._store.get_ticket(request.ticket_id)
        if ticket.routing and ticket.routing.message_id and ticket.routing.message_id >= request.message_id:
            return None
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
        if decision.automation_level == "auto_reply":
            self._notify.send(
                NotifyRequest(
                    kind="auto_reply",
                    ticket_id=ticket.id,
                    message_id=request.message_id,
                    template=decision.auto_reply_template,
                )
            )
            return decision
        if ticket.acknowledged_at is None:
            self._notify.send(NotifyRequest(kind="acknowledgement", ticket_id=ticket.id, message_id=request.message_id))
        if ticket.escalation is None or ticket.escalation.state not in ACTIVE_ESCALATION_STATES:
            started = self._escalations.start_escalation(
                ticket.id,
                queue=decision.queue,
                priority=decision.priority,
                category=ticket.triage.category,
                reasons=decision.reasons,
                message_id=request.message_id,
            )
            if started.started:
                desk_metrics.record(desk_metrics.ESCALATIONS_STARTED, Queue=decision.queue)
            self._notify.send(NotifyRequest(kind="team_alert", ticket_id=ticket.id, message_id=request.message_id))
        return decision

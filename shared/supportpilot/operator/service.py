"""The operator's desk: what a person may see and do with a ticket, checked against their role.

Every change writes an audit entry whose actor is the operator (kind "operator", id = Cognito `sub`).
Errors are domain errors; the operator API maps them to HTTP in one place.
"""

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from supportpilot import desk_metrics
from supportpilot.envelopes import NotifyRequest
from supportpilot.escalation import EscalationConflict, EscalationNotFound, EscalationService
from supportpilot.ids import new_ulid
from supportpilot.learning.masking import mask_personal_data
from supportpilot.models import (
    Actor,
    AuditEntry,
    Message,
    Ticket,
    TicketStatus,
    TimelineEvent,
    can_transition,
    utc_now,
)
from supportpilot.notify.service import (
    SEND_CHECKED_ACTION,
    SEND_NOT_RECEIVED,
    SEND_UNKNOWN_ACTION,
    is_latest_mail,
    unconfirmed_sends,
)
from supportpilot.operator.models import (
    ActionResult,
    HumanLabel,
    LabelCorrectionBody,
    NoteBody,
    Operator,
    ReassignBody,
    ReplyBody,
    ReplyRequest,
    Role,
    RoutingPolicyView,
    SendCheck,
    SendCheckBody,
    SlaState,
    SuggestionDecisionBody,
    TicketDetail,
    TicketFilter,
    TicketPage,
    TicketSummary,
)
from supportpilot.ports import TicketChanged, TicketNotFound, WorkQueue
from supportpilot.regex_store import compiled
from supportpilot.routing import default_policy, validate_policy
from supportpilot.triage import OUT_OF_SCOPE, TriageInput
from supportpilot.triage.interface import message_text

logger = logging.getLogger(__name__)
IDEMPOTENCY_KEY_PATTERN = compiled(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, as a header carries it


class NotAuthenticated(Exception):
    """No valid identity came with the request."""


class Conflict(Exception):
    """The ticket is not in a state that allows this; the message says what happened."""


class UnconfirmedSendNotFound(Exception):
    """The ticket has no mail of that request whose delivery is unknown."""


class InvalidRequest(ValueError):
    """A request value the body's schema cannot check (a cursor, a policy document)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


class OperatorStore(Protocol):
    def get_ticket(self, ticket_id: str) -> Ticket: ...
    def messages(self, ticket_id: str) -> list[Message]: ...
    def get_message(self, ticket_id: str, message_id: str) -> Message: ...
    def audit_trail(self, ticket_id: str) -> list[AuditEntry]: ...
    def timeline(self, customer_id: str) -> list[TimelineEvent]: ...
    def labels(self, ticket_id: str) -> list[HumanLabel]: ...
    def breached_tickets(self) -> list[Ticket]:
        """Open tickets whose SLA breached and nobody has claimed since, the longest overdue first."""
        ...

    def list_tickets(self, criteria: TicketFilter, limit: int, cursor: str | None) -> tuple[list[Ticket], str | None]:
        """A page of tickets and the cursor of the next one; InvalidRequest("cursor") for a cursor it did not issue."""
        ...

    def save_ticket_fields(
        self, ticket: Ticket, fields: list[str], audit: AuditEntry | None, expected_status: TicketStatus | None = None
    ) -> None: ...
    def add_message(self, message: Message, audit: AuditEntry) -> None: ...
    def record_label(self, label: HumanLabel, audit: AuditEntry, corrected: Ticket | None = None) -> None:
        """Stores the label and its audit entry, then the ticket's corrected triage view (if any)."""
        ...

    def decide_suggestion(self, ticket_id: str, decision: str, audit: AuditEntry) -> bool:
        """proposed -> decision, atomically with the audit entry; False when it was no longer proposed."""
        ...

    def reply_request(self, ticket_id: str, key: str) -> ReplyRequest | None: ...
    def claim_reply(self, ticket_id: str, request: ReplyRequest) -> ReplyRequest | None:
        """Stores the request unless one with its key exists; returns the existing one then."""
        ...

    def mark_reply_queued(self, ticket_id: str, key: str) -> None: ...
    def record_send_check(
        self, ticket_id: str, check: SendCheck, audit: AuditEntry, settled: Ticket | None = None
    ) -> SendCheck | None:
        """Stores the check and its audit entry unless the request was checked before: returns that check
        then and writes nothing. `settled` (the ticket with `customer_notified` and its reason as the check
        leaves them) is written in the same transaction while the ticket's reason still says the send is
        unknown and its `customer_notified_request` is still this request; TicketChanged when another mail
        outcome replaced it meanwhile."""
        ...


class PolicyParameter(Protocol):
    def fetch_override(self) -> str | None: ...
    def store_override(self, document: str) -> None: ...


def sla_state(ticket: Ticket) -> SlaState:
    escalation = ticket.escalation
    if escalation is not None and escalation.state in ("breached", "claimed"):
        return escalation.state
    return "ok"


def summarise(ticket: Ticket) -> TicketSummary:
    return TicketSummary(
        id=ticket.id,
        subject=ticket.subject,
        channel=ticket.channel.value,
        status=ticket.status,
        queue=ticket.queue,
        priority=ticket.priority,
        language=ticket.language,
        category=ticket.triage.category if ticket.triage else None,
        high_emotional_load=bool(ticket.triage and ticket.triage.high_emotional_load),
        automation_level=ticket.routing.automation_level if ticket.routing else None,
        sla_state=sla_state(ticket),
        sla_due_at=ticket.escalation.sla_due_at if ticket.escalation else None,
        claimed_by=ticket.escalation.claimed_by if ticket.escalation else None,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


def _actor(operator: Operator) -> Actor:
    return Actor(kind="operator", id=operator.id)


def _reply_result(ticket_id: str, request: ReplyRequest) -> ActionResult:
    return ActionResult(
        ticket_id=ticket_id, status=request.status, detail={"queued": True, "reply_id": request.request_id}
    )


class OperatorDesk:
    def __init__(
        self,
        store: OperatorStore,
        escalations: EscalationService,
        notify_queue: WorkQueue,
        policy_parameter: PolicyParameter,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._store = store
        self._escalations = escalations
        self._notify = notify_queue
        self._policy = policy_parameter
        self._clock = clock

    # ---------- reading ----------
    def list_tickets(self, operator: Operator, criteria: TicketFilter, limit: int, cursor: str | None) -> TicketPage:
        operator.require(Role.AGENT)
        tickets, next_cursor = self._store.list_tickets(criteria, limit, cursor)
        return TicketPage(tickets=[summarise(t) for t in tickets], next_cursor=next_cursor)

    def ticket_detail(self, operator: Operator, ticket_id: str) -> TicketDetail:
        operator.require(Role.AGENT)
        ticket = self._store.get_ticket(ticket_id)
        routing = ticket.routing
        audit = self._store.audit_trail(ticket_id)
        return TicketDetail(
            ticket=ticket,
            sla_state=sla_state(ticket),
            routing=routing,
            suggested_action=routing.suggested_action if routing else None,
            empathy_hint=routing.empathy_hint if routing else None,
            escalation=ticket.escalation,
            messages=self._store.messages(ticket_id),
            labels=self._store.labels(ticket_id),
            audit=audit,
            unconfirmed_sends=unconfirmed_sends(audit),
            timeline=self._store.timeline(ticket.customer.id),
        )

    def breaches(self, operator: Operator) -> list[TicketSummary]:
        operator.require(Role.SUPERVISOR)
        return [summarise(t) for t in self._store.breached_tickets()]

    # ---------- working a ticket ----------
    def claim(self, operator: Operator, ticket_id: str) -> ActionResult:
        operator.require(Role.AGENT)
        ticket = self._store.get_ticket(ticket_id)
        try:
            escalation = self._escalations.claim(ticket_id, operator.id)
        except EscalationNotFound:
            raise Conflict(f"ticket {ticket_id} has no escalation to claim") from None
        except EscalationConflict as exc:
            raise Conflict(str(exc)) from None
        self._audit(operator, ticket, "escalation_claimed", {"tier": escalation.tier})
        return ActionResult(ticket_id=ticket_id, status=ticket.status, detail={"escalation": escalation.state})

    def reply(
        self, operator: Operator, ticket_id: str, body: ReplyBody, idempotency_key: str | None = None
    ) -> ActionResult:
        """Queues the reply once per idempotency key: a repeat answers what the first request did.
        Without a key, the key is the text and the customer message it answers, so a double click
        queues one reply while the same words to a later message are a new one. A closing reply
        (`body.close`) closes the ticket after queueing; its repeat finishes a close that failed."""
        operator.require(Role.AGENT)
        if idempotency_key is not None and not IDEMPOTENCY_KEY_PATTERN.match(idempotency_key):
            raise InvalidRequest("Idempotency-Key", "1 to 255 printable ASCII characters")
        ticket = self._store.get_ticket(ticket_id)
        text_sha256 = hashlib.sha256(body.text.encode()).hexdigest()
        given = f"key\n{idempotency_key}" if idempotency_key is not None else None
        key_source = given or f"derived\n{self._answered_message_id(ticket_id)}\n{text_sha256}"
        key = hashlib.sha256(f"{operator.id}\n{key_source}".encode()).hexdigest()
        earlier = self._store.reply_request(ticket_id, key)
        if earlier is None:
            if ticket.status == TicketStatus.CLOSED:
                raise Conflict(f"ticket {ticket_id} is closed: reopen it before replying")
            request = ReplyRequest(
                key=key,
                request_id=new_ulid(),
                operator_id=operator.id,
                text_sha256=text_sha256,
                status=TicketStatus.CLOSED if body.close else ticket.status,
                at=self._clock(),
            )
            earlier = self._store.claim_reply(ticket_id, request)
            if earlier is None:
                return self._queue_reply(operator, ticket, body, request)
        if earlier.text_sha256 != text_sha256:
            raise Conflict("this Idempotency-Key was used for another reply: send a new key with a new reply")
        if not earlier.queued:  # the first request stopped before it queued: notify sends a request id once
            return self._queue_reply(operator, ticket, body, earlier)
        if earlier.status == TicketStatus.CLOSED and ticket.status != TicketStatus.CLOSED:
            self.close(operator, ticket_id)  # the first request stopped after queueing its closing reply
        return _reply_result(ticket_id, earlier)

    def _answered_message_id(self, ticket_id: str) -> str:
        inbound = [m.id for m in self._store.messages(ticket_id) if m.direction == "inbound"]
        return max(inbound, default="")

    def _queue_reply(self, operator: Operator, ticket: Ticket, body: ReplyBody, request: ReplyRequest) -> ActionResult:
        closing = request.status == TicketStatus.CLOSED
        self._notify.send(
            NotifyRequest(
                kind="operator_reply",
                ticket_id=ticket.id,
                text=body.text,
                operator_id=operator.id,
                request_id=request.request_id,
                closes_ticket=closing,
            )
        )
        detail = {"characters": len(body.text), "reply_id": request.request_id, "closes_ticket": closing}
        self._audit(operator, ticket, "operator_reply_queued", detail)
        self._store.mark_reply_queued(ticket.id, request.key)
        if closing and ticket.status != TicketStatus.CLOSED:
            self.close(operator, ticket.id)
        return _reply_result(ticket.id, request)

    def check_unconfirmed_send(
        self, operator: Operator, ticket_id: str, request_id: str, body: SendCheckBody
    ) -> ActionResult:
        """Records what the operator found out about a mail whose delivery is unknown; nothing is sent
        again either way (at most once). When that mail is the ticket's latest, `customer_notified`
        follows the answer. Once per request: a repeat with the same answer gets the first check's
        result, another answer is a conflict naming who checked."""
        operator.require(Role.AGENT)
        ticket = self._store.get_ticket(ticket_id)
        audit = self._store.audit_trail(ticket_id)
        if not any(e.action == SEND_UNKNOWN_ACTION and e.detail.get("request_id") == request_id for e in audit):
            raise UnconfirmedSendNotFound(f"ticket {ticket_id} has no mail of request {request_id} to check")
        check = SendCheck(
            request_id=request_id, customer_got_it=body.customer_got_it, operator_id=operator.id, at=self._clock()
        )
        settled = None
        if is_latest_mail(audit, request_id):
            reason = None if check.customer_got_it else SEND_NOT_RECEIVED
            settled = ticket.model_copy(
                update={"customer_notified": check.customer_got_it, "customer_notified_reason": reason}
            )
        detail = {"request_id": request_id, "customer_got_it": check.customer_got_it}
        entry = AuditEntry(at=check.at, actor=_actor(operator), action=SEND_CHECKED_ACTION, detail=detail)
        try:
            recorded = self._store.record_send_check(ticket_id, check, entry, settled) or check
        except TicketChanged:
            raise Conflict(f"ticket {ticket_id} got another mail meanwhile: reload it") from None
        if recorded.customer_got_it != check.customer_got_it:
            found = "the customer got it" if recorded.customer_got_it else "the customer did not get it"
            raise Conflict(
                f"the mail of request {request_id} was already checked by operator {recorded.operator_id} "
                f"at {recorded.at.isoformat()}: {found}"
            )
        remaining = [e.detail.get("request_id") for e in unconfirmed_sends(audit)]
        return ActionResult(
            ticket_id=ticket_id,
            status=ticket.status,
            detail={
                "request_id": request_id,
                "customer_got_it": recorded.customer_got_it,
                "checked_by": recorded.operator_id,
                "unconfirmed_sends": [other for other in remaining if other != request_id],
            },
        )

    def decide_suggestion(self, operator: Operator, ticket_id: str, body: SuggestionDecisionBody) -> ActionResult:
        operator.require(Role.AGENT)
        ticket = self._store.get_ticket(ticket_id)
        action = ticket.routing.suggested_action if ticket.routing else None
        if action is None:
            raise Conflict(f"ticket {ticket_id} has no suggested action")
        detail: dict[str, Any] = {"kind": action.kind, "decision": body.decision}
        if body.comment:
            detail["comment"] = body.comment
        audit = AuditEntry(at=self._clock(), actor=_actor(operator), action="suggestion_decided", detail=detail)
        if action.status != "proposed" or not self._store.decide_suggestion(ticket_id, body.decision, audit):
            raise Conflict(self._who_decided(ticket_id))
        desk_metrics.record(desk_metrics.SUGGESTIONS_DECIDED, Decision=body.decision)
        return ActionResult(ticket_id=ticket_id, status=ticket.status, detail={"suggested_action": body.decision})

    def _who_decided(self, ticket_id: str) -> str:
        decisions = [e for e in self._store.audit_trail(ticket_id) if e.action == "suggestion_decided"]
        if not decisions:
            return f"the suggested action of ticket {ticket_id} was already handled"
        last = max(decisions, key=lambda e: e.at)
        return (
            f"the suggested action of ticket {ticket_id} was already {last.detail.get('decision')} "
            f"by operator {last.actor.id} at {last.at.isoformat()}"
        )

    def correct_label(self, operator: Operator, ticket_id: str, body: LabelCorrectionBody) -> HumanLabel:
        operator.require(Role.AGENT)
        ticket = self._store.get_ticket(ticket_id)
        corrections = body.model_dump(include={"category", "high_emotional_load"}, exclude_none=True)
        label = self._verified_label(operator, ticket, body.message_id, "correction", **corrections)
        original = ticket.triage
        changed = original is not None and body.category is not None and body.category != original.category
        detail: dict[str, Any] = {"label_id": label.id, "message_id": label.message_id, "human": corrections}
        if original is not None:
            # The model's own result stays in the audit trail; the ticket shows the human's.
            detail["model"] = original.model_dump(
                mode="json", include={"category", "high_emotional_load", "model_name", "model_version"}
            )
            note = f"corrected by operator {operator.id}: " + ", ".join(f"{k}={v}" for k, v in corrections.items())
            # The first model category stays: a second correction does not make the model right.
            corrected_from = original.corrected_from or (original.category if changed else None)
            corrected = original.model_copy(
                update={**corrections, "reasons": [*original.reasons, note], "corrected_from": corrected_from}
            )
            ticket = ticket.model_copy(update={"triage": corrected})
        audit = AuditEntry(at=label.at, actor=_actor(operator), action="label_corrected", detail=detail)
        self._store.record_label(label, audit, ticket if original is not None else None)
        desk_metrics.record(desk_metrics.LABELS_RECORDED)
        if changed:
            desk_metrics.record(desk_metrics.LABEL_CORRECTIONS)
        return label

    def confirm_label(self, operator: Operator, ticket_id: str) -> HumanLabel:
        """The operator confirms the model's category of the triaged message: a verified example as well."""
        operator.require(Role.AGENT)
        ticket = self._store.get_ticket(ticket_id)
        if ticket.triage is None or ticket.triage.category == OUT_OF_SCOPE:
            raise Conflict(f"ticket {ticket_id} has no category to confirm: correct the label instead")
        label = self._verified_label(operator, ticket, None, "confirmation", category=ticket.triage.category)
        detail = {
            "label_id": label.id,
            "message_id": label.message_id,
            "category": label.category,
            "model": {"model_name": ticket.triage.model_name, "model_version": ticket.triage.model_version},
        }
        audit = AuditEntry(at=label.at, actor=_actor(operator), action="label_confirmed", detail=detail)
        self._store.record_label(label, audit)
        desk_metrics.record(desk_metrics.LABELS_RECORDED)
        return label

    def _verified_label(
        self, operator: Operator, ticket: Ticket, message_id: str | None, source: str, **values: Any
    ) -> HumanLabel:
        """A label with the labelled message's text, personal data masked, when it has a category; without text (so
        no training example) when the desk wrote the message from a platform's event: no customer writes that way."""
        message_id = message_id or ticket.triaged_message_id
        text = None
        if values.get("category") is not None and message_id is not None:
            try:
                message = self._store.get_message(ticket.id, message_id)
            except TicketNotFound:
                raise Conflict(f"ticket {ticket.id} has no message {message_id}") from None
            if message.notice is None:
                raw, _ = message_text(TriageInput(subject=message.subject, body=message.body))
                text = mask_personal_data(raw) or None
        return HumanLabel(
            id=new_ulid(),
            ticket_id=ticket.id,
            message_id=message_id,
            operator_id=operator.id,
            at=self._clock(),
            source=source,
            model_category=ticket.triage.category if ticket.triage else None,
            language=ticket.triage.language if ticket.triage else ticket.language,
            text=text,
            **values,
        )

    def close(self, operator: Operator, ticket_id: str) -> ActionResult:
        operator.require(Role.AGENT)
        ticket = self._move(operator, ticket_id, TicketStatus.CLOSED, "closed")
        self._escalations.close(ticket_id)
        desk_metrics.record(desk_metrics.TICKETS_CLOSED)
        if ticket.closed_at is not None:
            seconds = (ticket.closed_at - ticket.created_at).total_seconds()
            desk_metrics.record(desk_metrics.RESOLUTION_SECONDS, max(0.0, seconds), MetricUnit.Seconds)
        return ActionResult(ticket_id=ticket_id, status=ticket.status)

    def reopen(self, operator: Operator, ticket_id: str) -> ActionResult:
        operator.require(Role.AGENT)
        ticket = self._move(operator, ticket_id, TicketStatus.WAITING_ON_HUMAN, "reopened")
        return ActionResult(ticket_id=ticket_id, status=ticket.status)

    def _move(self, operator: Operator, ticket_id: str, target: TicketStatus, action: str) -> Ticket:
        """Closing records when and by whom (the workload view counts it); reopening clears both."""
        ticket = self._store.get_ticket(ticket_id)
        reopening = target == TicketStatus.WAITING_ON_HUMAN
        if not can_transition(ticket.status, target) or (
            reopening and ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        ):
            raise Conflict(f"ticket {ticket_id} is {ticket.status}: it cannot be {action}")
        now = self._clock()
        closing = target == TicketStatus.CLOSED
        moved = ticket.model_copy(
            update={
                "status": target,
                "closed_at": now if closing else None,
                "closed_by": operator.id if closing else None,
            }
        )
        audit = AuditEntry(at=now, actor=_actor(operator), action=action, detail={"from": ticket.status, "to": target})
        try:
            self._store.save_ticket_fields(
                moved, ["status", "closed_at", "closed_by"], audit, expected_status=ticket.status
            )
        except TicketChanged:
            raise Conflict(f"ticket {ticket_id} changed meanwhile: reload it") from None
        return moved

    def add_note(self, operator: Operator, ticket_id: str, body: NoteBody) -> Message:
        operator.require(Role.AGENT)
        ticket = self._store.get_ticket(ticket_id)
        note = Message(
            id=new_ulid(),
            ticket_id=ticket_id,
            direction="internal",
            channel=ticket.channel,
            received_at=self._clock(),
            body=body.text,
        )
        audit = AuditEntry(
            at=note.received_at, actor=_actor(operator), action="note_added", detail={"message_id": note.id}
        )
        self._store.add_message(note, audit)
        return note

    # ---------- supervisors ----------
    def reassign(self, operator: Operator, ticket_id: str, body: ReassignBody) -> ActionResult:
        operator.require(Role.SUPERVISOR)
        ticket = self._store.get_ticket(ticket_id)
        moved = ticket.model_copy(update={"queue": body.queue})
        audit = AuditEntry(
            at=self._clock(),
            actor=_actor(operator),
            action="reassigned",
            detail={"from": ticket.queue, "to": body.queue},
        )
        try:
            self._store.save_ticket_fields(moved, ["queue"], audit, expected_status=ticket.status)
        except TicketChanged:
            raise Conflict(f"ticket {ticket_id} changed meanwhile: reload it") from None
        return ActionResult(ticket_id=ticket_id, status=ticket.status, detail={"queue": body.queue})

    # ---------- admins ----------
    def routing_policy(self, operator: Operator) -> RoutingPolicyView:
        operator.require(Role.ADMIN)
        override = self._policy.fetch_override()
        policy = validate_policy(override) if override is not None else default_policy()
        return RoutingPolicyView(overridden=override is not None, policy=policy.model_dump(mode="json"))

    def set_routing_policy(self, operator: Operator, document: dict[str, Any]) -> RoutingPolicyView:
        """Raises PolicyInvalid (naming each offending field) before anything is stored."""
        operator.require(Role.ADMIN)
        policy = validate_policy(json.dumps(document))
        self._policy.store_override(policy.model_dump_json())
        logger.info("routing policy override stored", extra={"operator_id": operator.id})
        return RoutingPolicyView(overridden=True, policy=policy.model_dump(mode="json"))

    def _audit(self, operator: Operator, ticket: Ticket, action: str, detail: dict[str, Any]) -> None:
        audit = AuditEntry(at=self._clock(), actor=_actor(operator), action=action, detail=detail)
        self._store.save_ticket_fields(ticket, [], audit)

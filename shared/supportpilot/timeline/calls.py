"""Phone calls an operator logs: triaged like any message, put on the customer's timeline, and
turned into a ticket when they need a follow-up (asked for, or the triage wants a person).

The ticket enters the pipeline as every channel does (`DeliveryCommitter`: one transaction, then
the classify queue), so routing and escalation treat it like a mail. A number that several
customers hold is never guessed: the call waits in the unmatched list until a person attaches it.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from supportpilot.ids import new_ulid
from supportpilot.ingest import DeliveryCommitter
from supportpilot.models import (
    Actor,
    AuditEntry,
    Channel,
    CustomerIdentity,
    Message,
    Ticket,
    TimelineEvent,
    TriageResult,
    utc_now,
)
from supportpilot.operator.models import Operator, Role
from supportpilot.operator.service import Conflict, InvalidRequest
from supportpilot.phone import DEFAULT_COUNTRY_CODE, normalise_phone
from supportpilot.ports import DeliveryRecord
from supportpilot.timeline.customers import CustomerDirectory, UnknownCustomer, match_customer
from supportpilot.timeline.models import CallLogBody, ContactTriage, LoggedCall, UnmatchedContact
from supportpilot.triage import TriageInput, Triager

logger = logging.getLogger(__name__)
AMBIGUOUS_PHONE = "the phone number belongs to more than one customer: attach the call to one of them"


class UnmatchedContacts(Protocol):
    def add_unmatched(self, contact: UnmatchedContact) -> None: ...
    def unmatched_contacts(self) -> list[UnmatchedContact]: ...
    def unmatched_contact(self, contact_id: str) -> UnmatchedContact | None: ...
    def remove_unmatched(self, contact_id: str) -> bool: ...


def contact_triage(result: TriageResult) -> ContactTriage:
    return ContactTriage.model_validate(result.model_dump(include=set(ContactTriage.model_fields)))


CONNECT_STAGES = {"INITIATED": "started", "CONNECTED_TO_AGENT": "connected to an agent", "DISCONNECTED": "ended"}


def contact_event(
    customer_id: str, contact: UnmatchedContact, ticket_id: str | None, attached_by: str | None = None
) -> TimelineEvent:
    """A call or chat on the customer's timeline; `details` reads as-is in the console."""
    noun = "call" if contact.channel == "phone" else "chat"
    parts = [f"{contact.direction.capitalize()} {noun}"]
    if contact.event_type is not None:
        parts[0] += f" (Amazon Connect) {CONNECT_STAGES.get(contact.event_type, contact.event_type.lower())}"
    if contact.duration_seconds is not None:
        parts.append(f"{round(contact.duration_seconds / 60)} min")
    if contact.outcome:
        parts.append(contact.outcome.replace("_", " "))
    details: dict = {
        "summary": ", ".join(parts),
        "direction": contact.direction,
        "duration_seconds": contact.duration_seconds,
        "outcome": contact.outcome,
        "follow_up": contact.follow_up,
        "notes": contact.summary or None,
        "logged_by": contact.logged_by,
        "attached_by": attached_by,
        "connect_contact_id": contact.reference,
        "connect_event": contact.event_type,
    }
    if contact.triage is not None:
        details |= contact.triage.model_dump(include={"category", "language", "emotional_load", "high_emotional_load"})
    return TimelineEvent(
        customer_id=customer_id,
        id=contact.id,
        kind=noun,
        source=Channel.PHONE if noun == "call" else Channel.CHAT,
        occurred_at=contact.occurred_at,
        reference=contact.reference or contact.id,
        details={key: value for key, value in details.items() if value is not None},
        ticket_id=ticket_id,
    )


class CallLog:
    def __init__(
        self,
        directory: CustomerDirectory,
        unmatched: UnmatchedContacts,
        deliveries: DeliveryCommitter,
        triager: Triager,
        country_code: str = DEFAULT_COUNTRY_CODE,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._directory = directory
        self._unmatched = unmatched
        self._deliveries = deliveries
        self._triager = triager
        self._country_code = country_code
        self._clock = clock

    def log(self, operator: Operator, body: CallLogBody) -> LoggedCall:
        operator.require(Role.AGENT)
        phone = None
        if body.phone is not None:
            phone = normalise_phone(body.phone, self._country_code)
            if phone is None:
                raise InvalidRequest("phone", "not a phone number")
        result = self._triager.triage(TriageInput(body=body.summary, channel=Channel.PHONE.value))
        call = UnmatchedContact(
            id=new_ulid(),
            source="operator",
            channel="phone",
            phone=phone,
            candidates=[],
            direction=body.direction,
            occurred_at=body.started_at,
            duration_seconds=body.duration_seconds,
            summary=body.summary,
            outcome=body.outcome,
            follow_up=body.follow_up,
            triage=contact_triage(result),
            logged_by=operator.id,
        )
        try:
            match = match_customer(self._directory, customer_id=body.customer_id, email=body.email, phone=phone)
        except UnknownCustomer:
            raise InvalidRequest("customer_id", "no customer with this id") from None
        if body.email is not None and match.customer is None and not match.ambiguous:
            raise InvalidRequest("email", "not a mail address")
        if match.customer is None:
            self._unmatched.add_unmatched(call.model_copy(update={"candidates": match.candidates}))
            logger.info("call logged unmatched", extra={"call_id": call.id, "operator_id": operator.id})
            return LoggedCall(call_id=call.id, matched=False, triage=call.triage, unmatched_reason=AMBIGUOUS_PHONE)
        return self._record(operator, match.customer, call, result.needs_human)

    def unmatched(self, operator: Operator) -> list[UnmatchedContact]:
        operator.require(Role.AGENT)
        return sorted(self._unmatched.unmatched_contacts(), key=lambda c: c.id)

    def attach(self, operator: Operator, contact_id: str, customer_id: str) -> LoggedCall:
        """A person says whose call it was: it goes where a matched call goes, audited with their id."""
        operator.require(Role.AGENT)
        contact = self._unmatched.unmatched_contact(contact_id)
        if contact is None:
            raise Conflict(f"no unmatched contact {contact_id}: it may have been attached already")
        customer = self._directory.customer(customer_id)
        if customer is None:
            raise InvalidRequest("customer_id", "no customer with this id")
        if not self._unmatched.remove_unmatched(contact_id):
            raise Conflict(f"contact {contact_id} was attached by someone else meanwhile")
        self._directory.link(customer, contact.phone)
        needs_human = bool(contact.triage and contact.triage.needs_human)
        return self._record(operator, customer, contact, needs_human, action="contact_attached")

    def _record(
        self,
        operator: Operator,
        customer: CustomerIdentity,
        call: UnmatchedContact,
        needs_human: bool,
        action: str = "call_logged",
    ) -> LoggedCall:
        ticket = message = None
        audit: list[AuditEntry] = []
        if call.follow_up or needs_human:
            now = self._clock()
            ticket = Ticket(
                id=new_ulid(),
                channel=Channel.PHONE if call.channel == "phone" else Channel.CHAT,
                customer=customer,
                subject=f"{call.channel.capitalize()} {call.direction} {call.occurred_at:%Y-%m-%d %H:%M}",
                created_at=now,
                updated_at=now,
            )
            message = Message(
                id=new_ulid(),
                ticket_id=ticket.id,
                channel=ticket.channel,
                received_at=call.occurred_at,
                body=call.summary,
                external_ids=[f"contact:{call.id}"],
            )
            audit.append(
                AuditEntry(
                    at=now,
                    actor=Actor(kind="operator", id=operator.id),
                    action=action,
                    detail={"contact_id": call.id, "direction": call.direction, "follow_up": call.follow_up},
                )
            )
        attached_by = operator.id if action == "contact_attached" else None
        event = contact_event(customer.id, call, ticket.id if ticket else None, attached_by)
        record = DeliveryRecord(
            dedupe_key=f"contact:{call.id}",
            ticket=ticket,
            is_new_ticket=ticket is not None,
            message=message,
            timeline_events=[event],
            audit=audit,
        )
        outcome = self._deliveries.commit(record, "call_recorded")
        logger.info(
            "call recorded",
            extra={"call_id": call.id, "operator_id": operator.id, "ticket_id": outcome.ticket_id, "action": action},
        )
        return LoggedCall(
            call_id=call.id,
            matched=True,
            customer_id=customer.id,
            ticket_id=outcome.ticket_id,
            triage=call.triage,
            timeline_event=event,
        )

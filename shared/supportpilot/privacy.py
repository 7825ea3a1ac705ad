"""Customer data requests (GDPR/AVG articles 15 and 17): export everything held about a customer, or
erase it, leaving an erasure record without personal data.

An erasure deletes, ticket by ticket, the mail objects in S3 (raw mail, attachments) first, then
the thread references, then the ticket's other items (messages, audit entries, labels, notes), the
ticket item last, and the customer's timeline after all tickets. The messages hold the S3 keys and
thread ids and the ticket item is what the customer-tickets index finds, so an erasure that fails
half-way leaves everything still needed to find what is left: running it again finishes the job.
The erasure record is written before the first delete and counted up after each step, so a run
that resumes adds to the same record. The record is keyed on a sha256 of the customer id: no item
in the table holds that value, so the record cannot be joined to anything, yet a repeated request
can be answered "nothing left" instead of "unknown customer".

Delivery markers stay (until their TTL): they hold no personal data and stop a platform's
redelivery from recreating what was erased. Quarantined mail is not linked to a customer; its raw
mail expires with the bucket's lifecycle rule.

Beyond the ticket partitions and the customer's own partition, an erasure first stops the running
escalations of each ticket (Step Functions; they end aborted instead of failing on the missing
ticket) and removes the ticket's product-trend complaint items (`COMPLAINTS#<day>`: ticket id, SKU and
day could point back at an order); after the tickets it removes the unmatched calls and chats that
name the customer as a candidate or hold their phone number or address (`UNMATCHED`). CSAT votes,
imported labels, send markers and reply requests live on the ticket's partition and go with it.
What stays holds no personal data: delivery markers (also those of imports: they keep a re-run of
the same import from bringing the customer back), trend-alert state (a SKU and counts) and the
erasure record.
"""

import hashlib
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from supportpilot.escalation import EscalationWorkflow, execution_name
from supportpilot.identity import customer_key, normalise_email
from supportpilot.ids import new_ulid
from supportpilot.models import AuditEntry, CustomerIdentity, Message, Ticket, TimelineEvent, utc_now
from supportpilot.timeline.models import UnmatchedContact


class CustomerNotFound(LookupError):
    """Nothing is held about the customer, and nothing ever was erased for them."""

    def __init__(self) -> None:
        super().__init__("no data is held about this customer")


class TicketRecords(BaseModel):
    """One ticket with everything stored on its partition."""

    ticket: Ticket
    messages: list[Message] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    labels: list[dict[str, Any]] = Field(default_factory=list)  # human-verified labels (sk LABEL#...)
    other_items: list[dict[str, Any]] = Field(default_factory=list)  # any other kind kept on the ticket
    complaints: list[dict[str, Any]] = Field(default_factory=list)  # product-trend items (COMPLAINTS#<day>)


class CustomerExport(BaseModel):
    """Everything held about one customer, as JSON (`model_dump(mode="json")`)."""

    customer_id: str
    identities: list[CustomerIdentity]
    exported_at: datetime = Field(default_factory=utc_now)
    tickets: list[TicketRecords]
    timeline: list[TimelineEvent]
    raw_mail_keys: list[str]
    attachment_keys: list[str]
    contact_points: list[dict[str, Any]] = Field(default_factory=list)  # identity, phone numbers (hashed)
    unmatched_contacts: list[UnmatchedContact] = Field(default_factory=list)  # calls/chats waiting for a person


class CustomerSummary(BaseModel):
    """What an admin sees after looking a customer up by address or handle."""

    customer_id: str
    ticket_ids: list[str]
    timeline_events: int


class ErasureRecord(BaseModel):
    """The trace an erasure leaves: no address, no customer id, no ticket ids."""

    id: str
    subject: str  # sha256 of the customer id
    requested_by: list[str]  # operator ids, one per run
    started_at: datetime
    completed_at: datetime | None = None
    counts: dict[str, int] = Field(default_factory=dict)

    def counted(self, counts: dict[str, int]) -> "ErasureRecord":
        added = dict(self.counts)
        for kind, count in counts.items():
            added[kind] = added.get(kind, 0) + count
        return self.model_copy(update={"counts": added})


class ErasureReport(BaseModel):
    erasure_id: str
    started_at: datetime
    completed_at: datetime
    counts: dict[str, int]
    nothing_left: bool  # the customer had been erased before and nothing was found this time


class CustomerRecords(Protocol):
    def ticket_ids(self, customer_id: str) -> list[str]: ...
    def ticket_records(self, ticket_id: str) -> TicketRecords | None: ...
    def timeline(self, customer_id: str) -> list[TimelineEvent]: ...
    def delete_thread_references(self, ticket_id: str, thread_ids: list[str]) -> int: ...
    def delete_ticket_items(self, ticket_id: str) -> dict[str, int]: ...
    def delete_ticket(self, ticket_id: str) -> None: ...
    def delete_customer_items(self, customer_id: str) -> int: ...
    def erasures(self, subject: str) -> list[ErasureRecord]: ...
    def save_erasure(self, record: ErasureRecord) -> None: ...
    def contact_points(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's partition beyond its timeline events: identity and phone contact points."""
        ...

    def unmatched_contacts(self, customer_id: str) -> list[UnmatchedContact]:
        """Unmatched calls and chats naming the customer as a candidate or holding their number or address."""
        ...

    def delete_unmatched_contacts(self, contact_ids: list[str]) -> int: ...
    def delete_complaints(self, complaints: list[dict[str, Any]]) -> int: ...


class MailObjects(Protocol):
    def delete(self, keys: list[str]) -> int: ...


def customer_id_for(address_or_handle: str) -> str:
    """The customer id of a mail address, or of a handle as the channels write it (`x:<user id>`,
    `meta:<sender id>`, `shopify-order:<order id>`)."""
    address = normalise_email(address_or_handle)
    if address is not None:
        return customer_key("email", address)
    return customer_key("handle", address_or_handle)


def erasure_subject(customer_id: str) -> str:
    return hashlib.sha256(customer_id.encode()).hexdigest()


def raw_mail_keys(messages: list[Message]) -> list[str]:
    return [m.raw_s3_key for m in messages if m.raw_s3_key]


def attachment_keys(messages: list[Message]) -> list[str]:
    return [a.s3_key for m in messages for a in m.attachments if a.s3_key]


def escalation_names(records: TicketRecords) -> list[str]:
    """Every execution name an escalation of the ticket may have had (one per message that needed a
    person, see `execution_name`), and the one recorded on the ticket."""
    ticket = records.ticket
    names = [execution_name(ticket.id), *(execution_name(ticket.id, m.id) for m in records.messages)]
    if ticket.escalation is not None and ticket.escalation.execution_arn:
        names.append(ticket.escalation.execution_arn.rsplit(":", 1)[-1])
    return list(dict.fromkeys(names))


class DataRequestService:
    def __init__(self, records: CustomerRecords, mail_objects: MailObjects, escalations: EscalationWorkflow):
        self._records = records
        self._mail_objects = mail_objects
        self._escalations = escalations

    def find_customer(self, address_or_handle: str) -> CustomerSummary:
        customer_id = customer_id_for(address_or_handle)
        ticket_ids = self._records.ticket_ids(customer_id)
        timeline = self._records.timeline(customer_id)
        if not ticket_ids and not timeline:
            raise CustomerNotFound()
        return CustomerSummary(customer_id=customer_id, ticket_ids=ticket_ids, timeline_events=len(timeline))

    def export(self, customer_id: str) -> CustomerExport:
        tickets = [
            records
            for records in map(self._records.ticket_records, self._records.ticket_ids(customer_id))
            if records is not None
        ]
        timeline = self._records.timeline(customer_id)
        if not tickets and not timeline:
            raise CustomerNotFound()
        messages = [m for records in tickets for m in records.messages]
        return CustomerExport(
            customer_id=customer_id,
            identities=list(dict.fromkeys(records.ticket.customer for records in tickets)),
            tickets=tickets,
            timeline=timeline,
            raw_mail_keys=raw_mail_keys(messages),
            attachment_keys=attachment_keys(messages),
            contact_points=self._records.contact_points(customer_id),
            unmatched_contacts=self._records.unmatched_contacts(customer_id),
        )

    def erase(self, customer_id: str, requested_by: str) -> ErasureReport:
        subject = erasure_subject(customer_id)
        earlier = self._records.erasures(subject)
        unfinished = next((r for r in earlier if r.completed_at is None), None)
        ticket_ids = self._records.ticket_ids(customer_id)
        if not ticket_ids and not self._records.timeline(customer_id) and unfinished is None:
            if earlier:
                return _nothing_left(earlier[-1])
            raise CustomerNotFound()
        record = self._start(unfinished, subject, requested_by)
        for ticket_id in ticket_ids:
            record = self._erase_ticket(ticket_id, record)
        # Before the customer's partition: its phone contact points say which numbers were theirs.
        contacts = [contact.id for contact in self._records.unmatched_contacts(customer_id)]
        record = record.counted({"unmatched_contacts": self._records.delete_unmatched_contacts(contacts)})
        record = record.counted({"timeline_events": self._records.delete_customer_items(customer_id)})
        finished = utc_now()
        record = record.model_copy(update={"completed_at": finished})
        self._records.save_erasure(record)
        return ErasureReport(
            erasure_id=record.id,
            started_at=record.started_at,
            completed_at=finished,
            counts=record.counts,
            nothing_left=False,
        )

    def _start(self, unfinished: ErasureRecord | None, subject: str, requested_by: str) -> ErasureRecord:
        if unfinished is None:
            record = ErasureRecord(id=new_ulid(), subject=subject, requested_by=[requested_by], started_at=utc_now())
        else:
            record = unfinished.model_copy(update={"requested_by": [*unfinished.requested_by, requested_by]})
        self._records.save_erasure(record)
        return record

    def _erase_ticket(self, ticket_id: str, record: ErasureRecord) -> ErasureRecord:
        """One ticket, in an order a re-run can finish; counted once the ticket is gone, so a
        failed attempt's partial work is counted by the run that completes the ticket."""
        records = self._records.ticket_records(ticket_id)
        if records is None:
            return record
        stopped = sum(self._escalations.stop(name) for name in escalation_names(records))
        messages = records.messages
        objects = self._mail_objects.delete([*raw_mail_keys(messages), *attachment_keys(messages)])
        threads = self._records.delete_thread_references(ticket_id, [i for m in messages for i in m.external_ids])
        complaints = self._records.delete_complaints(records.complaints)
        items = self._records.delete_ticket_items(ticket_id)
        self._records.delete_ticket(ticket_id)
        record = record.counted(
            {
                "tickets": 1,
                "mail_objects": objects,
                "thread_references": threads,
                "escalations_stopped": stopped,
                "complaints": complaints,
                **items,
            }
        )
        self._records.save_erasure(record)
        return record


def _nothing_left(last: ErasureRecord) -> ErasureReport:
    """The answer to an erasure of a customer erased before: that erasure, and nothing deleted now."""
    return ErasureReport(
        erasure_id=last.id,
        started_at=last.started_at,
        completed_at=last.completed_at or utc_now(),
        counts={},
        nothing_left=True,
    )

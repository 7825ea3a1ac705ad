"""Ports: what the domain logic needs from the outside world. AWS adapters live in `adapters/`."""

from typing import Protocol

from pydantic import BaseModel, Field

from supportpilot.models import (
    AuditEntry,
    CustomerIdentity,
    Entity,
    Message,
    Ticket,
    TicketStatus,
    TimelineEvent,
    TriageResult,
)


class PhoneContactPoint(Entity):
    """A phone number (E.164) that reaches the customer, as calls are matched by (`timeline/customers.py`)."""

    customer: CustomerIdentity
    phone: str


class DeliveryRecord(Entity):
    """Everything one inbound delivery writes. The store writes it all or nothing."""

    dedupe_key: str
    ticket: Ticket | None = None
    is_new_ticket: bool = False
    message: Message | None = None
    thread_ids: list[str] = Field(default_factory=list)
    timeline_events: list[TimelineEvent] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    phone_contact_points: list[PhoneContactPoint] = Field(default_factory=list)


class QuarantinedMail(Entity):
    ses_message_id: str
    raw_s3_key: str
    reasons: list[str]


class DuplicateDelivery(Exception):
    """The delivery was recorded before; `ticket_id`/`message_id` say what it produced."""

    def __init__(self, ticket_id: str | None, message_id: str | None):
        super().__init__("delivery already recorded")
        self.ticket_id = ticket_id
        self.message_id = message_id


class TicketNotFound(LookupError):
    pass


class TicketChanged(RuntimeError):
    """Another writer changed the ticket's status meanwhile: re-read and decide again (or retry)."""


class StoreUnavailable(RuntimeError):
    """A transient storage failure: the caller should retry (SQS redelivers, then dead-letters)."""


class TicketStore(Protocol):
    def record_delivery(self, record: DeliveryRecord) -> None: ...
    def record_quarantine(self, quarantined: QuarantinedMail) -> None: ...
    def find_ticket_by_thread(self, thread_ids: list[str]) -> Ticket | None: ...
    def get_ticket(self, ticket_id: str) -> Ticket: ...
    def get_message(self, ticket_id: str, message_id: str) -> Message: ...
    def record_triage(self, ticket_id: str, message_id: str, result: TriageResult, audit: AuditEntry) -> Ticket: ...
    def save_ticket_fields(
        self, ticket: Ticket, fields: list[str], audit: AuditEntry | None, expected_status: TicketStatus | None = None
    ) -> None: ...
    def tickets_of_customer(self, customer_id: str) -> list[Ticket]: ...
    def timeline(self, customer_id: str) -> list[TimelineEvent]: ...
    def audit_trail(self, ticket_id: str) -> list[AuditEntry]: ...


class BlobStore(Protocol):
    def read(self, bucket: str, key: str) -> bytes: ...
    def write(self, bucket: str, key: str, content: bytes, content_type: str) -> None: ...


class WorkQueue(Protocol):
    def send(self, work: BaseModel) -> None: ...
    def send_many(self, works: list[BaseModel]) -> None: ...


class SecretSource(Protocol):
    def webhook_secret(self, source: str) -> str | None: ...

"""Ingest stage: turn queued mail and webhook events into tickets, messages and timeline events.

Each delivery is written in one transaction together with a delivery marker keyed on the
channel's stable id (SES message id, platform event id), so a redelivery records nothing twice.
A redelivery whose first attempt stored the ticket but failed before queueing classification is
queued again: nothing is lost between the two steps.
"""

import hashlib
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from supportpilot import desk_metrics
from supportpilot.classify import is_triaged
from supportpilot.envelopes import ClassifyRequest, IngestWork, MailArrived, MailWork
from supportpilot.identity import customer_key, email_customer
from supportpilot.ids import new_ulid
from supportpilot.mail.parse import ParsedMail, parse_mail
from supportpilot.mail.threading import plus_address_ticket, tokens_in_subject
from supportpilot.models import (
    Actor,
    Attachment,
    AuditEntry,
    Channel,
    CustomerIdentity,
    Message,
    Ticket,
    TicketStatus,
    can_transition,
    utc_now,
)
from supportpilot.phone import DEFAULT_COUNTRY_CODE, normalise_phone
from supportpilot.ports import (
    BlobStore,
    DeliveryRecord,
    DuplicateDelivery,
    PhoneContactPoint,
    QuarantinedMail,
    TicketNotFound,
    TicketStore,
    WorkQueue,
)
from supportpilot.webhooks import WebhookEnvelope, get_source
from supportpilot.webhooks.sources import ShopContact

logger = Logger(child=True)

INGEST_ACTOR = Actor(kind="system", id="ingest")
_FAILING_VERDICT = "FAIL"


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one delivery; safe to log (ids and reasons only)."""

    result: str
    ticket_id: str | None = None
    message_id: str | None = None
    reason: str | None = None


class Ingestor:
    def __init__(
        self,
        store: TicketStore,
        blobs: BlobStore,
        classify_queue: WorkQueue,
        support_address: str,
        max_attachment_bytes: int = 25 * 1024 * 1024,
        country_code: str = DEFAULT_COUNTRY_CODE,
    ):
        """`country_code`: given to national phone numbers the shop sends (`phone.normalise_phone`)."""
        self._store = store
        self._blobs = blobs
        self._deliveries = DeliveryCommitter(store, classify_queue)
        self._support_address = support_address
        self._max_attachment_bytes = max_attachment_bytes
        self._country_code = country_code

    def ingest(self, work: IngestWork) -> IngestOutcome:
        if isinstance(work, MailWork):
            return self._ingest_mail(work.mail)
        return self._ingest_webhook(work.webhook)

    # ---------- mail ----------
    def _ingest_mail(self, arrival: MailArrived) -> IngestOutcome:
        verdict_failures = [
            f"{name} verdict {status}"
            for name, status in (("spam", arrival.spam_verdict), ("virus", arrival.virus_verdict))
            if status.upper() == _FAILING_VERDICT
        ]
        if verdict_failures:
            self._store.record_quarantine(
                QuarantinedMail(ses_message_id=arrival.ses_message_id, raw_s3_key=arrival.key, reasons=verdict_failures)
            )
            return IngestOutcome("quarantined", reason="; ".join(verdict_failures))

        parsed = parse_mail(
            self._blobs.read(arrival.bucket, arrival.key), max_attachment_bytes=self._max_attachment_bytes
        )
        if parsed.automated_reason:
            return IngestOutcome("ignored_automated_mail", reason=parsed.automated_reason)

        customer = email_customer(parsed.from_address or "", parsed.from_name) or CustomerIdentity(
            id=customer_key("handle", f"unknown-sender:{arrival.ses_message_id}"),
            kind="handle",
            value=f"unknown-sender:{arrival.ses_message_id}",
        )
        dedupe_key = f"ses:{arrival.ses_message_id}"
        now = utc_now()
        existing = self._thread_target(parsed, arrival.recipients, customer)
        message_id = new_ulid()
        ticket_id = existing.id if existing else new_ulid()
        warnings = list(parsed.warnings)
        if parsed.from_address is None:
            warnings.append("sender address missing or unreadable")
        message = Message(
            id=message_id,
            ticket_id=ticket_id,
            channel=Channel.EMAIL,
            received_at=arrival.received_at,
            subject=parsed.subject,
            body=parsed.text,
            quoted=parsed.quoted,
            signature=parsed.signature,
            attachments=self._store_attachments(parsed, dedupe_key, arrival.bucket),
            external_ids=[parsed.message_id] if parsed.message_id else [],
            raw_s3_key=arrival.key,
            warnings=warnings,
        )
        if existing is None:
            ticket = Ticket(
                id=ticket_id,
                channel=Channel.EMAIL,
                customer=customer,
                subject=parsed.subject,
                created_at=now,
                updated_at=now,
                warnings=warnings,
            )
            audit = [AuditEntry(actor=INGEST_ACTOR, action="ticket_opened", detail={"channel": "email"})]
        else:
            ticket, audit = self._add_to_ticket(existing, message_id)
        record = DeliveryRecord(
            dedupe_key=dedupe_key,
            ticket=ticket,
            is_new_ticket=existing is None,
            message=message,
            thread_ids=message.external_ids,
            audit=audit,
        )
        return self._commit(record, "ticket_opened" if existing is None else "message_threaded")

    def _thread_target(self, parsed: ParsedMail, recipients: list[str], customer: CustomerIdentity) -> Ticket | None:
        """The ticket a reply belongs to. Only a ticket of the same customer qualifies, so a
        guessed token or forged header cannot put words into someone else's conversation."""
        candidates: list[Ticket] = []
        by_header = self._store.find_ticket_by_thread([*parsed.in_reply_to, *reversed(parsed.references)])
        if by_header:
            candidates.append(by_header)
        referenced_ids = [*tokens_in_subject(parsed.subject)]
        plus_id = plus_address_ticket(recipients, self._support_address)
        if plus_id:
            referenced_ids.append(plus_id)
        for ticket_id in referenced_ids:
            try:
                candidates.append(self._store.get_ticket(ticket_id))
            except TicketNotFound:
                continue
        return next((t for t in candidates if t.customer.id == customer.id), None)

    def _add_to_ticket(self, ticket: Ticket, message_id: str) -> tuple[Ticket, list[AuditEntry]]:
        audit = [AuditEntry(actor=INGEST_ACTOR, action="message_added", detail={"message_id": message_id})]
        status = ticket.status
        if status in {TicketStatus.RESOLVED, TicketStatus.CLOSED} and can_transition(
            status, TicketStatus.WAITING_ON_HUMAN
        ):
            status = TicketStatus.WAITING_ON_HUMAN
            audit.append(
                AuditEntry(
                    actor=INGEST_ACTOR,
                    action="ticket_reopened",
                    detail={"from": ticket.status.value, "reason": "the customer replied", "message_id": message_id},
                )
            )
        return ticket.model_copy(update={"status": status, "updated_at": utc_now()}), audit

    def _store_attachments(self, parsed: ParsedMail, dedupe_key: str, bucket: str) -> list[Attachment]:
        prefix = f"attachments/{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}"
        attachments = []
        for index, part in enumerate(parsed.attachments):
            key = None
            warning = None
            if part.content is not None:
                key = f"{prefix}/{index}"
                self._blobs.write(bucket, key, part.content, part.content_type)
            else:
                warning = "too large to extract: kept only in the raw mail"
            attachments.append(
                Attachment(
                    filename=part.filename,
                    content_type=part.content_type,
                    size=part.size,
                    s3_key=key,
                    warning=warning,
                )
            )
        return attachments

    # ---------- webhooks ----------
    def _ingest_webhook(self, envelope: WebhookEnvelope) -> IngestOutcome:
        source = get_source(envelope.source)
        if source is None:
            raise ValueError(f"no webhook source named {envelope.source!r}")
        normalised = source.normalise(envelope)
        record = DeliveryRecord(
            dedupe_key=envelope.dedupe_key,
            timeline_events=normalised.timeline_events,
            phone_contact_points=self._phone_contact_points(normalised.shop_contact),
        )
        if normalised.ticket is not None:
            opening = normalised.ticket
            now = utc_now()
            ticket_id, message_id = new_ulid(), new_ulid()
            channel = Channel(envelope.source)
            record.ticket = Ticket(
                id=ticket_id,
                channel=channel,
                customer=opening.customer,
                subject=opening.subject or opening.title,
                created_at=now,
                updated_at=now,
            )
            record.is_new_ticket = True
            record.message = Message(
                id=message_id,
                ticket_id=ticket_id,
                channel=channel,
                received_at=envelope.received_at,
                subject=opening.subject,
                body=opening.body,
                external_ids=[opening.external_id],
                notice=opening.notice,
            )
            record.timeline_events = [
                event.model_copy(update={"ticket_id": ticket_id}) for event in normalised.timeline_events
            ]
            record.audit = [
                AuditEntry(
                    actor=INGEST_ACTOR,
                    action="ticket_opened",
                    detail={"channel": channel.value, "topic": envelope.topic},
                )
            ]
        return self._commit(record, "ticket_opened" if record.ticket else "timeline_recorded")

    def _phone_contact_points(self, contact: ShopContact | None) -> list[PhoneContactPoint]:
        """The shop's numbers of the customer, so that a later call from one lands on their timeline. A number
        that another customer holds as well becomes ambiguous for calls: a person decides, nobody guesses."""
        if contact is None:
            return []
        phones = (normalise_phone(written, self._country_code) for written in contact.phones)
        return [PhoneContactPoint(customer=contact.customer, phone=phone) for phone in dict.fromkeys(phones) if phone]

    def _commit(self, record: DeliveryRecord, result: str) -> IngestOutcome:
        return self._deliveries.commit(record, result)


class DeliveryCommitter:
    """Writes one delivery (a mail, a webhook event, a logged call) and queues its message for
    classification, so every channel enters the pipeline the same way."""

    def __init__(self, store: TicketStore, classify_queue: WorkQueue):
        self._store = store
        self._classify = classify_queue

    def commit(self, record: DeliveryRecord, result: str) -> IngestOutcome:
        try:
            self._store.record_delivery(record)
        except DuplicateDelivery as duplicate:
            self._requeue_if_unclassified(duplicate)
            return IngestOutcome("duplicate_ignored", duplicate.ticket_id, duplicate.message_id)
        if record.ticket is not None and record.is_new_ticket:
            desk_metrics.record(desk_metrics.TICKETS_CREATED, Channel=record.ticket.channel.value)
        if record.message is not None:
            self._classify.send(ClassifyRequest(ticket_id=record.message.ticket_id, message_id=record.message.id))
        return IngestOutcome(
            result,
            ticket_id=record.ticket.id if record.ticket else None,
            message_id=record.message.id if record.message else None,
        )

    def _requeue_if_unclassified(self, duplicate: DuplicateDelivery) -> None:
        if duplicate.ticket_id is None or duplicate.message_id is None:
            return
        try:
            ticket = self._store.get_ticket(duplicate.ticket_id)
        except TicketNotFound:  # erased on the customer's request since the first delivery
            return
        if not is_triaged(ticket, duplicate.message_id):
            self._classify.send(ClassifyRequest(ticket_id=duplicate.ticket_id, message_id=duplicate.message_id))

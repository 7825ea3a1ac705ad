"""Import of another helpdesk's history onto the customers' timelines, and its training export.

Every record is committed by one transaction behind a delivery marker keyed
`import:<source>:<source ticket id>`, and its ticket and message ids derive from the same key
(`stable_ulid`). Messages and the imported label are written just before that transaction (a ticket
may have more messages than a transaction takes), so a run resumed after a crash completes them. A
record whose marker exists is counted as already imported before anything is written: a second run
leaves what people changed since (a corrected label) and what an erasure removed as it is.
Customers are matched like callers (address, else phone number; a number several customers hold
rejects the row). Imported tickets are history: closed unless the old helpdesk had them open (then
`waiting_on_human` in the `unassigned` queue), never routed or escalated. Their category is an
imported label, not human-verified, until a person confirms it in the label review. Nothing of a
row's content is ever logged or put in an error.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Protocol

from supportpilot.ids import stable_ulid
from supportpilot.models import (
    Actor,
    AuditEntry,
    Channel,
    Message,
    Ticket,
    TicketStatus,
    TimelineEvent,
    TriageResult,
    utc_now,
)
from supportpilot.phone import DEFAULT_COUNTRY_CODE, normalise_phone
from supportpilot.ports import DeliveryRecord, DuplicateDelivery
from supportpilot.timeline.customers import CustomerDirectory, match_customer
from supportpilot.timeline.import_formats import ImportedTicket, Record, Rejected
from supportpilot.timeline.models import (
    MAX_LISTED_REJECTS,
    Checkpoint,
    ImportedLabel,
    ImportMapping,
    ImportSource,
    Reject,
)
from supportpilot.triage import CATEGORIES
from supportpilot.triage.emotion import emotional_load
from supportpilot.triage.frame import own_and_thread, written_language
from supportpilot.triage.interface import HIGH_EMOTIONAL_LOAD

IMPORTED_MODEL = "imported"
CHECKPOINT_EVERY = 100
Progress = Callable[[str], None]


class ImportSink(Protocol):
    def delivery_recorded(self, dedupe_key: str) -> bool: ...
    def record_delivery(self, record: DeliveryRecord) -> None: ...
    def put_messages(self, messages: list[Message]) -> None: ...
    def put_imported_label(self, label: ImportedLabel) -> None: ...


class CheckpointStore(Protocol):
    def load(self) -> Checkpoint | None: ...
    def save(self, checkpoint: Checkpoint) -> None: ...


def _slug(label: str) -> str | None:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    if not slug:
        return None
    return slug if slug[0].isalpha() else f"label_{slug}"


def map_label(labels: list[str], mapping: ImportMapping) -> str | None:
    """The first category or tag the mapping knows (or that is a category of the desk already);
    otherwise the shop's own first label (`unmapped: keep`) or none (`drop`)."""
    lowered = {key.lower(): value for key, value in mapping.categories.items()}
    for label in labels:
        if label in mapping.categories:
            return mapping.categories[label]
        if label.lower() in lowered:
            return lowered[label.lower()]
        if _slug(label) in CATEGORIES:
            return _slug(label)
    if mapping.unmapped == "keep":
        return next((slug for slug in map(_slug, labels) if slug), None)
    return None


def imported_triage(ticket: ImportedTicket, category: str, source: str) -> TriageResult:
    own, thread = own_and_thread(f"{ticket.subject}\n{ticket.messages[0].body}")  # as live triage reads it
    language = written_language(None, own, thread)
    load, cues = emotional_load(own)
    return TriageResult(
        category=category,
        confidence=0.0,  # nobody measured it: an old helpdesk's label, not a model's estimate
        language=language,
        emotional_load=load,
        high_emotional_load=load >= HIGH_EMOTIONAL_LOAD,
        cues=cues,
        needs_human=False,
        reasons=[f"label imported from {source}: not human-verified"],
        model_name=IMPORTED_MODEL,
        model_version=source,
        explanation=f"imported from {source}",
    )


class Importer:
    def __init__(
        self,
        sink: ImportSink,
        directory: CustomerDirectory,
        source: ImportSource,
        mapping: ImportMapping,
        actor: Actor,
        country_code: str = DEFAULT_COUNTRY_CODE,
        progress: Progress | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._sink = sink
        self._directory = directory
        self._source = source
        self._mapping = mapping
        self._actor = actor
        self._country_code = country_code
        self._progress = progress or (lambda _message: None)
        self._every = checkpoint_every
        self._clock = clock

    def run(
        self,
        records: Iterable[Record],
        checkpoints: CheckpointStore,
        resume: bool,
        out_of_time: Callable[[], bool] = lambda: False,
    ) -> Checkpoint:
        """Import every record after the checkpoint (with `resume`) or from the start. Stops early,
        unfinished, when `out_of_time()` says so; a format error propagates after saving the checkpoint."""
        checkpoint = (checkpoints.load() if resume else None) or Checkpoint()
        if checkpoint.finished:
            return checkpoint
        unsaved = 0
        try:
            for line, item in records:
                if line <= checkpoint.last_line:
                    continue
                if out_of_time():
                    return checkpoint
                if isinstance(item, Rejected):
                    self._reject(checkpoint, line, item.reason)
                else:
                    self._import(checkpoint, line, item)
                checkpoint.last_line = line
                unsaved += 1
                if unsaved >= self._every:
                    checkpoints.save(checkpoint)
                    unsaved = 0
                    self._progress(_counts(checkpoint))
            checkpoint.finished = True
        finally:
            checkpoints.save(checkpoint)
        self._progress(_counts(checkpoint))
        return checkpoint

    def _reject(self, checkpoint: Checkpoint, line: int, reason: str) -> None:
        checkpoint.rejected += 1
        if len(checkpoint.rejects) < MAX_LISTED_REJECTS:
            checkpoint.rejects.append(Reject(line=line, reason=reason))
        self._progress(f"line {line}: skipped: {reason}")

    def _import(self, checkpoint: Checkpoint, line: int, imported: ImportedTicket) -> None:
        key = f"import:{self._source}:{imported.source_id}"
        # Checked before anything is written: a re-run must not rewrite what a person corrected since,
        # nor bring back the messages, label or identity of a customer erased since.
        if self._sink.delivery_recorded(key):
            checkpoint.duplicates += 1
            return None
        phone = normalise_phone(imported.phone, self._country_code) if imported.phone else None
        if imported.phone and phone is None and not imported.email:
            return self._reject(checkpoint, line, "phone: not a phone number")
        match = match_customer(self._directory, email=imported.email, phone=phone, display_name=imported.name)
        if match.ambiguous:
            return self._reject(checkpoint, line, "phone: the number belongs to more than one customer")
        if match.customer is None:
            column = "email: not a mail address" if imported.email else "email and phone: both empty"
            return self._reject(checkpoint, line, column)
        ticket_id = stable_ulid(_ms(imported.created_at), key)
        messages = [
            Message(
                id=stable_ulid(_ms(message.created_at), f"{key}:{index}"),
                ticket_id=ticket_id,
                direction=message.direction,
                channel=Channel.IMPORT,
                received_at=message.created_at,
                subject=imported.subject if index == 0 else "",
                body=message.body,
                external_ids=[f"{self._source}:{imported.source_id}"] if index == 0 else [],
            )
            for index, message in enumerate(imported.messages)
        ]
        category = map_label(imported.labels, self._mapping)
        triage = imported_triage(imported, category, self._source) if category else None
        ticket = Ticket(
            id=ticket_id,
            channel=Channel.IMPORT,
            customer=match.customer,
            subject=imported.subject,
            status=TicketStatus.WAITING_ON_HUMAN if imported.open else TicketStatus.CLOSED,
            language=triage.language if triage else None,
            created_at=imported.created_at,
            updated_at=max(m.received_at for m in messages),
            triage=triage,
            triaged_message_id=messages[0].id if triage else None,
        )
        event = TimelineEvent(
            customer_id=match.customer.id,
            id=ticket_id,
            kind="imported_ticket",
            source=Channel.IMPORT,
            occurred_at=imported.created_at,
            reference=f"{self._source}:{imported.source_id}",
            details={
                "summary": f"{self._source.capitalize()} ticket {imported.source_id} imported "
                f"({len(messages)} messages)",
                "subject": imported.subject,
                "status": "open" if imported.open else "closed",
                "category": category,
                "label_origin": "imported",
                "label_verified": False,
                "source_labels": imported.labels,
            },
            ticket_id=ticket_id,
        )
        audit = AuditEntry(
            at=self._clock(),
            actor=self._actor,
            action="ticket_imported",
            detail={"source": self._source, "source_ticket_id": imported.source_id, "line": line},
        )
        self._sink.put_messages(messages)
        if category:
            label = ImportedLabel(
                ticket_id=ticket_id, category=category, source=self._source, source_labels=imported.labels
            )
            self._sink.put_imported_label(label)
        record = DeliveryRecord(
            dedupe_key=key, ticket=ticket, is_new_ticket=True, timeline_events=[event], audit=[audit]
        )
        try:
            self._sink.record_delivery(record)
        except DuplicateDelivery:
            checkpoint.duplicates += 1
            return None
        checkpoint.imported += 1
        return None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _counts(checkpoint: Checkpoint) -> str:
    return (
        f"line {checkpoint.last_line}: {checkpoint.imported} imported, {checkpoint.duplicates} already imported, "
        f"{checkpoint.rejected} skipped"
    )


def training_rows(records: Iterable[Record], mapping: ImportMapping) -> Iterator[tuple[int, dict[str, str] | Rejected]]:
    """`text`, `label` and `language` per labelled record, the columns `supportpilot train` reads."""
    for line, item in records:
        if isinstance(item, Rejected):
            yield line, item
            continue
        label = map_label(item.labels, mapping)
        if label is None:
            yield line, Rejected("no category or tag to learn from")
            continue
        opening = next((m for m in item.messages if m.direction == "inbound"), item.messages[0])
        text = f"{item.subject}\n{opening.body}".strip()
        yield line, {"text": text, "label": label, "language": written_language(None, *own_and_thread(text))}

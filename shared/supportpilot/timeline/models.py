"""The shapes of the customer timeline's boundaries: logged calls, unmatched contacts, imports.

The operator API returns these as JSON; the console renders timeline events generically from their
`kind`, `occurred_at` and `details` (readable keys, `details.summary` a one-line description).
"""

import re
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from supportpilot.models import CustomerIdentity, TimelineEvent, utc_now

CUSTOMER_ID_PATTERN = r"^C[0-9a-f]{24}$"
CallOutcome = Literal["resolved", "unresolved", "callback_promised", "no_answer", "voicemail"]
ImportSource = Literal["zendesk", "freshdesk", "csv"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallLogBody(_Body):
    """A phone call an operator logs. Name the customer by `customer_id`, `email` or `phone`; a phone
    number given with an id or address is remembered for that customer."""

    customer_id: str | None = Field(default=None, pattern=CUSTOMER_ID_PATTERN)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    phone: str | None = Field(default=None, min_length=3, max_length=40, description="any writing; stored as E.164")
    direction: Literal["inbound", "outbound"]
    started_at: AwareDatetime
    duration_seconds: int = Field(ge=0, le=86_400)
    summary: str = Field(min_length=1, max_length=5_000, description="what was said, in a few sentences")
    outcome: CallOutcome
    follow_up: bool = Field(default=False, description="true: a ticket is opened for the follow-up")

    @model_validator(mode="after")
    def names_a_customer(self) -> "CallLogBody":
        if self.customer_id is None and self.email is None and self.phone is None:
            raise ValueError("give customer_id, email or phone")
        return self


class AttachContactBody(_Body):
    customer_id: str = Field(pattern=CUSTOMER_ID_PATTERN)


class ContactTriage(BaseModel):
    category: str
    language: str
    emotional_load: float
    high_emotional_load: bool
    needs_human: bool
    reasons: list[str] = Field(default_factory=list)


class UnmatchedContact(BaseModel):
    """A call or chat whose number or address several customers hold: a person decides who it was."""

    id: str
    source: Literal["operator", "connect"]
    channel: Literal["phone", "chat"]
    phone: str | None = None
    email: str | None = None
    candidates: list[str]
    direction: str
    occurred_at: datetime
    duration_seconds: int | None = None
    summary: str = ""
    outcome: str | None = None
    follow_up: bool = False
    triage: ContactTriage | None = None
    logged_by: str | None = None
    reference: str | None = None  # the Connect contact id
    event_type: str | None = None  # the Connect event (INITIATED, CONNECTED_TO_AGENT, DISCONNECTED)
    recorded_at: datetime = Field(default_factory=utc_now)


class LoggedCall(BaseModel):
    """What logging a call did. `matched` false: it waits in the unmatched list for a person."""

    call_id: str
    matched: bool
    customer_id: str | None = None
    ticket_id: str | None = Field(default=None, description="the follow-up ticket, when one was opened")
    triage: ContactTriage | None = Field(default=None, description="of the summary; none for Connect contacts")
    timeline_event: TimelineEvent | None = None
    unmatched_reason: str | None = None


class CustomerTimeline(BaseModel):
    customer: CustomerIdentity
    events: list[TimelineEvent] = Field(description="oldest first: calls, chats, orders, imported tickets")
    ticket_ids: list[str]


class ImportedLabel(BaseModel):
    """A category that came with imported history: not human-verified until a person confirms it."""

    ticket_id: str
    category: str
    source: ImportSource
    source_labels: list[str]
    origin: Literal["imported"] = "imported"
    verified: bool = False
    imported_at: datetime = Field(default_factory=utc_now)


class ImportMapping(BaseModel):
    """Old helpdesk categories and tags -> categories of the desk. `unmapped`: keep the shop's own
    label (first category or tag, as a slug) or drop it."""

    model_config = ConfigDict(extra="forbid")

    categories: dict[str, str] = Field(default_factory=dict)
    unmapped: Literal["keep", "drop"] = "keep"

    @model_validator(mode="after")
    def targets_are_labels(self) -> "ImportMapping":
        for source, target in self.categories.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", target):
                raise ValueError(f"categories.{source}: {target!r} is no label (lower case, digits, _)")
        return self


class ImportUploadBody(_Body):
    source: ImportSource
    file_name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    mapping: ImportMapping | None = None


class ImportJob(BaseModel):
    id: str
    source: ImportSource
    bucket: str
    key: str
    mapping: ImportMapping = Field(default_factory=ImportMapping)
    requested_by: str
    requested_at: datetime = Field(default_factory=utc_now)


class ImportUpload(BaseModel):
    import_id: str
    upload_url: str = Field(description="PUT the export file here (HTTP PUT, within expires_in seconds)")
    key: str
    expires_in: int


class Reject(BaseModel):
    line: int
    reason: str


MAX_LISTED_REJECTS = 1_000


class Checkpoint(BaseModel):
    """How far an import got: every record up to `last_line` is committed (or rejected)."""

    last_line: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects: list[Reject] = Field(default_factory=list, description=f"the first {MAX_LISTED_REJECTS}")
    finished: bool = False
    error: str | None = Field(default=None, description="why the file could not be read (file, line, column)")


class ImportStatus(BaseModel):
    job: ImportJob
    progress: Checkpoint | None = Field(description="null until the import function picked the file up")

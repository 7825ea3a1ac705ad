"""The operator API's boundary: who calls (operator and roles), request bodies and responses."""

from datetime import datetime
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from supportpilot.models import (
    AuditEntry,
    EscalationState,
    Message,
    RoutingDecision,
    SuggestedAction,
    TeamQueue,
    Ticket,
    TicketStatus,
    TimelineEvent,
)

SlaState = Literal["ok", "breached", "claimed"]


class Role(IntEnum):
    """Each role may do what the roles below it may."""

    AGENT = 1
    SUPERVISOR = 2
    ADMIN = 3


class NotPermitted(Exception):
    """The operator's role does not allow this."""


class Operator(BaseModel):
    """The caller, from the Cognito authorizer's claims. `id` is the user's `sub`: no name, no address."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    roles: frozenset[Role]

    def may(self, role: Role) -> bool:
        return any(held >= role for held in self.roles)

    def require(self, role: Role) -> None:
        if not self.may(role):
            raise NotPermitted(f"this needs the {role.name.lower()} role")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyBody(_Body):
    text: str = Field(min_length=1, max_length=20_000, description="the reply to the customer, plain text")
    close: bool = Field(
        default=False, description="close the ticket with this reply; only a closing reply asks for a rating"
    )


class ReplyRequest(BaseModel):
    """One reply an operator asked for, keyed on their idempotency key: a repeat of the request (a
    double click, a client's retry) finds it and queues nothing new. Holds no reply text, only its hash."""

    key: str  # sha256 of the operator id and their key (or of the derived key)
    request_id: str  # the NotifyRequest's request id: notify mails it at most once
    operator_id: str
    text_sha256: str
    status: TicketStatus  # the ticket's status once the reply was accepted (closed: a closing reply)
    queued: bool = False
    at: datetime


class NoteBody(_Body):
    text: str = Field(min_length=1, max_length=20_000, description="an internal note, never sent to the customer")


class SendCheckBody(_Body):
    customer_got_it: bool = Field(
        description="what the operator found out about a mail whose delivery is unknown (asked the customer, looked"
        " in the mail provider): true, the customer received it; false, they did not, and the operator replies"
        " themselves, because the desk never sends that mail again"
    )


class SendCheck(BaseModel):
    """An operator's answer for one unconfirmed send (a reply whose attempt stopped between SES and the
    ticket write): one per request, so a repeat or a second operator finds it and records nothing new."""

    request_id: str  # the NotifyRequest's request id
    customer_got_it: bool
    operator_id: str
    at: datetime


class SuggestionDecisionBody(_Body):
    decision: Literal["approved", "rejected"]
    comment: str | None = Field(default=None, max_length=2_000)


class LabelCorrectionBody(_Body):
    """A human-verified label; give at least one of category and high_emotional_load."""

    category: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    high_emotional_load: bool | None = None
    message_id: str | None = Field(default=None, description="the message labelled (default: the triaged one)")

    @model_validator(mode="after")
    def names_a_label(self) -> "LabelCorrectionBody":
        if self.category is None and self.high_emotional_load is None:
            raise ValueError("give category or high_emotional_load")
        return self


class ReassignBody(_Body):
    queue: TeamQueue


class CustomerLookupBody(_Body):
    """In the body, not the URL, so the address stays out of access logs."""

    address: str = Field(min_length=1, max_length=320, description="a mail address, or a handle such as `x:<user id>`")


class TicketFilter(BaseModel):
    queue: str | None = None
    status: TicketStatus | None = None
    priority: Literal["P1", "P2", "P3"] | None = None
    sla_state: SlaState | None = None
    language: str | None = None


class TicketSummary(BaseModel):
    id: str
    subject: str
    channel: str
    status: TicketStatus
    queue: str
    priority: str | None
    language: str | None
    category: str | None
    high_emotional_load: bool
    automation_level: str | None
    sla_state: SlaState
    sla_due_at: datetime | None
    claimed_by: str | None
    created_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    tickets: list[TicketSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


LabelSource = Literal["correction", "confirmation"]
# verified: training data; review: flagged by the quality check, waiting for a supervisor; dropped: never trained on
LabelStatus = Literal["verified", "review", "dropped"]


class LabelFlag(BaseModel):
    """Why the quality check thinks a verified label is wrong (confident learning on out-of-fold predictions)."""

    given: str
    suggested: str
    confidence: float = Field(ge=0, le=1, description="out-of-fold probability of the suggested category")
    flagged_at: datetime
    run_id: str


class HumanLabel(BaseModel):
    """A label an operator verified; with a category it is a training example for the triage model.

    `text` is the labelled message with personal data masked (`learning.masking`); it goes with the
    ticket when the customer is erased."""

    id: str
    ticket_id: str
    message_id: str | None = None  # DynamoDB stores no nulls: a default reads it back
    category: str | None = None
    high_emotional_load: bool | None = None
    operator_id: str
    at: datetime
    source: LabelSource = "correction"
    model_category: str | None = Field(default=None, description="what the model said when the label was given")
    language: str | None = None
    text: str | None = None
    status: LabelStatus = "verified"
    flag: LabelFlag | None = None
    reviewed_by: str | None = None


class TicketDetail(BaseModel):
    """Everything the desk knows about a ticket, on one screen. Texts are data: the console shows them as text."""

    ticket: Ticket
    sla_state: SlaState
    routing: RoutingDecision | None
    suggested_action: SuggestedAction | None
    empathy_hint: str | None
    escalation: EscalationState | None
    messages: list[Message]
    labels: list[HumanLabel]
    audit: list[AuditEntry]
    # Mails whose attempt stopped between SES and the ticket write, until a person has checked whether the
    # customer got each. `ticket.customer_notified` says how the latest mail went, so it cannot carry these.
    unconfirmed_sends: list[AuditEntry] = Field(default_factory=list)
    timeline: list[TimelineEvent]


class ActionResult(BaseModel):
    ticket_id: str
    status: TicketStatus
    detail: dict[str, Any] = Field(default_factory=dict)


class RoutingPolicyView(BaseModel):
    overridden: bool = Field(description="false: the packaged default policy is in force")
    policy: dict[str, Any]

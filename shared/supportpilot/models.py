"""Domain entities of the desk: tickets, their messages and audit trail, customer timelines.

These are the shapes the domain logic works with. Stored items (DynamoDB) and queue messages have
their own models in `supportpilot.adapters` and `supportpilot.envelopes`; mapping is explicit.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


class Entity(BaseModel):
    """Base of the entities below. A schema is built when its model is first used, not at import: a function
    uses a few of these models, and building all of them took most of this module's import time."""

    model_config = ConfigDict(defer_build=True)


class Channel(StrEnum):
    EMAIL = "email"
    FORM = "form"
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    STRIPE = "stripe"
    X = "x"
    META = "meta"
    PHONE = "phone"  # calls logged by an operator or recorded from Amazon Connect
    CHAT = "chat"  # chats recorded from Amazon Connect
    IMPORT = "import"  # history imported from another helpdesk


class TicketStatus(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    ROUTED = "routed"
    WAITING_ON_HUMAN = "waiting_on_human"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.TRIAGED, TicketStatus.ROUTED, TicketStatus.WAITING_ON_HUMAN})

# The lifecycle runs new -> triaged -> routed -> waiting_on_human -> resolved -> closed. A person
# can take a ticket over at any open step, close it early, and reopen a resolved or closed one.
ALLOWED_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset({TicketStatus.TRIAGED, TicketStatus.WAITING_ON_HUMAN, TicketStatus.CLOSED}),
    TicketStatus.TRIAGED: frozenset(
        {TicketStatus.ROUTED, TicketStatus.WAITING_ON_HUMAN, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.ROUTED: frozenset({TicketStatus.WAITING_ON_HUMAN, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.WAITING_ON_HUMAN: frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.WAITING_ON_HUMAN}),
    TicketStatus.CLOSED: frozenset({TicketStatus.WAITING_ON_HUMAN}),
}


def can_transition(current: TicketStatus, target: TicketStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


class Actor(Entity):
    """Who did something: a model (name and version), a component of the desk, or an operator."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["model", "system", "operator", "customer"]
    id: str
    version: str | None = None


class AuditEntry(Entity):
    at: datetime = Field(default_factory=utc_now)
    actor: Actor
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


class CustomerIdentity(Entity):
    """How the customer reached us. `id` is a pseudonymous key derived from kind and value."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Literal["email", "handle"]
    value: str
    display_name: str | None = None


class CustomerMatch(Entity):
    """Who a phone number or address belongs to. `ambiguous`: more than one customer holds it, so
    nothing may be attached to any of them until a person decides (`candidates` are their ids)."""

    customer: CustomerIdentity | None = None
    ambiguous: bool = False
    candidates: list[str] = Field(default_factory=list)


class Attachment(Entity):
    filename: str
    content_type: str
    size: int
    s3_key: str | None = None
    warning: str | None = None


class PlatformNotice(Entity):
    """What a message is when the desk wrote it from a platform's event (a payment dispute, a failed refund): the
    event, and the category it belongs to. Nobody wrote it to the desk, so it is neither triaged as a customer's
    words nor acknowledged to them."""

    model_config = ConfigDict(frozen=True)

    event: str
    category: str


class Message(Entity):
    id: str
    ticket_id: str
    direction: Literal["inbound", "outbound", "internal"] = "inbound"
    channel: Channel
    received_at: datetime
    subject: str = ""
    body: str = ""
    quoted: str = ""
    signature: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    external_ids: list[str] = Field(default_factory=list)
    raw_s3_key: str | None = None
    warnings: list[str] = Field(default_factory=list)
    notice: PlatformNotice | None = None  # set when the desk wrote this message from a platform's event


class TriageResult(Entity):
    category: str
    confidence: float = Field(ge=0, le=1)
    language: str
    emotional_load: float = Field(ge=0, le=1)
    high_emotional_load: bool
    cues: list[str] = Field(default_factory=list)
    needs_human: bool
    reasons: list[str] = Field(default_factory=list)
    model_name: str
    model_version: str
    explanation: str = ""
    corrected_from: str | None = None  # the model's category when an operator corrected it


UNDETERMINED_LANGUAGE = "und"  # ISO 639-2 "undetermined": too few words to tell ("Ok", an order number)


def conversation_language(current: str | None, message_language: str) -> str:
    """A ticket's language after a message: the message's, unless it could not be told; then the conversation keeps
    the language it had, so that its mails do not switch to English after a reply of only an order number."""
    return current if message_language == UNDETERMINED_LANGUAGE and current else message_language


class Ticket(Entity):
    id: str
    channel: Channel
    customer: CustomerIdentity
    subject: str = ""
    status: TicketStatus = TicketStatus.NEW
    language: str | None = None
    created_at: datetime
    updated_at: datetime
    queue: str = "unassigned"
    priority: str | None = None
    triage: TriageResult | None = None
    triaged_message_id: str | None = None
    profile: "CustomerProfile | None" = None
    routing: "RoutingDecision | None" = None
    escalation: "EscalationState | None" = None
    acknowledged_at: datetime | None = None
    customer_notified: bool | None = None
    customer_notified_reason: str | None = None
    customer_notified_request: str | None = None  # the notify request whose mail `customer_notified` describes
    warnings: list[str] = Field(default_factory=list)
    first_response_at: datetime | None = None  # first reply to the customer (automated or a person's)
    closed_at: datetime | None = None
    closed_by: str | None = None  # operator id
    csat: "CsatVote | None" = None


class TimelineEvent(Entity):
    """Something that happened to a customer outside a conversation: an order, a refund, a dispute."""

    customer_id: str
    id: str
    kind: str
    source: Channel
    occurred_at: datetime
    reference: str | None = None
    amount: str | None = None
    currency: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    ticket_id: str | None = None


class OrderLine(Entity):
    title: str
    sku: str | None = None
    quantity: int = 1
    price: str | None = None


class OrderSummary(Entity):
    """One order as the desk knows it, from the stored timeline or a live platform lookup."""

    reference: str
    source: Channel
    placed_at: datetime | None = None
    financial_status: str | None = None
    delivery_status: str | None = None  # unfulfilled, in_transit, delivered, cancelled, returned...
    delivered_at: datetime | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    total: str | None = None
    currency: str | None = None
    lines: list[OrderLine] = Field(default_factory=list)


class PastContact(Entity):
    ticket_id: str
    opened_at: datetime
    category: str | None = None
    status: TicketStatus


class CustomerProfile(Entity):
    """What the desk knows about who is writing. Never holds gender, age or name."""

    customer_id: str
    contacts_last_7_days: int = 0
    contacts_last_30_days: int = 0
    past_contacts: list[PastContact] = Field(default_factory=list)
    open_ticket_ids: list[str] = Field(default_factory=list)
    orders: list[OrderSummary] = Field(default_factory=list)  # newest first
    order_count: int = 0
    lifetime_value: str = "0"
    currency: str | None = None
    vip: bool = False
    vip_reasons: list[str] = Field(default_factory=list)
    order_data_available: bool = True
    order_data_source: str = "timeline"
    notes: list[str] = Field(default_factory=list)


AutomationLevel = Literal["auto_reply", "suggest", "human_now"]
TeamQueue = Literal["billing", "returns", "technical_support", "privacy", "general"]
Priority = Literal["P1", "P2", "P3"]


class SuggestedAction(Entity):
    """A prepared step a person approves or rejects with one click."""

    kind: Literal["approve_return", "handoff_technical_support", "offer_coupon", "correct_double_charge"]
    summary: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    status: Literal["proposed", "approved", "rejected"] = "proposed"


class RoutingDecision(Entity):
    queue: TeamQueue
    priority: Priority
    automation_level: AutomationLevel
    reasons: list[str]
    context_summary: str
    empathy_hint: str | None = None
    suggested_action: SuggestedAction | None = None
    auto_reply_template: str | None = None
    policy_version: str
    decided_at: datetime = Field(default_factory=utc_now)
    message_id: str | None = None  # the message this decision answered


class EscalationState(Entity):
    state: Literal["waiting", "claimed", "breached", "closed"]
    tier: int = 0
    execution_arn: str | None = None
    sla_due_at: datetime | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    breached_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utc_now)


class CsatVote(Entity):
    """The customer's satisfaction rating of a ticket (1-5), given once through a signed link."""

    rating: int = Field(ge=1, le=5)
    at: datetime

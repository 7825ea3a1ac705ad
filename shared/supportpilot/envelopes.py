"""Messages that travel on the queues between stages."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from supportpilot.ids import new_ulid


class Envelope(BaseModel):
    """Base of the queue messages. A schema is built when its model is first used, not at import: a stage reads
    one kind of message and sends another, and building all of them cost each stage's cold start ~15 ms."""

    model_config = ConfigDict(defer_build=True)


class MailArrived(Envelope):
    """SES stored a raw mail in S3 and handed us its receipt."""

    ses_message_id: str
    bucket: str
    key: str
    recipients: list[str] = Field(default_factory=list)
    spam_verdict: str = "PASS"
    virus_verdict: str = "PASS"
    received_at: datetime


class MailWork(Envelope):
    kind: Literal["mail"] = "mail"
    mail: MailArrived


class WebhookEnvelope(Envelope):
    """A verified webhook as it goes on the queue (`supportpilot.webhooks` makes and reads it)."""

    source: Literal["form", "shopify", "woocommerce", "stripe", "x", "meta"]
    topic: str
    dedupe_key: str
    received_at: AwareDatetime
    payload: dict[str, Any]


class WebhookWork(Envelope):
    kind: Literal["webhook"] = "webhook"
    webhook: WebhookEnvelope


IngestWork = Annotated[MailWork | WebhookWork, Field(discriminator="kind")]


class ClassifyRequest(Envelope):
    ticket_id: str
    message_id: str


class EnrichRequest(ClassifyRequest):
    pass


class RouteRequest(ClassifyRequest):
    pass


NotifyKind = Literal["acknowledgement", "auto_reply", "team_alert", "operator_reply"]


class NotifyRequest(Envelope):
    """Something to tell the customer or the team about a ticket."""

    kind: NotifyKind
    ticket_id: str
    message_id: str | None = None
    template: str | None = None
    text: str | None = None
    operator_id: str | None = None  # who wrote an operator_reply
    closes_ticket: bool = False  # an operator_reply that closes the ticket: it asks for a rating
    # The request's idempotency key: fixed when the request is made and carried through every SQS
    # redelivery, so the notify stage mails the customer at most once per request id.
    request_id: str = Field(default_factory=new_ulid, pattern=r"^[0-9A-Za-z]{1,64}$")

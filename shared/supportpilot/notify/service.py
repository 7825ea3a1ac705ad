"""Notify stage: mail the customer about their ticket, or alert the team, and record what happened.

An acknowledgement is claimed on the ticket before it is sent, so a redelivered request never mails a
customer twice; a failed send releases the claim, marks the ticket "customer not notified" for the
operators and raises, so SQS retries and finally dead-letters the request.

Replies (automated and operator) are sent at most once per request id: a "sending" marker is written
conditionally before SES is called and turns "sent" in the transaction that records the message. A
redelivery that finds "sent" does nothing; one that finds "sending" cannot know whether SES took the
mail (the earlier attempt stopped between SES and the ticket write), so it does not send again: it
marks the ticket "customer not notified" with that reason, for a person to check and reply.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from supportpilot import csat, desk_metrics
from supportpilot.envelopes import NotifyRequest
from supportpilot.ids import new_ulid
from supportpilot.models import Actor, AuditEntry, Channel, Message, Ticket, utc_now
from supportpilot.notify import templates
from supportpilot.notify.compose import OutboundMail, compose_mail, reply_subject

NOTIFY_ACTOR = Actor(kind="system", id="notify")
NO_MAIL_ADDRESS = "not notified: channel has no mail address"
ANSWER_KINDS = frozenset({"auto_reply", "operator_reply"})  # acknowledgements are no response
DEFAULT_DESK_URL = "https://desk.supportpilot.invalid"  # placeholder until the operator console exists
SEND_STATUS_UNKNOWN = (
    "not notified: an earlier attempt stopped after handing this mail to SES; check whether the customer got it"
)
SEND_UNKNOWN_ACTION = "customer_notification_unknown"
SEND_CHECKED_ACTION = "customer_notification_checked"  # an operator found out whether the customer got it
SEND_NOT_RECEIVED = "not notified: an operator checked and the customer did not get this mail; a person replies"
NOTIFIED_ACTION = "customer_notified"
NOT_NOTIFIED_ACTION = "customer_not_notified"
MAIL_OUTCOME_ACTIONS = frozenset({NOTIFIED_ACTION, NOT_NOTIFIED_ACTION, SEND_UNKNOWN_ACTION})


class NotificationFailed(RuntimeError):
    """A channel did not take the notification; the caller retries. Messages carry no personal data."""


class MailSender(Protocol):
    def send_raw(self, raw: bytes) -> str:
        """Sends one raw MIME mail; returns the provider's message id or raises NotificationFailed."""
        ...


class TeamChannel(Protocol):
    name: str  # one per kind of channel ("sns", "slack", "teams"): what a retry skips when it took the alert

    def publish(self, text: str) -> None:
        """Posts one alert; raises NotificationFailed when the channel does not take it."""
        ...


def publish_alert(
    channels: Sequence[TeamChannel],
    text: str,
    audience: str = "team",
    on_posted: Callable[[str], None] = lambda _: None,
) -> None:
    """Posts `text` to every channel, calling `on_posted(name)` after each post that went through, then raises
    NotificationFailed naming the channels that failed, if any did."""
    failures: list[str] = []
    for channel in channels:
        try:
            channel.publish(text)
        except NotificationFailed as exc:
            failures.append(str(exc))
            continue
        on_posted(channel.name)
    if failures:
        raise NotificationFailed(f"{len(failures)} of {len(channels)} {audience} channels failed: {failures}")


class SendMarker(BaseModel):
    """One reply request's progress: `sending` from before SES is called until the message is recorded."""

    request_id: str
    state: Literal["sending", "sent"]
    message_id: str  # the outbound message this request sends
    claimed_at: datetime


class NotifyStore(Protocol):
    def get_ticket(self, ticket_id: str) -> Ticket: ...
    def messages(self, ticket_id: str) -> list[Message]: ...
    def claim_acknowledgement(self, ticket_id: str, at: datetime) -> bool: ...
    def release_acknowledgement(
        self, ticket_id: str, request_id: str, at: datetime, reason: str, audit: AuditEntry
    ) -> None: ...
    def claim_send(self, ticket_id: str, marker: SendMarker) -> SendMarker | None:
        """Writes the `sending` marker unless the request has one; returns the existing marker then."""
        ...

    def release_send(self, ticket_id: str, marker: SendMarker, reason: str, audit: AuditEntry) -> None:
        """SES refused: removes our marker (a retry may send) and marks the ticket not notified."""
        ...

    def record_send_unknown(self, ticket_id: str, request_id: str, reason: str, audit: AuditEntry) -> bool:
        """Marks the ticket not notified while the marker still says `sending`; False when it says `sent`."""
        ...

    def record_not_notified(self, ticket_id: str, request_id: str, reason: str, audit: AuditEntry) -> None: ...
    def record_sent(
        self,
        message: Message,
        request_id: str,
        audit: AuditEntry,
        first_response: bool = False,
        sent: SendMarker | None = None,
    ) -> None:
        """`first_response`: the message answers the customer, so it may be the ticket's first response;
        `sent`: the request's marker, which turns `sent` in the same transaction.

        Every write of `customer_notified` (here and in the release/unknown/not-notified methods) also
        records `request_id` as `customer_notified_request`: which mail the flag describes, so that an
        operator's check of an older mail cannot overwrite the flag a newer mail set meanwhile."""
        ...

    def record_audit(self, ticket_id: str, audit: AuditEntry) -> None: ...
    def team_alert_posts(self, ticket_id: str, request_id: str) -> set[str]:
        """The team channels that took this alert request already."""
        ...

    def record_team_alert_post(self, ticket_id: str, request_id: str, channel: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class NotifyOutcome:
    """What one request did; safe to log (ids and fixed reasons only)."""

    result: str  # sent, already_acknowledged, already_sent, send_unknown, not_notified, team_alerted, already_alerted
    ticket_id: str
    message_id: str | None = None
    reason: str | None = None


def team_alert_text(ticket: Ticket, desk_url: str) -> str:
    """Ids, queue, priority, automation level and reasons only: never the customer, subject or message."""
    routing = ticket.routing
    reasons = routing.reasons if routing else (ticket.triage.reasons if ticket.triage else [])
    return "\n".join(
        [
            f"SupportPilot: ticket {ticket.id} needs attention",
            f"Queue: {routing.queue if routing else ticket.queue}"
            f" | Priority: {routing.priority if routing else ticket.priority or 'not set'}"
            f" | Automation: {routing.automation_level if routing else 'not routed yet'}",
            f"Reasons: {'; '.join(reasons) or 'none given'}",
            f"Open: {desk_url.rstrip('/')}/tickets/{ticket.id}",
        ]
    )


def answered_message(conversation: list[Message], message_id: str | None) -> Message | None:
    """The message a reply answers: the requested one, else the customer's newest."""
    inbound = [m for m in conversation if m.direction == "inbound"]
    requested = next((m for m in conversation if m.id == message_id), None)
    return requested or (max(inbound, key=lambda m: m.id) if inbound else None)


def mail_id(message: Message | None) -> str | None:
    """The Message-ID of a mail message; other channels' external ids are no Message-IDs."""
    if message is None or message.channel != Channel.EMAIL or not message.external_ids:
        return None
    return message.external_ids[0]


def mail_ids_before(conversation: list[Message], answered: Message | None) -> tuple[str, ...]:
    """Message-IDs of the mail conversation up to the answered message, oldest first."""
    if answered is None:
        return ()
    earlier = sorted(
        (m for m in conversation if m.channel == Channel.EMAIL and m.id <= answered.id), key=lambda m: m.id
    )
    return tuple(external_id for m in earlier for external_id in m.external_ids)


def unconfirmed_sends(audit: list[AuditEntry]) -> list[AuditEntry]:
    """Mails that may or may not have reached the customer, one per request, oldest first. A later
    mail that did arrive says nothing about them, so they stay until an operator checks them."""
    checked = {entry.detail.get("request_id") for entry in audit if entry.action == SEND_CHECKED_ACTION}
    first_per_request: dict[str, AuditEntry] = {}
    for entry in sorted(audit, key=lambda e: e.at):
        request_id = entry.detail.get("request_id", "")
        if entry.action == SEND_UNKNOWN_ACTION and request_id not in checked:
            first_per_request.setdefault(request_id, entry)
    return list(first_per_request.values())


def is_latest_mail(audit: list[AuditEntry], request_id: str) -> bool:
    """Whether the request's unknown send is the ticket's latest mail outcome: the mail that
    `customer_notified` describes."""
    outcomes = [entry for entry in audit if entry.action in MAIL_OUTCOME_ACTIONS]
    if not outcomes:
        return False
    latest = max(outcomes, key=lambda e: e.at)
    return latest.action == SEND_UNKNOWN_ACTION and latest.detail.get("request_id") == request_id


def _author(request: NotifyRequest) -> Actor:
    if request.kind != "operator_reply":
        return NOTIFY_ACTOR
    return Actor(kind="operator", id=request.operator_id or "unknown-operator")


def _not_notified_audit(request: NotifyRequest, author: Actor, reason: str) -> AuditEntry:
    return AuditEntry(actor=author, action=NOT_NOTIFIED_ACTION, detail={"kind": request.kind, "reason": reason})


class Notifier:
    def __init__(
        self,
        store: NotifyStore,
        mail: MailSender,
        team_channels: Sequence[TeamChannel],
        support_address: str,
        desk_url: str = DEFAULT_DESK_URL,
        rating_link: Callable[[str], str] | None = None,
    ):
        """`rating_link(ticket id)` gives the signed CSAT link that replies carry (none without it)."""
        self._store = store
        self._rating_link = rating_link
        self._mail = mail
        self._team_channels = list(team_channels)
        self._support_address = support_address
        self._desk_url = desk_url

    def notify(self, request: NotifyRequest) -> NotifyOutcome:
        ticket = self._store.get_ticket(request.ticket_id)
        if request.kind == "team_alert":
            return self._alert_team(ticket, request.request_id)
        if request.kind == "acknowledgement" and ticket.acknowledged_at is not None:
            return NotifyOutcome("already_acknowledged", ticket.id)
        return self._mail_customer(ticket, request)

    # ---------- customer ----------
    def _mail_customer(self, ticket: Ticket, request: NotifyRequest) -> NotifyOutcome:
        author = _author(request)
        if ticket.customer.kind != "email":
            return self._not_notified(ticket.id, request, author, NO_MAIL_ADDRESS)
        language = templates.language_for(ticket)
        try:
            body = self._body(request, language, ticket)
        except templates.TemplateNotApplicable as exc:
            return self._not_notified(ticket.id, request, author, f"not notified: {exc}")
        conversation = self._store.messages(ticket.id)
        answered = answered_message(conversation, request.message_id)
        outbound = OutboundMail(
            recipient=ticket.customer.value,
            subject=reply_subject(ticket.subject, ticket.id, templates.fallback_subject(language)),
            body=body,
            language=language,
            ticket_id=ticket.id,
            automated=request.kind != "operator_reply",
            in_reply_to=mail_id(answered),
            references=mail_ids_before(conversation, answered),
        )
        outbound_id = new_ulid()
        composed = compose_mail(outbound, support_address=self._support_address, local_id=outbound_id)
        claimed_at = utc_now()
        marker = None
        if request.kind == "acknowledgement" and not self._store.claim_acknowledgement(ticket.id, claimed_at):
            return NotifyOutcome("already_acknowledged", ticket.id)
        if request.kind in ANSWER_KINDS:
            marker = SendMarker(
                request_id=request.request_id, state="sending", message_id=outbound_id, claimed_at=claimed_at
            )
            earlier = self._store.claim_send(ticket.id, marker)
            if earlier is not None:
                return self._sent_before(ticket.id, request, author, earlier)
        try:
            provider_id = self._mail.send_raw(composed.raw)
        except NotificationFailed as exc:
            self._record_failed_send(ticket.id, request, author, claimed_at, f"not notified: {exc}", marker)
            raise
        message = Message(
            id=outbound_id,
            ticket_id=ticket.id,
            direction="outbound",
            channel=Channel.EMAIL,
            received_at=utc_now(),
            subject=outbound.subject,
            body=body,
            external_ids=[composed.message_id],
        )
        detail = {"kind": request.kind, "message_id": outbound_id, "provider_message_id": provider_id}
        if request.template:
            detail["template"] = request.template
        answers = request.kind in ANSWER_KINDS
        audit = AuditEntry(actor=author, action=NOTIFIED_ACTION, detail=detail)
        self._store.record_sent(message, request.request_id, audit, first_response=answers, sent=marker)
        if answers and ticket.first_response_at is None:
            desk_metrics.record(
                desk_metrics.FIRST_RESPONSE_SECONDS,
                max(0.0, (message.received_at - ticket.created_at).total_seconds()),
                MetricUnit.Seconds,
                AutomationLevel="auto_reply" if request.kind == "auto_reply" else "person",
            )
        return NotifyOutcome("sent", ticket.id, message_id=outbound_id)

    def _body(self, request: NotifyRequest, language: templates.Language, ticket: Ticket) -> str:
        if request.kind == "acknowledgement":
            return templates.acknowledgement(language, ticket, self._support_address)
        if request.kind == "auto_reply":
            body = templates.auto_reply(request.template, language, ticket, self._support_address)
        else:
            body = templates.operator_reply(request.text or "")
        # A rating request ends a conversation: an automated answer resolves it, a person's reply may not.
        asks_rating = request.kind == "auto_reply" or request.closes_ticket
        if not asks_rating or self._rating_link is None or ticket.csat is not None:
            return body
        return f"{body}\n--\n{csat.invitation(language, self._rating_link(ticket.id))}\n"

    def _not_notified(self, ticket_id: str, request: NotifyRequest, author: Actor, reason: str) -> NotifyOutcome:
        audit = _not_notified_audit(request, author, reason)
        self._store.record_not_notified(ticket_id, request.request_id, reason, audit)
        return NotifyOutcome("not_notified", ticket_id, reason=reason)

    def _sent_before(self, ticket_id: str, request: NotifyRequest, author: Actor, earlier: SendMarker) -> NotifyOutcome:
        """A redelivered request: at most once, so never a second mail. A marker still `sending` means
        the earlier attempt may have mailed the customer: the operators are told to check."""
        if earlier.state == "sending":
            detail = {
                "kind": request.kind,
                "reason": SEND_STATUS_UNKNOWN,
                "request_id": request.request_id,
                "message_id": earlier.message_id,
            }
            audit = AuditEntry(actor=author, action=SEND_UNKNOWN_ACTION, detail=detail)
            if self._store.record_send_unknown(ticket_id, request.request_id, SEND_STATUS_UNKNOWN, audit):
                return NotifyOutcome(
                    "send_unknown", ticket_id, message_id=earlier.message_id, reason=SEND_STATUS_UNKNOWN
                )
        return NotifyOutcome("already_sent", ticket_id, message_id=earlier.message_id)

    def _record_failed_send(
        self,
        ticket_id: str,
        request: NotifyRequest,
        author: Actor,
        claimed_at: datetime,
        reason: str,
        marker: SendMarker | None,
    ) -> None:
        """Gives up the acknowledgement claim or the reply's marker, so that SQS's retry may send."""
        audit = _not_notified_audit(request, author, reason)
        if marker is None:
            self._store.release_acknowledgement(ticket_id, request.request_id, claimed_at, reason, audit)
        else:
            self._store.release_send(ticket_id, marker, reason, audit)

    # ---------- team ----------
    def _alert_team(self, ticket: Ticket, request_id: str) -> NotifyOutcome:
        """Each channel takes an alert request once: a retry after one channel failed, or a redelivery, posts
        only to the channels that have not taken it (one that stopped between its post and the record of it
        posts again: a repeated alert is better than a lost one)."""
        posted = self._store.team_alert_posts(ticket.id, request_id)
        waiting = [channel for channel in self._team_channels if channel.name not in posted]
        if self._team_channels and not waiting:
            return NotifyOutcome("already_alerted", ticket.id)

        def record_post(channel: str) -> None:
            self._store.record_team_alert_post(ticket.id, request_id, channel, utc_now())

        publish_alert(waiting, team_alert_text(ticket, self._desk_url), on_posted=record_post)
        audit = AuditEntry(actor=NOTIFY_ACTOR, action="team_alerted", detail={"channels": len(self._team_channels)})
        self._store.record_audit(ticket.id, audit)
        return NotifyOutcome("team_alerted", ticket.id)

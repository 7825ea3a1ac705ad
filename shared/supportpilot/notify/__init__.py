"""Notify stage: customer mail (acknowledgements, automated and operator replies) and team alerts."""

from supportpilot.notify.compose import ComposedMail, OutboundMail, compose_mail, plus_address, reply_subject
from supportpilot.notify.service import (
    MailSender,
    NotificationFailed,
    Notifier,
    NotifyOutcome,
    NotifyStore,
    SendMarker,
    TeamChannel,
    team_alert_text,
)

__all__ = [
    "ComposedMail",
    "MailSender",
    "NotificationFailed",
    "Notifier",
    "NotifyOutcome",
    "NotifyStore",
    "OutboundMail",
    "SendMarker",
    "TeamChannel",
    "compose_mail",
    "plus_address",
    "reply_subject",
    "team_alert_text",
]

"""SES Lambda action: turn each receipt into a `MailArrived` on the ingest queue.

SES has already stored the raw MIME at `<bucket>/<prefix><messageId>`; the event carries no body.
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from supportpilot.envelopes import MailArrived, MailWork
from supportpilot.ports import WorkQueue


class _Verdict(BaseModel):
    status: str = "PROCESSING_FAILED"


class _Receipt(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    recipients: list[str] = Field(default_factory=list)
    spam_verdict: _Verdict = Field(default_factory=_Verdict, alias="spamVerdict")
    virus_verdict: _Verdict = Field(default_factory=_Verdict, alias="virusVerdict")


class _Mail(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    message_id: str = Field(alias="messageId", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    timestamp: datetime


class _Ses(BaseModel):
    mail: _Mail
    receipt: _Receipt


class _SesRecord(BaseModel):
    event_source: str = Field(alias="eventSource", pattern="^aws:ses$")
    ses: _Ses


class SesEvent(BaseModel):
    """The Lambda-action event of an SES receipt rule (one record per mail)."""

    records: list[_SesRecord] = Field(alias="Records", min_length=1)


def queue_received_mail(event: SesEvent, bucket: str, prefix: str, queue: WorkQueue) -> list[str]:
    """Queue every mail of the event for ingestion; returns the SES message ids."""
    queued = []
    for record in event.records:
        mail, receipt = record.ses.mail, record.ses.receipt
        arrival = MailArrived(
            ses_message_id=mail.message_id,
            bucket=bucket,
            key=f"{prefix}{mail.message_id}",
            recipients=receipt.recipients,
            spam_verdict=receipt.spam_verdict.status,
            virus_verdict=receipt.virus_verdict.status,
            received_at=mail.timestamp,
        )
        queue.send(MailWork(mail=arrival))
        queued.append(mail.message_id)
    return queued

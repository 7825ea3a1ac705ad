"""How long each kind of stored item is kept before the table's TTL removes it.

Every kind defaults to the one `TICKET_RETENTION_DAYS` of the stack, so a deployment that sets
nothing keeps today's behaviour; a shop that must keep its audit trail longer (or its delivery
markers shorter) sets that kind alone.
"""

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from supportpilot.settings import FunctionSettings

RetentionKind = Literal["tickets", "audit", "timeline_events", "delivery_markers", "quarantine"]


class RetentionPolicy(BaseModel):
    """Days per data kind. `tickets` covers tickets, their messages and thread references."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tickets: int = Field(gt=0)
    audit: int = Field(gt=0)
    timeline_events: int = Field(gt=0)
    delivery_markers: int = Field(gt=0)
    quarantine: int = Field(gt=0)

    @classmethod
    def uniform(cls, days: int, **overrides: int | None) -> "RetentionPolicy":
        """`days` for every kind, except the kinds given (None keeps `days`)."""
        kinds = {kind: days for kind in cls.model_fields}
        kinds |= {kind: value for kind, value in overrides.items() if value is not None}
        return cls.model_validate(kinds)

    def expires_at(self, kind: RetentionKind, start: datetime) -> int:
        """Epoch seconds at which an item of `kind` created at `start` may be removed."""
        return int((start + timedelta(days=getattr(self, kind))).timestamp())


class RetentionSettings(FunctionSettings):
    """The retention environment variables of a function; a kind left at 0 keeps the ticket days."""

    ticket_retention_days: int = 730
    audit_retention_days: int = 0
    timeline_retention_days: int = 0
    delivery_marker_retention_days: int = 0
    quarantine_retention_days: int = 0

    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy.uniform(
            self.ticket_retention_days,
            audit=self.audit_retention_days or None,
            timeline_events=self.timeline_retention_days or None,
            delivery_markers=self.delivery_marker_retention_days or None,
            quarantine=self.quarantine_retention_days or None,
        )

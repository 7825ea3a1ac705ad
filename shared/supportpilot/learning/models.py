"""Shapes of the learning loop: model versions and their cards, the promotion pointer, the frozen holdout."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

VersionStatus = Literal["unevaluated", "promoted", "rejected", "retired"]


class FlaggedLabel(BaseModel):
    """A verified label the quality check sent to review instead of training. No message text."""

    ticket_id: str
    label_id: str
    given: str
    suggested: str
    confidence: float


class Decision(BaseModel):
    promoted: bool
    reasons: list[str]
    compared_with: str | None = Field(default=None, description="the serving version, measured on the same holdout")


class ModelCard(BaseModel):
    """What a model version is: its data, how it measured on the frozen holdout, and what was decided."""

    version: str
    created_at: datetime
    parent_version: str | None = None
    run_id: str
    holdout_version: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)  # rows per label and per language, seed and verified
    held_back: dict[str, int] = Field(default_factory=dict)  # category -> verified labels too few to train on
    flagged_labels: int = 0
    flagged: list[FlaggedLabel] = Field(default_factory=list)
    metrics: dict[str, Any] | None = None  # evaluate_model() on the frozen holdout
    parent_metrics: dict[str, Any] | None = None
    decision: Decision | None = None


class ModelVersion(BaseModel):
    version: str
    status: VersionStatus
    created_at: datetime
    card: ModelCard
    digests: dict[str, str] = Field(default_factory=dict)  # file name -> sha256, checked before serving

    @property
    def evaluated(self) -> bool:
        return self.card.metrics is not None and self.card.holdout_version is not None


class PromotedPointer(BaseModel):
    """Which version the classify stage serves. One item; a promotion is a conditional write on it."""

    version: str
    digests: dict[str, str]
    promoted_at: datetime
    promoted_by: str


class HoldoutManifest(BaseModel):
    """The frozen holdout: the seed corpus holdout (by digest) plus a fixed set of verified labels.

    Labels are referenced, not copied, so an erased customer's labels leave the holdout with them."""

    version: str
    created_at: datetime
    seed_rows: int
    seed_digest: str
    labels: list[tuple[str, str]] = Field(default_factory=list)  # (ticket id, label id)


class RetrainOutcome(BaseModel):
    run_id: str
    status: Literal["promoted", "rejected", "refused", "failed"]
    version: str | None = None
    message: str
    card: ModelCard | None = None

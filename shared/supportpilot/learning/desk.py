"""What supervisors and admins do with the learning loop: review flagged labels, ask for a retrain, list
model versions, promote or roll back. Role checks and audit entries as on the operator's desk."""

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from supportpilot.learning.models import ModelVersion, PromotedPointer
from supportpilot.learning.ports import LabelChanged, ModelRegistry, PointerMoved, VerifiedLabels
from supportpilot.models import Actor, AuditEntry, utc_now
from supportpilot.operator.models import HumanLabel, Operator, Role
from supportpilot.operator.service import Conflict
from supportpilot.ports import WorkQueue


class RetrainRequest(BaseModel):
    """On RetrainQueue: one retrain asked for by an operator (the schedule invokes the function directly)."""

    requested_by: str
    refresh_holdout: bool = False


class ReviewDecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "relabel", "drop"]
    category: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")

    @model_validator(mode="after")
    def category_only_to_relabel(self) -> "ReviewDecisionBody":
        if (self.decision == "relabel") != (self.category is not None):
            raise ValueError("give a category with relabel, and only with relabel")
        return self


class RetrainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_holdout: bool = Field(default=False, description="cut a new frozen holdout from the reserved labels")


class RetrainQueued(BaseModel):
    queued: bool
    requested_by: str


class ModelList(BaseModel):
    serving_version: str | None = Field(description="null: the packaged default model serves")
    versions: list[ModelVersion]


class LearningDesk:
    def __init__(
        self,
        labels: VerifiedLabels,
        registry: ModelRegistry,
        retrain_queue: WorkQueue,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._labels = labels
        self._registry = registry
        self._retrain_queue = retrain_queue
        self._clock = clock

    # ---------- the review queue ----------
    def review_queue(self, operator: Operator) -> list[HumanLabel]:
        operator.require(Role.SUPERVISOR)
        return sorted(self._labels.labels_with_status("review"), key=lambda label: label.id)

    def review(self, operator: Operator, ticket_id: str, label_id: str, body: ReviewDecisionBody) -> HumanLabel:
        operator.require(Role.SUPERVISOR)
        label = self._labels.get_label(ticket_id, label_id)
        if label.status != "review":
            raise Conflict(f"label {label_id} is {label.status}, not waiting for review")
        update: dict = {"reviewed_by": operator.id}
        if body.decision == "drop":
            update["status"] = "dropped"
        else:
            update["status"] = "verified"
            if body.category is not None:
                update["category"] = body.category
        reviewed = label.model_copy(update=update)
        detail = {"label_id": label_id, "decision": body.decision, "given": label.category, "now": reviewed.category}
        audit = AuditEntry(
            at=self._clock(), actor=Actor(kind="operator", id=operator.id), action="label_reviewed", detail=detail
        )
        try:
            self._labels.save_label(reviewed, "review", audit)
        except LabelChanged:
            raise Conflict(f"label {label_id} changed meanwhile: reload the review queue") from None
        return reviewed

    # ---------- models ----------
    def request_retrain(self, operator: Operator, body: RetrainBody) -> RetrainQueued:
        operator.require(Role.SUPERVISOR)
        holder = self._registry.lock_holder(self._clock())
        if holder is not None:
            raise Conflict(f"a retrain is running since {holder[1].isoformat()}: wait for it to finish")
        self._retrain_queue.send(RetrainRequest(requested_by=operator.id, refresh_holdout=body.refresh_holdout))
        return RetrainQueued(queued=True, requested_by=operator.id)

    def models(self, operator: Operator) -> ModelList:
        operator.require(Role.SUPERVISOR)
        pointer = self._registry.promoted()
        versions = sorted(self._registry.versions(), key=lambda v: v.version, reverse=True)
        return ModelList(serving_version=pointer.version if pointer else None, versions=versions)

    def promote(self, operator: Operator, version: str) -> ModelList:
        """Serve `version` (a rollback when it is older): admins only, evaluated versions only, audited."""
        operator.require(Role.ADMIN)
        promote_version(self._registry, version, operator.id, self._clock())
        return self.models(operator)


def promote_version(registry: ModelRegistry, version: str, operator_id: str, now: datetime) -> ModelVersion:
    """Shared by the API and `supportpilot models rollback`."""
    chosen = registry.get_version(version)
    if not chosen.evaluated:
        raise Conflict(f"model {version} was never evaluated on the holdout: it cannot be promoted")
    current = registry.promoted()
    if current is not None and current.version == version:
        raise Conflict(f"model {version} is already serving")
    pointer = PromotedPointer(version=version, digests=chosen.digests, promoted_at=now, promoted_by=operator_id)
    audit = AuditEntry(
        at=now,
        actor=Actor(kind="operator", id=operator_id),
        action="model_promoted",
        detail={"version": version, "previous": current.version if current else None},
    )
    try:
        registry.promote(pointer, current.version if current else None, audit)
    except PointerMoved:
        raise Conflict("another promotion happened meanwhile: reload the model list") from None
    return chosen

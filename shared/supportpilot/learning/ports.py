"""What the learning loop needs from the outside world; adapters in `supportpilot.adapters.model_store`
and `supportpilot.adapters.label_store`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from supportpilot.learning.models import HoldoutManifest, ModelVersion, PromotedPointer
from supportpilot.models import AuditEntry

if TYPE_CHECKING:  # annotations only: the classify stage reaches this module and needs no label models
    from supportpilot.operator.models import HumanLabel, LabelFlag, LabelStatus


class VersionNotFound(LookupError):
    """No model version of that name."""


class LockHeld(Exception):
    """Another retrain holds the lock; the message says since when."""


class PointerMoved(Exception):
    """The promoted version changed since it was read (another promotion won)."""


class LabelChanged(Exception):
    """The label is gone or no longer in the expected status (another reviewer, an erasure)."""


class ModelArtifactsUnavailable(Exception):
    """The model files could not be read, or are not what the registry recorded (corrupt, half-written)."""


class VerifiedLabels(Protocol):
    def labels_with_status(self, status: LabelStatus) -> list[HumanLabel]: ...
    def get_label(self, ticket_id: str, label_id: str) -> HumanLabel: ...
    def save_label(self, label: HumanLabel, expected: LabelStatus, audit: AuditEntry | None) -> None: ...
    def flag(self, label: HumanLabel, flag: LabelFlag, audit: AuditEntry) -> None: ...


class ModelRegistry(Protocol):
    def save_version(self, version: ModelVersion) -> None: ...
    def get_version(self, version: str) -> ModelVersion: ...
    def versions(self) -> list[ModelVersion]: ...
    def promoted(self) -> PromotedPointer | None: ...
    def promote(self, pointer: PromotedPointer, expected: str | None, audit: AuditEntry) -> None:
        """Point at `pointer.version` if the pointer still names `expected` (None: none yet); else PointerMoved."""
        ...

    def holdout(self) -> str | None: ...
    def set_holdout(self, version: str) -> None: ...
    def acquire_lock(self, owner: str, now: datetime, seconds: int) -> None:
        """LockHeld unless the lock is free or expired."""
        ...

    def release_lock(self, owner: str) -> None: ...
    def lock_holder(self, now: datetime) -> tuple[str, datetime] | None: ...


class ModelArtifacts(Protocol):
    def upload(self, version: str, directory: Path) -> dict[str, str]:
        """Store a model directory; returns the sha256 of each file."""
        ...

    def download(self, version: str, directory: Path, digests: dict[str, str]) -> None:
        """ModelArtifactsUnavailable when a file is missing or its digest differs."""
        ...

    def put_card(self, version: str, card_json: str) -> None: ...
    def put_holdout(self, manifest: HoldoutManifest) -> None: ...
    def get_holdout(self, version: str) -> HoldoutManifest: ...

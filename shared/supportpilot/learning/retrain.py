"""Retraining under human oversight: seed corpus + verified labels (minus flagged) -> train -> evaluate on the
frozen holdout -> promote only if no worse than the serving model on that same holdout.

Rules (docs/architecture.md, "Where the model lives"):
- one retrain at a time: a lock with expiry; a second run is refused, not queued;
- labels the quality check flags go to the supervisors' review queue, not into training;
- a category with fewer than `min_labels_per_category` trainable verified labels keeps training on the seed
  corpus alone: its labels wait (`held_back` in the card) instead of moving its boundary on a handful;
- a share of verified labels (by a hash of the label id) is reserved for the holdout and never trained on;
  the holdout is frozen in a versioned manifest and only re-cut on request;
- a version is stored `unevaluated` before it is measured, and only an evaluated version can be promoted.
"""

import hashlib
import logging
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from supportpilot.ids import new_ulid
from supportpilot.learning.models import (
    Decision,
    FlaggedLabel,
    HoldoutManifest,
    ModelCard,
    ModelVersion,
    PromotedPointer,
    RetrainOutcome,
)
from supportpilot.learning.ports import (
    LockHeld,
    ModelArtifacts,
    ModelArtifactsUnavailable,
    ModelRegistry,
    VerifiedLabels,
)
from supportpilot.models import Actor, AuditEntry, utc_now
from supportpilot.operator.models import HumanLabel, LabelFlag
from supportpilot.triage import OUT_OF_SCOPE
from supportpilot.triage.interface import DEFAULT_MODEL_DIR

logger = logging.getLogger(__name__)
RETRAIN_ACTOR = Actor(kind="system", id="retrain")
MODEL_NAME = "supportpilot-retrained"


class RetrainSettings(BaseModel):
    min_labels_per_category: int = 10
    holdout_percent: int = 15
    lock_seconds: int = 3600
    max_macro_f1_drop: float = 0.01
    max_category_f1_drop: float = 0.05
    # Train with the sentence encoder block (`supportpilot train --encoder`): the encoder must be installed
    # where this runs and where the classify stage serves (the template's SentenceEncoderLayer).
    sentence_encoder: bool = False
    # Train a cascade with the encoder fine-tuned on the labels (`supportpilot train --fine-tune`): needs jax and
    # optax where it runs (`supportpilot retrain --fine-tune` on a machine; RetrainFunction's layers have no room),
    # and the encoder wherever the classify stage serves it.
    fine_tune: bool = False


def reserved_for_holdout(label_id: str, percent: int) -> bool:
    """A fixed share of labels, decided by the id alone: the same label is always on the same side."""
    return int(hashlib.sha256(label_id.encode()).hexdigest()[:8], 16) % 100 < percent


def promotion_decision(
    candidate: dict[str, Any], serving: dict[str, Any], settings: RetrainSettings
) -> tuple[bool, list[str]]:
    """Promote unless macro F1 falls by more than the allowance, or any category's F1 does."""
    failures = []
    macro_drop = serving["macro_f1"] - candidate["macro_f1"]
    if macro_drop > settings.max_macro_f1_drop:
        failures.append(
            f"macro F1 fell by {macro_drop:.3f} ({serving['macro_f1']:.3f} -> {candidate['macro_f1']:.3f}), "
            f"more than {settings.max_macro_f1_drop}"
        )
    for label, before in sorted(serving["per_label"].items()):
        if before["support"] == 0:
            continue
        after = candidate["per_label"].get(label, {}).get("f1", 0.0)
        if before["f1"] - after > settings.max_category_f1_drop:
            failures.append(
                f"F1 of {label} fell by {before['f1'] - after:.3f} ({before['f1']:.3f} -> {after:.3f}), "
                f"more than {settings.max_category_f1_drop}"
            )
    if failures:
        return False, failures
    return True, [f"macro F1 {serving['macro_f1']:.3f} -> {candidate['macro_f1']:.3f}; no category fell too far"]


class RetrainService:
    def __init__(
        self,
        labels: VerifiedLabels,
        registry: ModelRegistry,
        artifacts: ModelArtifacts,
        seed_examples: Callable[[], Sequence[Any]],
        settings: RetrainSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
        evaluate: Callable[[Any, Sequence[Any]], dict[str, Any]] | None = None,
    ):
        self._labels = labels
        self._registry = registry
        self._artifacts = artifacts
        self._seed_examples = seed_examples
        self._settings = settings or RetrainSettings()
        self._clock = clock
        self._evaluate = evaluate

    def running_since(self) -> tuple[str, datetime] | None:
        return self._registry.lock_holder(self._clock())

    def retrain(self, requested_by: str, refresh_holdout: bool = False) -> RetrainOutcome:
        run_id = new_ulid()
        try:
            self._registry.acquire_lock(run_id, self._clock(), self._settings.lock_seconds)
        except LockHeld as exc:
            return RetrainOutcome(run_id=run_id, status="refused", message=str(exc))
        try:
            return self._retrain(run_id, requested_by, refresh_holdout)
        finally:
            self._registry.release_lock(run_id)

    # ---------- the run ----------
    def _retrain(self, run_id: str, requested_by: str, refresh_holdout: bool) -> RetrainOutcome:
        from supportpilot.triage.training import (
            DEFAULT_HOLDOUT,
            DEFAULT_SEED,
            TrainingError,
            fine_tuner,
            installed_encoder,
            split_holdout,
        )

        try:  # before the label check and training: a missing encoder, jax or optax fails the run at once
            encoder = installed_encoder() if self._settings.sentence_encoder or self._settings.fine_tune else None
            tune = fine_tuner() if self._settings.fine_tune else None
        except TrainingError as exc:
            return RetrainOutcome(run_id=run_id, status="failed", message=f"training failed: {exc}")
        seed_train, seed_holdout = split_holdout(list(self._seed_examples()), DEFAULT_HOLDOUT, DEFAULT_SEED)
        labels = [label for label in self._labels.labels_with_status("verified") if label.category != OUT_OF_SCOPE]
        flagged = self._flag(run_id, seed_train, labels)
        flagged_ids = {issue.label_id for issue in flagged}
        clean = [label for label in labels if label.id not in flagged_ids]
        percent = self._settings.holdout_percent
        trainable = [label for label in clean if not reserved_for_holdout(label.id, percent)]
        per_category = Counter(label.category for label in trainable)
        held_back = {
            str(category): count
            for category, count in sorted(per_category.items())
            if count < self._settings.min_labels_per_category
        }
        verified = [_example(label) for label in trainable if label.category not in held_back]
        manifest = self._holdout(seed_holdout, clean, refresh_holdout)
        holdout = list(seed_holdout) + self._holdout_labels(manifest, {label.id: label for label in clean})
        serving = self._registry.promoted()
        card = ModelCard(
            version=run_id,
            created_at=self._clock(),
            parent_version=serving.version if serving else None,
            run_id=run_id,
            data={"seed": _counts(seed_train), "verified": _counts(verified), "holdout": _counts(holdout)},
            held_back=held_back,
            flagged_labels=len(flagged),
            flagged=flagged,
        )
        try:
            model = self._train(list(seed_train) + verified, encoder, tune)
        except TrainingError as exc:
            return RetrainOutcome(run_id=run_id, status="failed", message=f"training failed: {exc}", card=card)
        version = self._store_unevaluated(model, card)
        card = card.model_copy(update={"holdout_version": manifest.version, "metrics": self._measure(model, holdout)})
        promoted, reasons, compared_with, serving_metrics = self._decide(card.metrics, serving, holdout)
        decision = Decision(promoted=promoted, reasons=reasons, compared_with=compared_with)
        card = card.model_copy(update={"decision": decision, "parent_metrics": serving_metrics})
        self._artifacts.put_card(run_id, card.model_dump_json(indent=2))
        version = version.model_copy(update={"status": "promoted" if promoted else "rejected", "card": card})
        self._registry.save_version(version)
        if promoted:
            pointer = PromotedPointer(
                version=run_id, digests=version.digests, promoted_at=self._clock(), promoted_by=requested_by
            )
            audit = AuditEntry(
                at=self._clock(),
                actor=RETRAIN_ACTOR,
                action="model_promoted",
                detail={"version": run_id, "previous": compared_with, "requested_by": requested_by},
            )
            self._registry.promote(pointer, serving.version if serving else None, audit)
        summary = "; ".join(reasons)
        logger.info("retrain finished", extra={"run_id": run_id, "promoted": promoted, "flagged": len(flagged)})
        return RetrainOutcome(
            run_id=run_id, status="promoted" if promoted else "rejected", version=run_id, message=summary, card=card
        )

    def _flag(self, run_id: str, seed_train: Sequence[Any], labels: list[HumanLabel]) -> list[FlaggedLabel]:
        from supportpilot.learning.quality import find_label_issues

        examples = [e for e in seed_train if e.label != OUT_OF_SCOPE] + [_example(label) for label in labels]
        offset = len(examples) - len(labels)
        # a label a supervisor already accepted or relabelled is not second-guessed by the model
        candidates = [offset + i for i, label in enumerate(labels) if label.reviewed_by is None]
        issues = find_label_issues([e.text for e in examples], [e.label for e in examples], candidates)
        flagged = []
        for issue in issues:
            label = labels[issue.index - offset]
            flag = LabelFlag(
                given=issue.given,
                suggested=issue.suggested,
                confidence=round(issue.confidence, 3),
                flagged_at=self._clock(),
                run_id=run_id,
            )
            audit = AuditEntry(
                at=self._clock(),
                actor=RETRAIN_ACTOR,
                action="label_flagged",
                detail={"label_id": label.id, **flag.model_dump(mode="json", exclude={"flagged_at"})},
            )
            self._labels.flag(label, flag, audit)
            flagged.append(
                FlaggedLabel(
                    ticket_id=label.ticket_id,
                    label_id=label.id,
                    given=issue.given,
                    suggested=issue.suggested,
                    confidence=flag.confidence,
                )
            )
        return flagged

    def _holdout(self, seed_holdout: Sequence[Any], clean: list[HumanLabel], refresh: bool) -> HoldoutManifest:
        from supportpilot.triage.training import data_digest

        current = self._registry.holdout()
        digest = data_digest(seed_holdout)
        if current is not None and not refresh:
            manifest = self._artifacts.get_holdout(current)
            if manifest.seed_digest == digest:
                return manifest
        percent = self._settings.holdout_percent
        manifest = HoldoutManifest(
            version=f"h-{new_ulid()}",
            created_at=self._clock(),
            seed_rows=len(seed_holdout),
            seed_digest=digest,
            labels=[(label.ticket_id, label.id) for label in clean if reserved_for_holdout(label.id, percent)],
        )
        self._artifacts.put_holdout(manifest)
        self._registry.set_holdout(manifest.version)
        return manifest

    @staticmethod
    def _holdout_labels(manifest: HoldoutManifest, clean: dict[str, HumanLabel]) -> list[Any]:
        """The manifest's labels that still exist and are verified (erased or flagged ones drop out)."""
        return [_example(clean[label_id]) for _, label_id in manifest.labels if label_id in clean]

    def _train(self, examples: list[Any], encoder: Any, tune: Any) -> Any:
        from supportpilot.triage.training import train_cascade, train_model

        if tune is not None:
            return train_cascade(examples, name=MODEL_NAME, refit=True, encoder=encoder, tune=tune)
        return train_model(examples, name=MODEL_NAME, refit=True, encoder=encoder)

    def _store_unevaluated(self, model: Any, card: ModelCard) -> ModelVersion:
        from supportpilot.triage.training import write_model

        model.meta["version"] = card.version  # results and audit entries name the registry's version
        with tempfile.TemporaryDirectory() as scratch:
            directory = write_model(model, Path(scratch) / "model")
            digests = self._artifacts.upload(card.version, directory)
        version = ModelVersion(
            version=card.version, status="unevaluated", created_at=card.created_at, card=card, digests=digests
        )
        self._registry.save_version(version)
        return version

    def _measure(self, model: Any, holdout: Sequence[Any]) -> dict[str, Any]:
        if self._evaluate is not None:
            return self._evaluate(model, holdout)
        from supportpilot.triage.training import evaluate_model

        return evaluate_model(model, holdout)

    def _decide(
        self, metrics: dict[str, Any], serving: PromotedPointer | None, holdout: Sequence[Any]
    ) -> tuple[bool, list[str], str | None, dict[str, Any] | None]:
        """Promote?, why, which version was compared, and its metrics on the same holdout."""
        from supportpilot.triage.linear_model import LinearModel, load_model

        try:
            if serving is None:
                current, compared_with = LinearModel.load(DEFAULT_MODEL_DIR), "packaged default"
            else:
                compared_with = serving.version
                with tempfile.TemporaryDirectory() as scratch:
                    self._artifacts.download(serving.version, Path(scratch), serving.digests)
                    current = load_model(scratch, lazy=False)
        except (ModelArtifactsUnavailable, OSError, ValueError) as exc:
            reason = f"the serving model could not be evaluated ({type(exc).__name__}): not promoted"
            return False, [reason], serving.version if serving else None, None
        serving_metrics = self._measure(current, holdout)
        promoted, reasons = promotion_decision(metrics, serving_metrics, self._settings)
        return promoted, reasons, compared_with, serving_metrics


def _example(label: HumanLabel) -> Any:
    from supportpilot.triage.training import Example

    return Example(text=label.text or "", label=str(label.category), language=label.language)


def _counts(examples: Sequence[Any]) -> dict[str, Any]:
    from supportpilot.triage.training import data_counts

    return data_counts(examples)

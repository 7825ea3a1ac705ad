"""The classify stage's model: the promoted version, picked up without a redeploy.

`PromotedModelTriager` reads the promotion pointer at most every `max_age_seconds`. A new version is
downloaded (each file checked against the digest the registry recorded) and loaded before it replaces the
one serving; a version that cannot be read or loaded (corrupt, half-written, wrong format) never serves:
the last good model stays and `on_problem` is told (the handler logs it and emits the `ModelLoadFailed`
metric, which `ModelLoadFailedAlarm` watches).
"""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from supportpilot.learning.models import PromotedPointer
from supportpilot.learning.ports import ModelArtifacts
from supportpilot.models import TriageResult
from supportpilot.triage import TriageInput, Triager, load_triager

logger = logging.getLogger(__name__)


class PointerSource(Protocol):
    """Reads the promotion pointer; `supportpilot.adapters.model_store.DynamoModelRegistry` is one."""

    def promoted(self) -> PromotedPointer | None: ...


class PromotedModelTriager:
    def __init__(
        self,
        fallback: Triager,
        pointer: PointerSource,
        artifacts: ModelArtifacts,
        cache_dir: Path,
        *,
        on_problem: Callable[[str, str], None],
        max_age_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._serving = fallback
        self._serving_version: str | None = None
        self._pointer = pointer
        self._artifacts = artifacts
        self._cache_dir = cache_dir
        self._on_problem = on_problem
        self._max_age = max_age_seconds
        self.clock = clock  # public: tests move time instead of sleeping
        self._read_at: float | None = None
        self._lock = threading.Lock()  # the local runtime polls queues in threads of one process

    @property
    def name(self) -> str:
        return self._serving.name

    @property
    def version(self) -> str:
        return self._serving.version

    def current(self) -> Triager:
        with self._lock:
            if self._read_at is None or self.clock() - self._read_at >= self._max_age:
                self._read_at = self.clock()
                self._refresh()
            return self._serving

    def triage(self, message: TriageInput) -> TriageResult:
        return self.current().triage(message)

    def _refresh(self) -> None:
        try:
            pointer = self._pointer.promoted()
        except Exception as exc:  # the pointer store failing must not stop triage: keep serving
            self._on_problem("pointer_unavailable", f"{type(exc).__name__}")
            return
        if pointer is None or pointer.version == self._serving_version:
            return
        directory = self._cache_dir / pointer.version
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._artifacts.download(pointer.version, directory, pointer.digests)
            triager = load_triager(str(directory))
        except Exception as exc:  # whatever is wrong with the new version, the last good one keeps serving
            self._on_problem("model_unusable", f"version {pointer.version}: {type(exc).__name__}: {exc}")
            return
        self._serving, self._serving_version = triager, pointer.version
        logger.info("serving model version", extra={"model_version": pointer.version})

"""The routing policy in force: the packaged default, unless a valid override document replaces it.

`PolicySource` re-reads the override at most every `max_age_seconds`. An override that cannot be read
or does not validate never takes effect and never raises into the handler: the policy in force stays,
and the problem goes to `on_problem` (the route stage logs it and emits a metric for an alarm).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol

from pydantic import BaseModel

from supportpilot.routing.policy import PolicyInvalid, RoutingPolicy, default_policy, validate_policy

logger = logging.getLogger(__name__)


class PolicyOverrideUnavailable(RuntimeError):
    """The override store could not be read (throttled, unreachable, not allowed)."""


class PolicyOverrides(Protocol):
    def fetch_override(self) -> str | None:
        """The override document, or None when there is none."""
        ...


class PolicyProblem(BaseModel):
    kind: Literal["override_invalid", "override_unavailable"]
    message: str
    version_in_force: str


def log_policy_problem(problem: PolicyProblem) -> None:
    logger.error("routing policy override rejected", extra={"problem": problem.model_dump()})


class PolicySource:
    def __init__(
        self,
        overrides: PolicyOverrides | None = None,
        *,
        on_problem: Callable[[PolicyProblem], None] = log_policy_problem,
        max_age_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        default: RoutingPolicy | None = None,
    ):
        self._overrides = overrides
        self._on_problem = on_problem
        self._max_age = max_age_seconds
        self._clock = clock
        self._default = default or default_policy()
        self._policy = self._default
        self._override_text: str | None = None
        self._read_at: float | None = None
        # The local runtime polls several queues in threads of one process.
        self._lock = threading.Lock()

    def current(self) -> RoutingPolicy:
        with self._lock:
            if self._overrides is not None and self._is_stale():
                self._read_at = self._clock()
                self._refresh(self._overrides)
            return self._policy

    def _is_stale(self) -> bool:
        return self._read_at is None or self._clock() - self._read_at >= self._max_age

    def _refresh(self, overrides: PolicyOverrides) -> None:
        try:
            text = overrides.fetch_override()
        except Exception as exc:  # whatever the store does, routing goes on with the policy in force
            self._report("override_unavailable", f"{type(exc).__name__}: {exc}")
            return
        if text is None:
            self._policy, self._override_text = self._default, None
        elif text != self._override_text:
            self._adopt(text)

    def _adopt(self, text: str) -> None:
        try:
            policy = validate_policy(text)
        except PolicyInvalid as exc:
            self._report("override_invalid", str(exc))
            return
        self._policy, self._override_text = policy, text

    def _report(self, kind: Literal["override_invalid", "override_unavailable"], message: str) -> None:
        problem = PolicyProblem(kind=kind, message=message, version_in_force=self._policy.version)
        try:
            self._on_problem(problem)
        except Exception:  # a failing reporter must not take routing down with it
            logger.exception("routing policy problem could not be reported")

"""Escalation of a ticket that needs a person: the domain side of the escalation workflow.

The workflow (`statemachines/escalation.asl.json`, Step Functions) notifies the team and waits for a
claim within the SLA of each tier; every missed SLA moves the ticket up a tier and a priority. It
keeps its state on the ticket item (an `escalation` map and the task token it waits on). Claims and
closes settle the escalation with a conditional write first, so exactly one of them wins, and only
then complete the task token: a workflow that missed the token finds the settled state at its
next conditional write and ends.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from supportpilot.models import EscalationState, Priority, utc_now
from supportpilot.regex_store import compiled

DEFINITION_FILE = Path(__file__).resolve().parents[2] / "statemachines" / "escalation.asl.json"
_PLACEHOLDER = compiled(r"\$\{(\w+)\}")
_ENDS_ITSELF = frozenset({"Choice", "Succeed", "Fail"})
_RAISED_PRIORITY: dict[str, Priority] = {"P3": "P2", "P2": "P1", "P1": "P1"}

# Execution names allow 80 characters; ticket ids are ULIDs.
TicketId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,64}$")]


class EscalationNotFound(LookupError):
    """The ticket does not exist or has no escalation."""


class EscalationConflict(RuntimeError):
    """The escalation is no longer waiting for a claim: it was claimed already, or closed."""

    def __init__(self, ticket_id: str, state: str, claimed_by: str | None = None):
        reason = f"was already claimed by {claimed_by}" if state == "claimed" else f"has an escalation that is {state}"
        super().__init__(f"ticket {ticket_id} {reason}")
        self.ticket_id = ticket_id
        self.state = state
        self.claimed_by = claimed_by


class EscalationAlreadyStarted(Exception):
    def __init__(self, execution_arn: str):
        super().__init__("an escalation was started for this ticket before")
        self.execution_arn = execution_arn


class WorkflowUnavailable(RuntimeError):
    """A transient failure of the workflow service: the caller should retry."""


class EscalationTier(BaseModel):
    level: int = Field(ge=0, description="0 is the team, 1 the supervisor, and so on")
    priority: Priority
    sla_seconds: int = Field(ge=0)
    sla_due_at: datetime


class SlaPolicy(BaseModel):
    """Seconds an operator has to claim a ticket, per priority, and how many tiers escalate.

    Step Functions needs at least one second; zero is for tests against moto, where it times out at once.
    """

    model_config = ConfigDict(frozen=True)

    p1_seconds: int = Field(default=15 * 60, ge=0)
    p2_seconds: int = Field(default=4 * 3600, ge=0)
    p3_seconds: int = Field(default=24 * 3600, ge=0)
    tiers: int = Field(default=2, ge=1, le=10)

    def seconds_for(self, priority: Priority) -> int:
        return {"P1": self.p1_seconds, "P2": self.p2_seconds, "P3": self.p3_seconds}[priority]

    def schedule(self, priority: Priority, start: datetime) -> list[EscalationTier]:
        """Each tier raises the priority one step and gets that priority's SLA; due times assume no claim."""
        tiers: list[EscalationTier] = []
        due = start
        for level in range(self.tiers):
            seconds = self.seconds_for(priority)
            due += timedelta(seconds=seconds)
            tiers.append(EscalationTier(level=level, priority=priority, sla_seconds=seconds, sla_due_at=due))
            priority = _RAISED_PRIORITY[priority]
        return tiers


class EscalationInput(BaseModel):
    """The execution input. It reaches SNS notifications, so it holds no personal data."""

    ticket_id: TicketId
    queue: str
    priority: Priority
    category: str | None = None
    reasons: list[str] = Field(default_factory=list)
    tiers: list[EscalationTier] = Field(min_length=1)


class EscalationStarted(BaseModel):
    ticket_id: str
    execution_arn: str
    started: bool = Field(description="False when an escalation for this ticket existed already")


class EscalationOutcome(BaseModel):
    """What claim and close send with the task token; the execution ends with it in `$.outcome`."""

    outcome: Literal["claimed", "closed"]
    operator_id: str | None = None
    at: datetime


class Settlement(BaseModel):
    """An escalation after a claim or close, and the task token its workflow was waiting on, if any."""

    escalation: EscalationState
    task_token: str | None = None


class EscalationWorkflow(Protocol):
    def start(self, name: str, escalation: EscalationInput) -> str:
        """Starts an execution and returns its ARN; raises EscalationAlreadyStarted for a used name."""
        ...

    def resume(self, task_token: str, outcome: EscalationOutcome) -> bool:
        """Completes the task token; False when the workflow no longer waits on it."""
        ...

    def stop(self, name: str) -> bool:
        """Stops the named execution while it runs (it ends aborted, not failed); False when it does not."""
        ...


class EscalationStore(Protocol):
    def mark_claimed(self, ticket_id: str, operator_id: str, at: datetime) -> Settlement:
        """Waiting or breached -> claimed, atomically; EscalationConflict or EscalationNotFound otherwise."""
        ...

    def mark_closed(self, ticket_id: str, at: datetime) -> Settlement | None:
        """Waiting or breached -> closed; None when there was nothing to close."""
        ...


def render_definition(substitutions: Mapping[str, str], definition: str | None = None) -> str:
    """The definition with SAM's DefinitionSubstitutions applied (moto's CloudFormation ignores them).

    Raises ValueError for a placeholder without a value and for the broken references that
    Step Functions rejects at deployment but moto's parser (syntax only) lets through.
    """
    text = DEFINITION_FILE.read_text(encoding="utf-8") if definition is None else definition
    missing = sorted(set(_PLACEHOLDER.findall(text)) - substitutions.keys())
    if missing:
        raise ValueError(f"the definition needs substitutions for {', '.join(missing)}")
    rendered = _PLACEHOLDER.sub(lambda match: substitutions[match.group(1)], text)
    problems = definition_problems(json.loads(rendered))
    if problems:
        raise ValueError(f"the definition is broken: {'; '.join(problems)}")
    return rendered


def definition_problems(definition: Mapping[str, Any]) -> list[str]:
    """Unknown StartAt, Next, Default or Catch targets, states with no way on, unreachable states.

    Top-level states only: the escalation workflow has no Map or Parallel branches.
    """
    states: Mapping[str, Any] = definition.get("States", {})
    problems: list[str] = []
    if definition.get("StartAt") not in states:
        problems.append(f"StartAt {definition.get('StartAt')!r} is not a state")
    for name, state in states.items():
        for target in _targets(state):
            if target not in states:
                problems.append(f"{name} goes to {target!r}, which is not a state")
        if state.get("Type") not in _ENDS_ITSELF and "Next" not in state and not state.get("End"):
            problems.append(f"{name} has neither Next nor End")
    reached: set[str] = set()
    pending = [definition.get("StartAt")]
    while pending:
        name = pending.pop()
        if name in states and name not in reached:
            reached.add(name)
            pending.extend(_targets(states[name]))
    problems.extend(f"{name} cannot be reached" for name in states if name not in reached)
    return problems


def _targets(state: Mapping[str, Any]) -> list[str]:
    branches = [*state.get("Choices", []), *state.get("Catch", [])]
    return [t for t in (state.get("Next"), state.get("Default"), *(b.get("Next") for b in branches)) if t is not None]


def execution_name(ticket_id: str, message_id: str | None = None) -> str:
    """One escalation per ticket and message that needs a person: Step Functions refuses a second
    execution of the same name, so a redelivered route request cannot start a second one, while a
    customer's reply to a closed ticket can start a new one."""
    return f"escalation-{ticket_id}" + (f"-{message_id}" if message_id else "")


class EscalationService:
    def __init__(
        self,
        store: EscalationStore,
        workflow: EscalationWorkflow,
        policy: SlaPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._store = store
        self._workflow = workflow
        self._policy = policy or SlaPolicy()
        self._clock = clock

    def start_escalation(
        self,
        ticket_id: str,
        *,
        queue: str,
        priority: Priority,
        category: str | None = None,
        reasons: Sequence[str] = (),
        message_id: str | None = None,
    ) -> EscalationStarted:
        escalation = EscalationInput(
            ticket_id=ticket_id,
            queue=queue,
            priority=priority,
            category=category,
            reasons=list(reasons),
            tiers=self._policy.schedule(priority, self._clock()),
        )
        try:
            arn = self._workflow.start(execution_name(ticket_id, message_id), escalation)
        except EscalationAlreadyStarted as exc:
            return EscalationStarted(ticket_id=ticket_id, execution_arn=exc.execution_arn, started=False)
        return EscalationStarted(ticket_id=ticket_id, execution_arn=arn, started=True)

    def claim(self, ticket_id: str, operator_id: str) -> EscalationState:
        operator = operator_id.strip()
        if not operator:
            raise ValueError("a claim needs an operator id")
        now = self._clock()
        settlement = self._store.mark_claimed(ticket_id, operator, now)
        self._resume(settlement, EscalationOutcome(outcome="claimed", operator_id=operator, at=now))
        return settlement.escalation

    def close(self, ticket_id: str) -> EscalationState | None:
        """Ends the escalation of a ticket that closes; None when no escalation was waiting."""
        now = self._clock()
        settlement = self._store.mark_closed(ticket_id, now)
        if settlement is None:
            return None
        self._resume(settlement, EscalationOutcome(outcome="closed", at=now))
        return settlement.escalation

    def _resume(self, settlement: Settlement, outcome: EscalationOutcome) -> None:
        # A token that timed out or was not stored yet needs nothing: the workflow's next
        # conditional write sees the settled escalation and ends the execution.
        if settlement.task_token is not None:
            self._workflow.resume(settlement.task_token, outcome)

"""SLA schedule, definition rendering and the claim/close rules, without AWS."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from supportpilot.escalation import (
    DEFINITION_FILE,
    EscalationAlreadyStarted,
    EscalationInput,
    EscalationOutcome,
    EscalationService,
    Settlement,
    SlaPolicy,
    definition_problems,
    render_definition,
)
from supportpilot.models import EscalationState

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SUBSTITUTIONS = {"TableName": "desk", "TeamTopicArn": "arn:team", "AlarmTopicArn": "arn:alarm"}


def test_the_default_policy_gives_p1_15_minutes_p2_4_hours_p3_24_hours():
    policy = SlaPolicy()
    assert [policy.seconds_for(p) for p in ("P1", "P2", "P3")] == [900, 14400, 86400]


def test_each_tier_raises_the_priority_one_step_and_takes_its_sla():
    tiers = SlaPolicy(tiers=3).schedule("P3", START)
    assert [(t.level, t.priority, t.sla_seconds) for t in tiers] == [(0, "P3", 86400), (1, "P2", 14400), (2, "P1", 900)]
    assert [t.sla_due_at for t in tiers] == [
        START + timedelta(hours=24),
        START + timedelta(hours=28),
        START + timedelta(hours=28, minutes=15),
    ]


def test_p1_stays_p1():
    assert [t.priority for t in SlaPolicy(tiers=3).schedule("P1", START)] == ["P1", "P1", "P1"]


def test_the_shipped_definition_renders_with_the_three_substitutions():
    definition = json.loads(render_definition(SUBSTITUTIONS))
    assert definition["States"]["RecordTier"]["Parameters"]["TableName"] == "desk"
    assert definition["States"]["RaiseAlarm"]["Parameters"]["TopicArn"] == "arn:alarm"
    assert "${" not in json.dumps(definition)


def test_a_missing_substitution_is_named():
    with pytest.raises(ValueError, match="AlarmTopicArn"):
        render_definition({"TableName": "desk", "TeamTopicArn": "arn:team"})


def test_states_without_a_way_on_or_a_way_in_are_found():
    definition = json.loads(DEFINITION_FILE.read_text())
    del definition["States"]["AdvanceTier"]["Next"]
    definition["States"]["Orphan"] = {"Type": "Succeed"}
    assert definition_problems(definition) == [
        "AdvanceTier has neither Next nor End",
        "Orphan cannot be reached",
    ]


class FakeWorkflow:
    def __init__(self, token_waiting: bool = True):
        self.started: dict[str, EscalationInput] = {}
        self.resumed: list[tuple[str, EscalationOutcome]] = []
        self._token_waiting = token_waiting

    def start(self, name: str, escalation: EscalationInput) -> str:
        if name in self.started:
            raise EscalationAlreadyStarted(f"arn:execution:{name}")
        self.started[name] = escalation
        return f"arn:execution:{name}"

    def resume(self, task_token: str, outcome: EscalationOutcome) -> bool:
        self.resumed.append((task_token, outcome))
        return self._token_waiting


class FakeStore:
    def __init__(self, task_token: str | None):
        self._token = task_token

    def mark_claimed(self, ticket_id: str, operator_id: str, at: datetime) -> Settlement:
        state = EscalationState(state="claimed", claimed_by=operator_id, updated_at=at)
        return Settlement(escalation=state, task_token=self._token)

    def mark_closed(self, ticket_id: str, at: datetime) -> Settlement | None:
        return Settlement(escalation=EscalationState(state="closed", updated_at=at), task_token=self._token)


def service(store: FakeStore, workflow: FakeWorkflow) -> EscalationService:
    return EscalationService(store, workflow, SlaPolicy(), clock=lambda: START)


def test_a_start_sends_the_schedule_and_a_second_start_returns_the_first_execution():
    workflow = FakeWorkflow()
    escalations = service(FakeStore(None), workflow)
    first = escalations.start_escalation("01JD0000000000000000000000", queue="billing", priority="P2")
    second = escalations.start_escalation("01JD0000000000000000000000", queue="billing", priority="P1")
    assert (first.started, second.started, second.execution_arn) == (True, False, first.execution_arn)
    (sent,) = workflow.started.values()
    assert [(t.priority, t.sla_seconds) for t in sent.tiers] == [("P2", 14400), ("P1", 900)]


def test_a_claim_completes_the_task_token_with_the_operator():
    workflow = FakeWorkflow()
    claimed = service(FakeStore("token-1"), workflow).claim("01JD0000000000000000000000", " op-7 ")
    assert claimed.claimed_by == "op-7"
    assert workflow.resumed == [("token-1", EscalationOutcome(outcome="claimed", operator_id="op-7", at=START))]


def test_a_claim_between_tiers_has_no_token_to_complete():
    workflow = FakeWorkflow()
    assert service(FakeStore(None), workflow).claim("01JD0000000000000000000000", "op-7").state == "claimed"
    assert workflow.resumed == []


def test_a_claim_needs_an_operator():
    with pytest.raises(ValueError, match="operator"):
        service(FakeStore("token-1"), FakeWorkflow()).claim("01JD0000000000000000000000", "  ")


def test_a_ticket_id_that_cannot_name_an_execution_is_refused():
    with pytest.raises(ValueError, match="ticket_id"):
        service(FakeStore(None), FakeWorkflow()).start_escalation("01JD/../x", queue="billing", priority="P3")

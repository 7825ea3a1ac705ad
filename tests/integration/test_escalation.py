"""The escalation workflow runs for real in moto: claims, tier escalation, SLA breach, close, races.

SLAs of zero seconds make every tier time out at once; a claim test uses an SLA of an hour and
claims while the workflow waits.
"""

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from supportpilot.adapters.dynamodb import DynamoTicketStore, claimed_key, deserialise, ticket_key
from supportpilot.adapters.escalation_store import DynamoEscalationStore
from supportpilot.adapters.stepfunctions import ExecutionStatus, StepFunctionsEscalationWorkflow
from supportpilot.escalation import (
    DEFINITION_FILE,
    EscalationConflict,
    EscalationNotFound,
    EscalationService,
    SlaPolicy,
    render_definition,
)
from supportpilot.ids import new_ulid
from supportpilot.models import Channel, CustomerIdentity, Ticket, TicketStatus
from supportpilot.ports import DeliveryRecord

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
TABLE = "DeskTable"
ROLE_ARN = "arn:aws:iam::123456789012:role/escalation-state-machine"
ONE_HOUR = SlaPolicy(p1_seconds=3600, p2_seconds=3600, p3_seconds=3600, tiers=2)
AT_ONCE = SlaPolicy(p1_seconds=0, p2_seconds=0, p3_seconds=0, tiers=2)
DEADLINE_SECONDS = 10


@dataclass
class Desk:
    dynamodb: Any
    sqs: Any
    stepfunctions: Any
    state_machine_arn: str
    team_inbox: str
    alarm_inbox: str
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def tickets(self) -> DynamoTicketStore:
        return DynamoTicketStore(self.dynamodb, TABLE, retention_days=730)

    def service(self, policy: SlaPolicy) -> EscalationService:
        return EscalationService(DynamoEscalationStore(self.dynamodb, TABLE), self.workflow, policy)

    @property
    def workflow(self) -> StepFunctionsEscalationWorkflow:
        return StepFunctionsEscalationWorkflow(self.stepfunctions, self.state_machine_arn)

    def new_ticket(self) -> str:
        ticket_id = new_ulid()
        now = datetime.now(UTC)
        customer = CustomerIdentity(id="c-escalation", kind="email", value="klant@example.nl")
        ticket = Ticket(
            id=ticket_id,
            channel=Channel.EMAIL,
            customer=customer,
            subject="Waar blijft mijn terugbetaling?",
            status=TicketStatus.WAITING_ON_HUMAN,
            created_at=now,
            updated_at=now,
            queue="billing",
            priority="P3",
        )
        self.tickets.record_delivery(DeliveryRecord(dedupe_key=f"test-{ticket_id}", ticket=ticket, is_new_ticket=True))
        return ticket_id

    def item(self, ticket_id: str) -> dict[str, Any]:
        return deserialise(
            self.dynamodb.get_item(TableName=TABLE, Key=ticket_key(ticket_id), ConsistentRead=True)["Item"]
        )

    def wait_for_item(self, ticket_id: str, state: str) -> dict[str, Any]:
        """Until the workflow waits on a task token in this escalation state."""
        return _poll(
            lambda: (
                (item := self.item(ticket_id)).get("escalation", {}).get("state") == state
                and "escalation_task_token" in item
                and item
            ),
            f"escalation of {ticket_id} {state} with a task token",
        )

    def finished(self, execution_arn: str) -> ExecutionStatus:
        return _poll(
            lambda: (status := self.workflow.describe(execution_arn)).status != "RUNNING" and status,
            f"end of {execution_arn}",
        )

    def published(self, inbox: str, ticket_id: str) -> list[dict[str, Any]]:
        """What the topic behind `inbox` published about the ticket (the tests share the topics)."""
        while messages := self.sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
            self.received.setdefault(inbox, []).extend(json.loads(message["Body"]) for message in messages)
            for message in messages:
                self.sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
        return [message for message in self.received.get(inbox, []) if message["ticket_id"] == ticket_id]


def _poll(check, what: str):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def _inbox(sns: Any, sqs: Any, name: str) -> tuple[str, str]:
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return topic, queue_url


@pytest.fixture(scope="module")
def atomic_moto_updates() -> Iterator[None]:
    """DynamoDB applies a conditional update atomically; moto checks and writes without a lock,
    so two threads can both pass the check. The lock gives moto DynamoDB's guarantee."""
    lock = threading.Lock()
    update_item = DynamoDBBackend.update_item

    def atomic_update_item(self, *args, **kwargs):
        with lock:
            return update_item(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoDBBackend, "update_item", atomic_update_item)
        yield


@pytest.fixture(scope="module")
def desk(atomic_moto_updates) -> Iterator[Desk]:
    """One desk for the module (creating a state machine parses its ASL); every test has its own ticket."""
    with mock_aws(config=MOTO_CONFIG):
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        team_topic, team_inbox = _inbox(sns, sqs, "team")
        alarm_topic, alarm_inbox = _inbox(sns, sqs, "alarm")
        stepfunctions = boto3.client("stepfunctions")
        definition = render_definition({"TableName": TABLE, "TeamTopicArn": team_topic, "AlarmTopicArn": alarm_topic})
        state_machine_arn = stepfunctions.create_state_machine(
            name="escalation", definition=definition, roleArn=ROLE_ARN
        )["stateMachineArn"]
        yield Desk(dynamodb, sqs, stepfunctions, state_machine_arn, team_inbox, alarm_inbox)
        for running in stepfunctions.list_executions(stateMachineArn=state_machine_arn, statusFilter="RUNNING")[
            "executions"
        ]:
            stepfunctions.stop_execution(executionArn=running["executionArn"])


def test_a_claim_before_the_sla_ends_the_escalation_with_the_operator_as_owner(desk):
    ticket_id = desk.new_ticket()
    escalations = desk.service(ONE_HOUR)
    started = escalations.start_escalation(
        ticket_id, queue="billing", priority="P3", category="refund", reasons=["low confidence"]
    )
    desk.wait_for_item(ticket_id, "waiting")

    claimed = escalations.claim(ticket_id, "op-7")

    assert claimed.state == "claimed" and claimed.claimed_by == "op-7"
    finished = desk.finished(started.execution_arn)
    assert finished.status == "SUCCEEDED"
    assert finished.output["outcome"] == {
        "outcome": "claimed",
        "operator_id": "op-7",
        "at": finished.output["outcome"]["at"],
    }
    escalation = desk.tickets.get_ticket(ticket_id).escalation
    assert (escalation.state, escalation.claimed_by, escalation.tier) == ("claimed", "op-7", 0)
    assert desk.item(ticket_id)["gsi4sk"] == claimed_key(escalation.claimed_at), "listed after unclaimed tickets"
    assert escalation.execution_arn == started.execution_arn
    assert "escalation_task_token" not in desk.item(ticket_id)
    (notice,) = desk.published(desk.team_inbox, ticket_id)
    assert notice == {
        "kind": "escalation",
        "ticket_id": ticket_id,
        "queue": "billing",
        "category": "refund",
        "reasons": ["low confidence"],
        "tier": 0,
        "priority": "P3",
        "sla_due_at": notice["sla_due_at"],
    }
    assert "example.nl" not in json.dumps(notice) and "terugbetaling" not in json.dumps(notice)


def test_without_a_claim_it_escalates_a_tier_with_raised_priority_then_records_a_breach_and_alarms(desk):
    ticket_id = desk.new_ticket()
    escalations = desk.service(AT_ONCE)
    started = escalations.start_escalation(ticket_id, queue="billing", priority="P3", category="refund")

    item = desk.wait_for_item(ticket_id, "breached")

    assert (item["escalation"]["tier"], item["priority"]) == (1, "P2")
    assert "breached_at" in item["escalation"]
    assert item["gsi4sk"] == f"0#{item['escalation']['sla_due_at']}", "the operator queue sees the last tier's due"
    notices = desk.published(desk.team_inbox, ticket_id)
    assert [(n["tier"], n["priority"]) for n in notices] == [(0, "P3"), (1, "P2")]
    (alarm,) = desk.published(desk.alarm_inbox, ticket_id)
    assert (alarm["kind"], alarm["ticket_id"], alarm["priority"], alarm["tier"]) == ("sla_breach", ticket_id, "P2", 1)

    escalations.claim(ticket_id, "supervisor-1")
    assert desk.finished(started.execution_arn).status == "SUCCEEDED"
    escalation = desk.tickets.get_ticket(ticket_id).escalation
    assert (escalation.state, escalation.claimed_by) == ("claimed", "supervisor-1")
    assert "breached_at" in desk.item(ticket_id)["escalation"], "the breach stays on record after a claim"


def test_a_p1_ticket_stays_p1_when_it_escalates(desk):
    ticket_id = desk.new_ticket()
    escalations = desk.service(AT_ONCE)
    escalations.start_escalation(ticket_id, queue="billing", priority="P1")
    desk.wait_for_item(ticket_id, "breached")
    assert [n["priority"] for n in desk.published(desk.team_inbox, ticket_id)] == ["P1", "P1"]
    escalations.close(ticket_id)


def test_of_two_concurrent_claims_exactly_one_wins_and_the_other_hears_who_has_it(desk):
    ticket_id = desk.new_ticket()
    escalations = desk.service(ONE_HOUR)
    started = escalations.start_escalation(ticket_id, queue="billing", priority="P2")
    desk.wait_for_item(ticket_id, "waiting")
    barrier = threading.Barrier(2)

    def claim(operator_id: str):
        barrier.wait()
        try:
            return escalations.claim(ticket_id, operator_id)
        except EscalationConflict as conflict:
            return conflict

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(claim, ["op-a", "op-b"]))

    (won,) = [r for r in results if not isinstance(r, EscalationConflict)]
    (lost,) = [r for r in results if isinstance(r, EscalationConflict)]
    assert str(lost) == f"ticket {ticket_id} was already claimed by {won.claimed_by}"
    assert desk.finished(started.execution_arn).status == "SUCCEEDED"
    assert desk.tickets.get_ticket(ticket_id).escalation.claimed_by == won.claimed_by


def test_closing_the_ticket_ends_the_escalation(desk):
    ticket_id = desk.new_ticket()
    escalations = desk.service(ONE_HOUR)
    started = escalations.start_escalation(ticket_id, queue="billing", priority="P3")
    desk.wait_for_item(ticket_id, "waiting")

    assert escalations.close(ticket_id).state == "closed"

    finished = desk.finished(started.execution_arn)
    assert (finished.status, finished.output["outcome"]["outcome"]) == ("SUCCEEDED", "closed")
    assert desk.tickets.get_ticket(ticket_id).escalation.state == "closed"
    assert escalations.close(ticket_id) is None, "closing twice is harmless"
    with pytest.raises(EscalationConflict, match="has an escalation that is closed"):
        escalations.claim(ticket_id, "op-7")


def test_a_ticket_closed_before_its_escalation_runs_calls_nobody(desk):
    ticket_id = desk.new_ticket()
    escalations = desk.service(AT_ONCE)
    desk.dynamodb.update_item(
        TableName=TABLE,
        Key=ticket_key(ticket_id),
        UpdateExpression="SET #status = :closed",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":closed": {"S": "closed"}},
    )
    started = escalations.start_escalation(ticket_id, queue="billing", priority="P3")

    assert desk.finished(started.execution_arn).status == "SUCCEEDED"
    assert "escalation" not in desk.item(ticket_id)
    assert desk.published(desk.team_inbox, ticket_id) == []


def test_a_second_start_for_the_same_ticket_returns_the_running_escalation(desk):
    ticket_id = desk.new_ticket()
    escalations = desk.service(ONE_HOUR)
    first = escalations.start_escalation(ticket_id, queue="billing", priority="P3")
    desk.wait_for_item(ticket_id, "waiting")

    second = escalations.start_escalation(ticket_id, queue="billing", priority="P1")

    assert (second.started, second.execution_arn) == (False, first.execution_arn)
    executions = desk.stepfunctions.list_executions(stateMachineArn=desk.state_machine_arn)["executions"]
    assert [e["executionArn"] for e in executions].count(first.execution_arn) == 1
    escalations.close(ticket_id)


def test_claiming_a_ticket_without_a_waiting_escalation_is_refused(desk):
    escalations = desk.service(ONE_HOUR)
    with pytest.raises(EscalationNotFound):
        escalations.claim(desk.new_ticket(), "op-7")
    with pytest.raises(EscalationNotFound):
        escalations.claim(new_ulid(), "op-7")
    with pytest.raises(EscalationNotFound):
        escalations.close(new_ulid())


def test_a_definition_with_a_broken_next_is_rejected(desk):
    """moto's parser checks the syntax, render_definition the references (as Step Functions does)."""
    source = json.loads(DEFINITION_FILE.read_text())
    substitutions = {"TableName": TABLE, "TeamTopicArn": "team", "AlarmTopicArn": "alarm"}

    source["States"]["NotifyTeam"]["Next"] = "NoSuchState"
    with pytest.raises(ValueError, match="NotifyTeam goes to 'NoSuchState', which is not a state"):
        render_definition(substitutions, json.dumps(source))

    source["States"]["NotifyTeam"]["Next"] = ["WaitForClaim"]
    with pytest.raises(ClientError, match="ASLParserException"):
        desk.stepfunctions.create_state_machine(
            name="escalation-broken", definition=json.dumps(source), roleArn=ROLE_ARN
        )

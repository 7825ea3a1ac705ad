"""RouteQueue -> routing decision on the ticket -> escalation and notifications."""

import boto3
from aws_lambda_powertools import Logger

from supportpilot import desk_metrics
from supportpilot.adapters.dynamodb import DynamoTicketStore
from supportpilot.adapters.escalation_store import DynamoEscalationStore
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.adapters.ssm_policy import SsmPolicyOverrides
from supportpilot.adapters.stepfunctions import StepFunctionsEscalationWorkflow
from supportpilot.envelopes import RouteRequest
from supportpilot.escalation import EscalationService, SlaPolicy
from supportpilot.lambda_entry import SqsRecord, sqs_batch_handler
from supportpilot.route import Router
from supportpilot.routing import PolicyProblem, PolicySource
from supportpilot.settings import TableSettings


class Settings(TableSettings):
    notify_queue_url: str
    routing_policy_parameter: str
    escalation_state_machine_arn: str
    sla_seconds_p1: int = 900
    sla_seconds_p2: int = 14_400
    sla_seconds_p3: int = 86_400
    routing_policy_max_age_seconds: float = 60.0


settings = Settings.from_environment()
logger = Logger()


def report_policy_problem(problem: PolicyProblem) -> None:
    logger.error("routing policy override rejected; the previous policy stays in force", extra=problem.model_dump())
    desk_metrics.record(desk_metrics.ROUTING_POLICY_REJECTED)


dynamodb = boto3.client("dynamodb")
router = Router(
    DynamoTicketStore(dynamodb, settings.table_name, settings.ticket_retention_days),
    PolicySource(
        SsmPolicyOverrides(boto3.client("ssm"), settings.routing_policy_parameter),
        on_problem=report_policy_problem,
        max_age_seconds=settings.routing_policy_max_age_seconds,
    ),
    EscalationService(
        DynamoEscalationStore(dynamodb, settings.table_name),
        StepFunctionsEscalationWorkflow(boto3.client("stepfunctions"), settings.escalation_state_machine_arn),
        SlaPolicy(
            p1_seconds=settings.sla_seconds_p1, p2_seconds=settings.sla_seconds_p2, p3_seconds=settings.sla_seconds_p3
        ),
    ),
    SqsWorkQueue(boto3.client("sqs"), settings.notify_queue_url),
)


def route_record(record: SqsRecord) -> None:
    request = RouteRequest.model_validate_json(record.body)
    outcome = router.route(request)
    if outcome is None:
        logger.info("a newer message was routed already", extra={"ticket_id": request.ticket_id})
        return
    decision = outcome.decision
    if outcome.decided_now:
        desk_metrics.record(desk_metrics.routed(decision.automation_level))
    logger.info(
        "ticket routed" if outcome.decided_now else "routed before; its notifications queued again",
        extra={
            "ticket_id": request.ticket_id,
            "queue": decision.queue,
            "priority": decision.priority,
            "automation_level": decision.automation_level,
        },
    )


# Metrics are emitted where they happen (desk_metrics): a batch of redeliveries adds none, and Powertools'
# log_metrics warned "No application metrics to publish" for each such batch.
handler = sqs_batch_handler(logger, route_record)

"""The operator API: /api/... behind API Gateway's Cognito authorizer, /openapi.json and /swagger."""

import json
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.escalation_store import DynamoEscalationStore
from supportpilot.adapters.operator_store import DynamoOperatorStore, SsmRoutingPolicyParameter
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.adapters.stepfunctions import StepFunctionsEscalationWorkflow
from supportpilot.escalation import EscalationService
from supportpilot.lambda_entry import TableSettings
from supportpilot.models import Message, TicketStatus
from supportpilot.operator import Conflict, InvalidRequest, NotAuthenticated, NotPermitted, OperatorDesk
from supportpilot.operator.claims import operator_from_claims
from supportpilot.operator.models import (
    ActionResult,
    HumanLabel,
    LabelCorrectionBody,
    NoteBody,
    Operator,
    ReassignBody,
    ReplyBody,
    RoutingPolicyView,
    SlaState,
    SuggestionDecisionBody,
    TicketDetail,
    TicketFilter,
    TicketPage,
    TicketSummary,
)
from supportpilot.ports import TicketNotFound
from supportpilot.routing import PolicyInvalid

TITLE = "SupportPilot operator API"


class Settings(TableSettings):
    notify_queue_url: str
    routing_policy_parameter: str
    escalation_state_machine_arn: str


settings = Settings.from_environment()
logger = Logger()
dynamodb = boto3.client("dynamodb")
desk = OperatorDesk(
    DynamoOperatorStore(dynamodb, settings.table_name, settings.ticket_retention_days),
    EscalationService(
        DynamoEscalationStore(dynamodb, settings.table_name),
        StepFunctionsEscalationWorkflow(boto3.client("stepfunctions"), settings.escalation_state_machine_arn),
    ),
    SqsWorkQueue(boto3.client("sqs"), settings.notify_queue_url),
    SsmRoutingPolicyParameter(boto3.client("ssm"), settings.routing_policy_parameter),
)
app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(path="/swagger", title=TITLE)
ERROR_STATUS: dict[type[Exception], int] = {
    NotAuthenticated: 401,
    NotPermitted: 403,
    TicketNotFound: 404,
    Conflict: 409,
    InvalidRequest: 422,
    PolicyInvalid: 422,
}


@app.exception_handler(list(ERROR_STATUS))
def domain_error(error: Exception) -> Response:
    status = next(code for kind, code in ERROR_STATUS.items() if isinstance(error, kind))
    message = "Unauthorized" if status == 401 else "ticket not found" if status == 404 else str(error)
    body: dict[str, Any] = {"statusCode": status, "message": message}
    if isinstance(error, InvalidRequest):
        body["field"] = error.field
    logger.info("request refused", extra={"status": status, "error": type(error).__name__})
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def caller() -> Operator:
    return operator_from_claims(app.current_event.request_context.authorizer.claims)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():
    return Response(status_code=200, content_type="application/json", body=app.get_openapi_json_schema(title=TITLE))


@app.get("/api/tickets")
def list_tickets(
    queue: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[TicketStatus | None, Query()] = None,
    priority: Annotated[str | None, Query(pattern="^P[123]$")] = None,
    sla_state: Annotated[SlaState | None, Query()] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> TicketPage:
    criteria = TicketFilter(queue=queue, status=status, priority=priority, sla_state=sla_state, language=language)
    return desk.list_tickets(caller(), criteria, limit, cursor)


@app.get("/api/tickets/<ticket_id>")
def ticket_detail(ticket_id: str) -> TicketDetail:
    return desk.ticket_detail(caller(), ticket_id)


@app.post("/api/tickets/<ticket_id>/claim")
def claim(ticket_id: str) -> ActionResult:
    return desk.claim(caller(), ticket_id)


@app.post("/api/tickets/<ticket_id>/reply")
def reply(ticket_id: str, body: ReplyBody) -> ActionResult:
    return desk.reply(caller(), ticket_id, body)


@app.post("/api/tickets/<ticket_id>/suggestion")
def decide_suggestion(ticket_id: str, body: SuggestionDecisionBody) -> ActionResult:
    return desk.decide_suggestion(caller(), ticket_id, body)


@app.post("/api/tickets/<ticket_id>/labels")
def correct_label(ticket_id: str, body: LabelCorrectionBody) -> HumanLabel:
    return desk.correct_label(caller(), ticket_id, body)


@app.post("/api/tickets/<ticket_id>/notes")
def add_note(ticket_id: str, body: NoteBody) -> Message:
    return desk.add_note(caller(), ticket_id, body)


@app.post("/api/tickets/<ticket_id>/close")
def close(ticket_id: str) -> ActionResult:
    return desk.close(caller(), ticket_id)


@app.post("/api/tickets/<ticket_id>/reopen")
def reopen(ticket_id: str) -> ActionResult:
    return desk.reopen(caller(), ticket_id)


@app.post("/api/tickets/<ticket_id>/reassign")
def reassign(ticket_id: str, body: ReassignBody) -> ActionResult:
    return desk.reassign(caller(), ticket_id, body)


@app.get("/api/breaches")
def breaches() -> list[TicketSummary]:
    return desk.breaches(caller())


@app.get("/api/routing-policy")
def routing_policy() -> RoutingPolicyView:
    return desk.routing_policy(caller())


@app.put("/api/routing-policy")
def set_routing_policy(body: dict[str, Any]) -> RoutingPolicyView:
    return desk.set_routing_policy(caller(), body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

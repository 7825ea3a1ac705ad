"""The operator API: /api/... behind API Gateway's Cognito authorizer, /openapi.json and /swagger."""

import importlib
import json
import pathlib
import re
import threading
from collections.abc import Callable
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.escalation_store import DynamoEscalationStore
from supportpilot.adapters.operator_store import DynamoOperatorStore, SsmRoutingPolicyParameter
from supportpilot.adapters.privacy_store import DynamoCustomerRecords, S3MailObjects
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.adapters.stepfunctions import StepFunctionsEscalationWorkflow
from supportpilot.escalation import EscalationService, WorkflowUnavailable
from supportpilot.learning.ports import VersionNotFound
from supportpilot.models import Message, TicketStatus
from supportpilot.operator.claims import operator_from_claims
from supportpilot.operator.models import (
    ActionResult,
    CustomerLookupBody,
    HumanLabel,
    LabelCorrectionBody,
    NoteBody,
    NotPermitted,
    Operator,
    ReassignBody,
    ReplyBody,
    Role,
    RoutingPolicyView,
    SendCheckBody,
    SlaState,
    SuggestionDecisionBody,
    TicketDetail,
    TicketFilter,
    TicketPage,
    TicketSummary,
)
from supportpilot.operator.service import (
    Conflict,
    InvalidRequest,
    NotAuthenticated,
    OperatorDesk,
    UnconfirmedSendNotFound,
)
from supportpilot.ports import StoreUnavailable, TicketNotFound
from supportpilot.privacy import CustomerExport, CustomerNotFound, CustomerSummary, DataRequestService, ErasureReport
from supportpilot.retention import RetentionSettings
from supportpilot.routing import PolicyInvalid
from supportpilot.settings import TableSettings

TITLE = "SupportPilot operator API"
CustomerId = Annotated[str, Path(pattern="^C[0-9a-f]{24}$")]


class Settings(TableSettings, RetentionSettings):
    notify_queue_url: str
    routing_policy_parameter: str
    escalation_state_machine_arn: str
    mail_bucket: str


class ErasureUnfinished(Exception):
    """An erasure stopped half-way on a store failure; running it again finishes it."""

    def __init__(self) -> None:
        super().__init__("the erasure stopped half-way because storage was unavailable: run the erasure again")


settings = Settings.from_environment()
logger = Logger()
dynamodb = boto3.client("dynamodb")
escalation_workflow = StepFunctionsEscalationWorkflow(
    boto3.client("stepfunctions"), settings.escalation_state_machine_arn
)
desk = OperatorDesk(
    DynamoOperatorStore(dynamodb, settings.table_name, settings.ticket_retention_days),
    EscalationService(
        DynamoEscalationStore(dynamodb, settings.table_name),
        escalation_workflow,
    ),
    SqsWorkQueue(boto3.client("sqs"), settings.notify_queue_url),
    SsmRoutingPolicyParameter(boto3.client("ssm"), settings.routing_policy_parameter),
)
data_requests = DataRequestService(
    DynamoCustomerRecords(dynamodb, settings.table_name, settings.retention_policy()),
    S3MailObjects(boto3.client("s3"), settings.mail_bucket),
    escalation_workflow,
)
app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(path="/swagger", title=TITLE)


def _module_router(name: str) -> Callable[[], Router]:
    return lambda: importlib.import_module(name).router


def _console_router() -> Router:
    from supportpilot.operator.console import console_router

    return console_router(pathlib.Path(__file__).parent / "console")


# Route modules (their imports, clients, the call triager, the console files) load with the first request
# that may need them, so a cold start pays only for what it serves; the OpenAPI document and Swagger UI
# need every route. Each pattern covers every path of its module (tests/integration/test_operator_api.py).
LAZY_ROUTERS: dict[str, tuple[re.Pattern[str], Callable[[], Router]]] = {
    "learning": (
        re.compile(r"^/api/(labels/review|tickets/[^/]+/labels/[^/]+/review|models(/.*)?)$"),
        _module_router("learning_routes"),
    ),
    "timeline": (
        re.compile(r"^/api/(calls(/.*)?|customers/[^/]+/timeline|imports(/.*)?)$"),
        _module_router("timeline_routes"),
    ),
    "workload": (re.compile(r"^/api/(workload|report)$"), _module_router("workload")),
    "console": (re.compile(r"^/console(/.*)?$"), _console_router),
}
DOCUMENT_PATHS = re.compile(r"^/(openapi\.json|swagger.*)$")
_included: set[str] = set()
_including = threading.Lock()  # the local API serves requests from threads


def include_routers_for(path: str) -> None:
    with _including:
        for name, (pattern, load) in LAZY_ROUTERS.items():
            if name not in _included and (pattern.match(path) or DOCUMENT_PATHS.match(path)):
                app.include_router(load())
                _included.add(name)


ERROR_STATUS: dict[type[Exception], int] = {
    NotAuthenticated: 401,
    NotPermitted: 403,
    TicketNotFound: 404,
    CustomerNotFound: 404,
    VersionNotFound: 404,
    UnconfirmedSendNotFound: 404,
    Conflict: 409,
    InvalidRequest: 422,
    PolicyInvalid: 422,
    ErasureUnfinished: 503,
}


@app.exception_handler(list(ERROR_STATUS))
def domain_error(error: Exception) -> Response:
    status = next(code for kind, code in ERROR_STATUS.items() if isinstance(error, kind))
    if status == 401:
        message = "Unauthorized"
    elif isinstance(error, TicketNotFound):
        message = "ticket not found"
    else:
        message = str(error)
    body: dict[str, Any] = {"statusCode": status, "message": message}
    if isinstance(error, InvalidRequest):
        body["field"] = error.field
    logger.info("request refused", extra={"status": status, "error": type(error).__name__})
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def caller() -> Operator:
    return operator_from_claims(app.current_event.request_context.authorizer.claims)


def admin() -> Operator:
    operator = caller()
    operator.require(Role.ADMIN)
    return operator


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
    """An `Idempotency-Key` header makes a repeat of the request answer the first one's result."""
    return desk.reply(caller(), ticket_id, body, app.current_event.headers.get("Idempotency-Key"))


@app.post("/api/tickets/<ticket_id>/unconfirmed-sends/<request_id>/checked")
def check_unconfirmed_send(ticket_id: str, request_id: str, body: SendCheckBody) -> ActionResult:
    """A repeat with the same answer gets the first check's result; another answer is 409."""
    return desk.check_unconfirmed_send(caller(), ticket_id, request_id, body)


@app.post("/api/tickets/<ticket_id>/suggestion")
def decide_suggestion(ticket_id: str, body: SuggestionDecisionBody) -> ActionResult:
    return desk.decide_suggestion(caller(), ticket_id, body)


@app.post("/api/tickets/<ticket_id>/labels")
def correct_label(ticket_id: str, body: LabelCorrectionBody) -> HumanLabel:
    return desk.correct_label(caller(), ticket_id, body)


@app.post("/api/tickets/<ticket_id>/labels/confirm")
def confirm_label(ticket_id: str) -> HumanLabel:
    return desk.confirm_label(caller(), ticket_id)


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


@app.post("/api/customers/lookup")
def find_customer(body: CustomerLookupBody) -> CustomerSummary:
    admin()
    return data_requests.find_customer(body.address)


@app.get("/api/customers/<customer_id>/export")
def export_customer(customer_id: CustomerId) -> CustomerExport:
    admin()
    return data_requests.export(customer_id)


@app.delete("/api/customers/<customer_id>")
def erase_customer(customer_id: CustomerId) -> ErasureReport:
    requested_by = admin().id
    try:
        return data_requests.erase(customer_id, requested_by)
    except (StoreUnavailable, WorkflowUnavailable) as exc:
        logger.warning("erasure unfinished", extra={"reason": str(exc)})  # adapter messages hold no personal data
        raise ErasureUnfinished() from exc


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: LambdaContext) -> dict:
    include_routers_for(event.get("path") or "")
    return app.resolve(event, context)

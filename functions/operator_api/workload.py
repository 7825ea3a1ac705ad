"""GET /api/workload: open, claimed and handled tickets per operator and per team (supervisors)."""

from datetime import date
from typing import Annotated

import boto3
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from supportpilot.adapters.insights_store import DynamoInsightsStore
from supportpilot.insights import WorkloadView
from supportpilot.lambda_entry import TableSettings
from supportpilot.operator.claims import operator_from_claims
from supportpilot.operator.workload import WorkloadDesk

settings = TableSettings.from_environment()
router = Router()
desk = WorkloadDesk(DynamoInsightsStore(boto3.client("dynamodb"), settings.table_name, settings.ticket_retention_days))


@router.get("/api/workload")
def workload(
    from_day: Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD (UTC)")] = None,
    to_day: Annotated[date | None, Query(alias="to", description="last day, included (default today)")] = None,
) -> WorkloadView:
    operator = operator_from_claims(router.current_event.request_context.authorizer.claims)
    return desk.workload(operator, from_day, to_day)

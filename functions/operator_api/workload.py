"""Supervisors' insights: GET /api/workload (open, claimed and handled tickets per operator and per team)
and GET /api/report (the `supportpilot report` page for a period, from the same figures)."""

from datetime import date
from typing import Annotated

import boto3
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from supportpilot.adapters.insights_store import DynamoInsightsStore
from supportpilot.insights import WorkloadView
from supportpilot.operator.claims import operator_from_claims
from supportpilot.operator.workload import WorkloadDesk
from supportpilot.report import CONTENT_SECURITY_POLICY, render_html
from supportpilot.settings import TableSettings

settings = TableSettings.from_environment()
router = Router()
desk = WorkloadDesk(DynamoInsightsStore(boto3.client("dynamodb"), settings.table_name, settings.ticket_retention_days))
FromDay = Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD (UTC)")]
ToDay = Annotated[date | None, Query(alias="to", description="last day, included (default today)")]
REPORT_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@router.get("/api/workload")
def workload(from_day: FromDay = None, to_day: ToDay = None) -> WorkloadView:
    operator = operator_from_claims(router.current_event.request_context.authorizer.claims)
    return desk.workload(operator, from_day, to_day)


@router.get(
    "/api/report",
    responses={
        200: {
            "description": "report.html: one self-contained page (inline SVG charts, no scripts)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
def report(from_day: FromDay = None, to_day: ToDay = None):  # a Response: the HTML page
    operator = operator_from_claims(router.current_event.request_context.authorizer.claims)
    figures = desk.figures(operator, from_day, to_day)
    return Response(
        status_code=200, content_type="text/html; charset=utf-8", body=render_html(figures), headers=REPORT_HEADERS
    )

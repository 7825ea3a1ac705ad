"""Operator API routes of the learning loop: confirm a label, the supervisors' review queue, retrain, model
versions and their promotion (rollback). Included by app.py; errors map there."""

from typing import Annotated

import boto3
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from supportpilot.adapters.label_store import DynamoLabelStore
from supportpilot.adapters.model_store import DynamoModelRegistry
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.learning.desk import LearningDesk, ModelList, RetrainBody, RetrainQueued, ReviewDecisionBody
from supportpilot.operator.claims import operator_from_claims
from supportpilot.operator.models import HumanLabel, Operator
from supportpilot.settings import TableSettings


class LearningSettings(TableSettings):
    retrain_queue_url: str


Version = Annotated[str, Path(pattern="^[0-9A-Z]{26}$")]
settings = LearningSettings.from_environment()
dynamodb = boto3.client("dynamodb")
learning = LearningDesk(
    DynamoLabelStore(dynamodb, settings.table_name, settings.ticket_retention_days),
    DynamoModelRegistry(dynamodb, settings.table_name, settings.ticket_retention_days),
    SqsWorkQueue(boto3.client("sqs"), settings.retrain_queue_url),
)
router = Router()


def caller() -> Operator:
    return operator_from_claims(router.current_event.request_context.authorizer.claims)


@router.get("/api/labels/review")
def review_queue() -> list[HumanLabel]:
    return learning.review_queue(caller())


@router.post("/api/tickets/<ticket_id>/labels/<label_id>/review")
def review_label(ticket_id: str, label_id: str, body: ReviewDecisionBody) -> HumanLabel:
    return learning.review(caller(), ticket_id, label_id, body)


@router.post("/api/models/retrain")
def request_retrain(body: RetrainBody | None = None) -> RetrainQueued:
    return learning.request_retrain(caller(), body or RetrainBody())


@router.get("/api/models")
def models() -> ModelList:
    return learning.models(caller())


@router.post("/api/models/<version>/promote")
def promote(version: Version) -> ModelList:
    return learning.promote(caller(), version)

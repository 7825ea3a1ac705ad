"""GET /csat/{token}: the 1-5 rating choices; POST /csat/{token}: records the customer's one vote.

Public (no authorizer): the signed token is the authorisation. Pages are HTML with no scripts.
"""

from urllib.parse import parse_qs

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from supportpilot.adapters.csat_store import DynamoCsatStore
from supportpilot.csat import (
    AlreadyRated,
    CsatService,
    CsatSigner,
    LinkExpired,
    LinkInvalid,
    choice_page,
    message_page,
    page_language,
)
from supportpilot.settings import TableSettings


class Settings(TableSettings):
    csat_secret_id: str
    csat_link_days: int = 30


settings = Settings.from_environment()
logger = Logger()
store = DynamoCsatStore(boto3.client("dynamodb"), settings.table_name, settings.ticket_retention_days)
app = APIGatewayRestResolver()
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def service() -> CsatService:
    secret = parameters.get_secret(settings.csat_secret_id, transform="json", max_age=300)
    return CsatService(CsatSigner.from_secret(secret, settings.csat_link_days), store)


def page(status: int, html: str) -> Response:
    return Response(status_code=status, content_type="text/html; charset=utf-8", body=html, headers=HEADERS)


def refused(error: Exception) -> Response:
    status, key = (410, "expired") if isinstance(error, LinkExpired) else (403, "invalid")
    logger.info("rating link refused", extra={"status": status, "error": type(error).__name__})
    return page(status, message_page(None, key))


@app.get("/csat/<token>")
def show_choices(token: str) -> Response:
    try:
        ticket = service().ticket_for(token)
    except (LinkInvalid, LinkExpired) as error:
        return refused(error)
    language = page_language(ticket)
    return page(200, message_page(language, "already") if ticket.csat else choice_page(language))


@app.post("/csat/<token>")
def record_vote(token: str) -> Response:
    form = parse_qs(app.current_event.decoded_body or "")
    chosen = form.get("rating", [""])[0]
    desk = service()
    try:
        ticket = desk.ticket_for(token)
    except (LinkInvalid, LinkExpired) as error:
        return refused(error)
    language = page_language(ticket)
    if not chosen.isdigit() or not 1 <= int(chosen) <= 5:
        return page(400, message_page(language, "bad_rating"))
    try:
        desk.vote(token, int(chosen))
    except AlreadyRated:
        return page(409, message_page(language, "already"))
    except (LinkInvalid, LinkExpired) as error:
        return refused(error)
    logger.info("rating recorded", extra={"ticket_id": ticket.id})
    return page(200, message_page(language, "thanks"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

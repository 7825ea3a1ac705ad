"""Insights on the local stack: CSAT links in replies and their public endpoint, the supervisors'
workload route, `supportpilot report` on stored tickets, and the hourly product-trend check."""

import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import boto3
import pytest

from supportpilot.adapters.dynamodb import serialise
from supportpilot.adapters.insights_store import DynamoInsightsStore
from supportpilot.adapters.trend_store import DynamoTrendStore
from supportpilot.cli import main
from supportpilot.csat import CsatSigner
from supportpilot.local.event_sources import proxy_event
from supportpilot.models import TicketStatus, utc_now
from supportpilot.trends import Complaint
from tests.integration.test_decision_chain import ago, load_event, mail_ticket, post_shopify_order
from tests.integration.test_operator_api import escalated_ticket
from tests.unit.test_insights import make_ticket

AGENT, SUPERVISOR = "agent@example.com", "supervisor@example.com"


@pytest.fixture(scope="module")
def shop(pipeline):
    post_shopify_order(pipeline, "shopify_orders_create_vip")
    post_shopify_order(pipeline, "shopify_orders_create_kettle")
    post_shopify_order(pipeline, "shopify_orders_fulfilled")
    delivered = json.loads(load_event("receive_webhook/shopify_orders_updated_delivered.json")["body"])
    assert delivered["fulfillments"]
    post_shopify_order(pipeline, "shopify_orders_updated_delivered", created_at=ago(6), updated_at=ago(3))
    pipeline.drain()
    return pipeline


def call_csat(desk, method: str, token: str, rating: str | None = None) -> dict:
    function = desk.stack.functions["CsatFunction"]
    path = f"/csat/{token}"
    route = next(r for r in function.spec.api_routes if r.match(method, path) is not None)
    body = urlencode({"rating": rating}).encode() if rating is not None else b""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = function.invoke(proxy_event(method, path, headers, body, route))
    return {"status": response["statusCode"], "html": response["body"]}


def signing_key(desk) -> bytes:
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=desk.stack.physical_id("CsatSigningSecret"))
    return json.loads(secret["SecretString"])["signing_key"].encode()


@pytest.fixture(scope="module")
def answered(shop):
    """An order-status mail answered automatically; the reply carries the rating link."""
    ticket = mail_ticket(shop, "order_status_tracking_en")
    (reply,) = [m for m in shop.store.messages(ticket.id) if m.direction == "outbound"]
    return ticket, reply


def test_an_automated_reply_carries_a_signed_rating_link_and_counts_as_first_response(shop, answered):
    ticket, reply = answered
    assert "Rate us from 1 to 5" in reply.body
    token = re.search(r"/csat/(\S+)", reply.body)[1]
    assert token.startswith(f"{ticket.id}.")
    assert shop.store.get_ticket(ticket.id).first_response_at is not None


def test_only_the_operator_reply_that_closes_the_ticket_asks_for_a_rating(shop):
    ticket = escalated_ticket(shop)
    agent = shop.operator_token(AGENT)
    midway = {"text": "We are looking into it and will write again tomorrow."}
    closing = {"text": "The replacement has been sent. Thank you for your patience.", "close": True}
    assert shop.call_operator_api("POST", f"/api/tickets/{ticket.id}/reply", agent, midway)["status"] == 200
    closed = shop.call_operator_api("POST", f"/api/tickets/{ticket.id}/reply", agent, closing)
    assert closed["status"] == 200 and closed["body"]["status"] == "closed"
    shop.drain()

    replies = {m.body.split("\n")[0]: m.body for m in shop.store.messages(ticket.id) if m.direction == "outbound"}
    assert "/csat/" not in replies[midway["text"]]
    assert "Rate us from 1 to 5" in replies[closing["text"]]
    assert re.search(r"/csat/(\S+)", replies[closing["text"]])[1].startswith(f"{ticket.id}.")
    stored = shop.store.get_ticket(ticket.id)
    assert stored.status == "closed" and stored.closed_by == closed_by_operator(shop, ticket.id)


def closed_by_operator(shop, ticket_id: str) -> str:
    (entry,) = [e for e in shop.store.audit_trail(ticket_id) if e.action == "closed"]
    assert entry.actor.kind == "operator"
    return entry.actor.id


def test_a_customer_rates_once_through_the_link_and_a_reused_link_records_nothing(shop, answered):
    ticket, reply = answered
    token = re.search(r"/csat/(\S+)", reply.body)[1]
    page = call_csat(shop, "GET", token)
    assert page["status"] == 200 and 'name="rating" value="5"' in page["html"]
    assert shop.store.get_ticket(ticket.id).csat is None, "opening the link records nothing"

    assert call_csat(shop, "POST", token, "4")["status"] == 200
    assert shop.store.get_ticket(ticket.id).csat.rating == 4

    again = call_csat(shop, "POST", token, "1")
    assert again["status"] == 409 and "rated already" in again["html"]
    assert shop.store.get_ticket(ticket.id).csat.rating == 4
    assert [e.actor.kind for e in shop.store.audit_trail(ticket.id) if e.action == "csat_rated"] == ["customer"]


def test_forged_expired_and_malformed_links_and_bad_ratings_are_refused_and_record_nothing(shop):
    ticket = mail_ticket(shop, "out_of_scope_en")
    key = signing_key(shop)
    genuine = CsatSigner(key).token(ticket.id)
    forged = CsatSigner(b"another-key-that-is-long-enough-0123456789").token(ticket.id)
    tampered = genuine.replace(ticket.id, ticket.id[:-1] + ("A" if ticket.id[-1] != "A" else "B"))
    expired = CsatSigner(key, valid_days=1, clock=lambda: utc_now() - timedelta(days=2)).token(ticket.id)
    for token, status in ((forged, 403), (tampered, 403), ("not-a-token", 403), (expired, 410)):
        assert call_csat(shop, "POST", token, "5")["status"] == status, token
        assert call_csat(shop, "GET", token)["status"] == status
    assert call_csat(shop, "POST", genuine, "9")["status"] == 400
    assert call_csat(shop, "POST", genuine, "")["status"] == 400
    assert shop.store.get_ticket(ticket.id).csat is None


def test_the_workload_route_is_for_supervisors(shop):
    waiting = mail_ticket(shop, "privacy_request_nl")
    shop.ticket_once(waiting.id, lambda t: t.escalation is not None)
    agent, supervisor = shop.operator_token(AGENT), shop.operator_token(SUPERVISOR)
    assert shop.call_operator_api("GET", "/api/workload", agent)["status"] == 403
    assert shop.call_operator_api("GET", "/api/workload")["status"] == 401
    response = shop.call_operator_api("GET", "/api/workload", supervisor)
    assert response["status"] == 200
    view = response["body"]
    assert view["days"] == 7
    teams = {row["key"]: row for row in view["teams"]}
    assert teams, "the stack has tickets waiting on a person"
    assert all(set(row) >= {"open", "claimed", "handled", "handled_per_day", "sla_breaches"} for row in view["teams"])


def test_the_workload_shows_what_an_operator_claimed_and_closed(shop):
    supervisor = shop.operator_token(SUPERVISOR)
    ticket = mail_ticket(shop, "privacy_request_nl")
    shop.ticket_once(ticket.id, lambda t: t.escalation is not None and t.escalation.state == "waiting")
    for _ in range(100):  # the execution stores its task token after recording the tier
        if shop.call_operator_api("POST", f"/api/tickets/{ticket.id}/claim", supervisor)["status"] == 200:
            break
    assert shop.call_operator_api("POST", f"/api/tickets/{ticket.id}/close", supervisor)["status"] == 200
    closed = shop.store.get_ticket(ticket.id)
    assert closed.closed_at is not None and closed.closed_by is not None
    today = date.today().isoformat()
    view = shop.call_operator_api("GET", f"/api/workload?from={today}&to={today}", supervisor)["body"]
    (me,) = [row for row in view["operators"] if row["key"] == closed.closed_by]
    assert me["handled"] >= 1 and me["median_handling_seconds"] is not None


@pytest.mark.parametrize("query", ["from=2026-03-08&to=2026-03-01", "from=2020-01-01&to=2026-01-01", "from=yesterday"])
def test_a_bad_workload_period_is_refused_naming_it(shop, query):
    response = shop.call_operator_api("GET", f"/api/workload?{query}", shop.operator_token(SUPERVISOR))
    assert response["status"] == 422


def test_supportpilot_report_reads_the_stored_tickets(shop, tmp_path, capsys):
    table = shop.stack.physical_id("DeskTable")
    dynamodb = boto3.client("dynamodb")
    generated = [
        make_ticket(datetime(2025, 6, 2, 9, tzinfo=UTC), "return_request", first_response_after=timedelta(hours=2)),
        make_ticket(datetime(2025, 6, 3, 9, tzinfo=UTC), "return_request", first_response_after=timedelta(hours=4)),
        make_ticket(datetime(2025, 6, 3, 9, tzinfo=UTC), "product_defect", rating=5),
    ]
    for ticket in generated:
        dynamodb.put_item(TableName=table, Item=serialise(shop.store._ticket_item(ticket)))

    code = main(["report", "--from", "2025-06-01", "--to", "2025-06-07", "--out", str(tmp_path), "--table", table])

    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tickets"] == 3
    assert summary["by_category"] == {"return_request": 2, "product_defect": 1}
    assert summary["first_response"]["median_seconds"] == 3 * 3600
    assert summary["csat"]["average"] == 5
    assert "3.0 h" in (tmp_path / "report.html").read_text()
    assert json.loads(capsys.readouterr().out)["html"].endswith("report.html")


def test_the_period_s_tickets_come_from_the_indexes_without_reading_older_ones(shop):
    """Created, closed or breached since the start, or waiting on a person: two index queries, never a table scan
    (a scan reads every message and audit entry the table keeps, and times out on a year of them)."""
    table = shop.stack.physical_id("DeskTable")
    dynamodb = boto3.client("dynamodb")
    start = datetime(2024, 6, 1, tzinfo=UTC)
    created_in = make_ticket(start + timedelta(days=1), closed_after=timedelta(hours=3))
    closed_in = make_ticket(start - timedelta(days=30))
    closed_before = make_ticket(start - timedelta(days=60), closed_after=timedelta(days=1))
    waiting = make_ticket(start - timedelta(days=90))
    breached_in = make_ticket(start - timedelta(hours=2), status=TicketStatus.ROUTED, breached=True)
    quiet = make_ticket(start - timedelta(days=30), status=TicketStatus.ROUTED)
    for ticket in (created_in, closed_in, closed_before, waiting, breached_in, quiet):
        dynamodb.put_item(TableName=table, Item=serialise(shop.store._ticket_item(ticket)))
    closing = closed_in.model_copy(update={"status": TicketStatus.CLOSED, "closed_at": start + timedelta(days=4)})
    shop.store.save_ticket_fields(closing, ["status", "closed_at"], None, TicketStatus.WAITING_ON_HUMAN)

    def no_scan(**_):
        raise AssertionError("a table scan")

    dynamodb.meta.events.register("before-call.dynamodb.Scan", no_scan)
    store = DynamoInsightsStore(dynamodb, table, retention_days=730)

    found = {ticket.id for ticket in store.tickets_touching(start)}

    mine = {ticket.id for ticket in (created_in, closed_in, closed_before, waiting, breached_in, quiet)}
    assert found & mine == {created_in.id, closed_in.id, waiting.id, breached_in.id}


def test_report_refuses_a_period_that_ends_before_it_starts(tmp_path, capsys):
    code = main(["report", "--from", "2025-06-07", "--to", "2025-06-01", "--out", str(tmp_path), "--table", "x"])
    assert code == 2
    assert "ends" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_a_defect_ticket_is_counted_for_the_skus_of_its_order(shop):
    ticket = mail_ticket(shop, "html_only_en")
    assert ticket.triage is not None and ticket.triage.category == "product_defect"
    store = DynamoTrendStore(boto3.client("dynamodb"), shop.stack.physical_id("DeskTable"))
    mine = [
        c
        for c in store.complaints_between(ticket.created_at, utc_now() + timedelta(seconds=1))
        if c.ticket_id == ticket.id
    ]
    assert mine and all(c.sku and c.category == "product_defect" for c in mine)


def test_the_hourly_check_notifies_the_product_team_once_per_spike(shop):
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    inbox = sqs.create_queue(QueueName="product-team-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=shop.stack.physical_id("ProductTeamTopic"), Protocol="sqs", Endpoint=inbox_arn)
    store = DynamoTrendStore(boto3.client("dynamodb"), shop.stack.physical_id("DeskTable"))
    now = utc_now()
    store.record_complaints(
        [
            Complaint(
                ticket_id=f"TSPIKE{n:020d}",
                sku="SPIKE-42",
                title="Toaster",
                category="product_defect",
                at=now - timedelta(hours=n + 1),
            )
            for n in range(6)
        ]
    )
    check = shop.stack.functions["TrendAlertFunction"]

    first = check.invoke({"source": "aws.events", "detail-type": "Scheduled Event"})
    second = check.invoke({"source": "aws.events", "detail-type": "Scheduled Event"})

    assert "SPIKE-42" in first["alerted"]
    assert second["alerted"] == [] and "SPIKE-42" in second["still_alerting"]
    messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    texts = [json.loads(m["Body"])["Message"] for m in messages]
    assert len([t for t in texts if "SPIKE-42" in t]) == 1
    assert "6 complaints in the last 24 h" in texts[0] and "TSPIKE" in texts[0]


def test_the_report_route_serves_the_cli_report_to_supervisors_under_a_strict_policy(shop, tmp_path):
    table = shop.stack.physical_id("DeskTable")
    dynamodb = boto3.client("dynamodb")
    for ticket in (
        make_ticket(datetime(2025, 9, 2, 9, tzinfo=UTC), "return_request", first_response_after=timedelta(hours=1)),
        make_ticket(datetime(2025, 9, 3, 9, tzinfo=UTC), "return_request"),
        make_ticket(datetime(2025, 9, 3, 9, tzinfo=UTC), "product_defect", rating=4),
    ):
        dynamodb.put_item(TableName=table, Item=serialise(shop.store._ticket_item(ticket)))
    path = "/api/report?from=2025-09-01&to=2025-09-07"
    assert shop.call_operator_api("GET", path)["status"] == 401
    assert shop.call_operator_api("GET", path, shop.operator_token(AGENT))["status"] == 403

    response = shop.call_operator_api("GET", path, shop.operator_token(SUPERVISOR))

    assert response["status"] == 200
    assert response["headers"]["content-type"].startswith("text/html")
    policy = response["headers"]["content-security-policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "script-src" not in policy
    assert response["headers"]["cache-control"] == "no-store"
    html = response["body"]
    assert "SupportPilot report: 2025-09-01 to 2025-09-07" in html
    assert 'aria-label="tickets per day by category"' in html and "return_request (2)" in html
    assert main(["report", "--from", "2025-09-01", "--to", "2025-09-07", "--out", str(tmp_path), "--table", table]) == 0
    assert html == (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-08&to=2026-03-01", "from"),
        ("from=2020-01-01&to=2026-01-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
    ],
)
def test_a_bad_report_period_is_refused_naming_the_field(shop, query, field):
    response = shop.call_operator_api("GET", f"/api/report?{query}", shop.operator_token(SUPERVISOR))
    assert response["status"] == 422
    body = response["body"]
    named = body.get("field") or body["detail"][0]["loc"][-1]
    assert named == field

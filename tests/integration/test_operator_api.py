"""The operator API through the local runtime's API Gateway emulation: Cognito tokens from moto, the
authorizer's claims, the real handler, and the pipeline behind it."""

import json
import re
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.cognitoidp.models import cognitoidp_backends
from openapi_spec_validator import validate

from supportpilot.adapters.dynamodb import ticket_key
from supportpilot.adapters.insights_store import DynamoInsightsStore
from supportpilot.cli import main
from supportpilot.ids import new_ulid
from supportpilot.local.cognito import CognitoAuthorizer
from supportpilot.local.event_sources import LocalApi, proxy_event
from supportpilot.local.stack import ACCOUNT_ID, REGION, FakeLambdaContext, import_handler
from supportpilot.models import Channel, CustomerIdentity, EscalationState, Ticket, TicketStatus
from supportpilot.ports import DeliveryRecord
from tests.integration.test_decision_chain import (
    mail_ticket,
    mailed_question,
    post_platform_event,
    post_shopify_order,
    reply_to,
)

AGENT, SUPERVISOR, ADMIN = "agent@example.com", "supervisor@example.com", "admin@example.com"


@pytest.fixture(scope="module")
def desk(pipeline):
    post_shopify_order(pipeline, "shopify_orders_create_vip")
    pipeline.drain()
    return pipeline


@pytest.fixture(scope="module")
def tokens(desk) -> dict[str, str]:
    return {email: desk.operator_token(email) for email in (AGENT, SUPERVISOR, ADMIN)}


def subject_of(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def escalated_ticket(desk) -> Ticket:
    """A ticket whose escalation waits on its task token."""
    return desk.ticket_at_rest(mail_ticket(desk, "out_of_scope_en").id)


def expired_token(desk) -> str:
    (pool,) = desk.stack.user_pools.values()
    moto_pool = cognitoidp_backends[ACCOUNT_ID][REGION].user_pools[pool.pool_id]
    token, _ = moto_pool.create_jwt(pool.client_ids[0], AGENT, "id", expires_in=-60)
    return token


def test_without_a_valid_token_every_operator_route_answers_401(desk, tokens):
    assert desk.call_operator_api("GET", "/api/tickets")["status"] == 401
    assert desk.call_operator_api("GET", "/api/tickets", token=expired_token(desk))["status"] == 401
    assert desk.call_operator_api("GET", "/api/tickets", token=tokens[AGENT][:-4] + "AAAA")["status"] == 401
    assert desk.call_operator_api("GET", "/openapi.json")["status"] == 401


def test_an_agent_may_not_see_breaches_reassign_or_change_the_routing_policy(desk, tokens):
    ticket = escalated_ticket(desk)
    agent = tokens[AGENT]
    assert desk.call_operator_api("GET", "/api/breaches", agent)["status"] == 403
    reassign = desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/reassign", agent, {"queue": "billing"})
    assert reassign["status"] == 403
    assert desk.call_operator_api("GET", "/api/routing-policy", tokens[SUPERVISOR])["status"] == 403
    assert desk.call_operator_api("GET", "/api/breaches", tokens[SUPERVISOR])["status"] == 200


def test_a_supervisor_reassigns_a_ticket_and_the_audit_trail_names_them(desk, tokens):
    ticket = escalated_ticket(desk)
    moved = desk.call_operator_api(
        "POST", f"/api/tickets/{ticket.id}/reassign", tokens[SUPERVISOR], {"queue": "billing"}
    )
    assert moved["status"] == 200
    queue = desk.call_operator_api("GET", "/api/tickets?queue=billing", tokens[AGENT])["body"]["tickets"]
    assert ticket.id in [t["id"] for t in queue]
    (entry,) = [e for e in desk.store.audit_trail(ticket.id) if e.action == "reassigned"]
    assert entry.actor.kind == "operator" and entry.actor.id == subject_of(tokens[SUPERVISOR])


def test_the_queue_is_paged_with_an_opaque_cursor(desk, tokens):
    for _ in range(3):
        escalated_ticket(desk)
    first = desk.call_operator_api("GET", "/api/tickets?queue=general&limit=2", tokens[AGENT])["body"]
    assert len(first["tickets"]) == 2 and first["next_cursor"]
    second = desk.call_operator_api(
        "GET", f"/api/tickets?queue=general&limit=2&cursor={first['next_cursor']}", tokens[AGENT]
    )["body"]
    assert not {t["id"] for t in first["tickets"]} & {t["id"] for t in second["tickets"]}
    bad = desk.call_operator_api("GET", "/api/tickets?queue=general&cursor=bm90LWEtY3Vyc29y", tokens[AGENT])
    assert bad["status"] == 422 and bad["body"]["field"] == "cursor"


def open_ticket(
    desk,
    queue: str,
    due: datetime | None = None,
    status: TicketStatus = TicketStatus.WAITING_ON_HUMAN,
    claimed_at: datetime | None = None,
    breached: bool = False,
):
    """A ticket written as the ingest stage writes one, with an escalation due at `due` when given, claimed at
    `claimed_at` when given, or breached."""
    now = datetime.now(UTC)
    escalation = None
    if due is not None:
        state = "claimed" if claimed_at is not None else "breached" if breached else "waiting"
        escalation = EscalationState(state=state, sla_due_at=due, claimed_at=claimed_at)
    ticket = Ticket(
        id=new_ulid(),
        channel=Channel.EMAIL,
        customer=CustomerIdentity(id=f"c-{uuid.uuid4().hex}", kind="email", value="klant@example.nl"),
        subject="Waar blijft mijn pakket?",
        status=status,
        created_at=now,
        updated_at=now,
        queue=queue,
        priority="P2",
        escalation=escalation,
    )
    desk.store.record_delivery(DeliveryRecord(dedupe_key=f"test-{ticket.id}", ticket=ticket, is_new_ticket=True))
    return ticket


def queue_ids(desk, token: str, query: str) -> tuple[list[str], str | None]:
    page = desk.call_operator_api("GET", f"/api/tickets?{query}", token)["body"]
    return [t["id"] for t in page["tickets"]], page["next_cursor"]


def test_the_queue_lists_the_open_tickets_of_every_queue_the_earliest_due_first(desk, tokens):
    """Due times long past: earlier than any other ticket's in the module, so these lead the queue."""
    agent = tokens[AGENT]
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    for _ in range(3):
        open_ticket(desk, "general")  # no SLA: after every ticket with one
    claimed = open_ticket(desk, "billing", long_ago, claimed_at=long_ago)  # someone works on it: after the others
    third = open_ticket(desk, "returns", long_ago + timedelta(seconds=3))
    first = open_ticket(desk, "billing", long_ago + timedelta(seconds=1))
    closed = open_ticket(desk, "billing", long_ago, status=TicketStatus.CLOSED)
    second = open_ticket(desk, "privacy", long_ago + timedelta(seconds=2))

    page, cursor = queue_ids(desk, agent, "limit=2")
    assert page == [first.id, second.id]
    assert queue_ids(desk, agent, f"limit=1&cursor={cursor}")[0] == [third.id]
    assert queue_ids(desk, agent, "queue=returns&limit=1")[0] == [third.id]
    assert queue_ids(desk, agent, "queue=billing&status=waiting_on_human&limit=1")[0] == [first.id]
    assert closed.id in queue_ids(desk, agent, "status=closed&limit=100")[0]
    every = queue_ids(desk, agent, "limit=100")[0]
    assert every.index(third.id) < every.index(claimed.id)

    assert desk.call_operator_api("POST", f"/api/tickets/{first.id}/close", agent)["status"] == 200
    assert queue_ids(desk, agent, "limit=2")[0] == [second.id, third.id]
    assert desk.call_operator_api("POST", f"/api/tickets/{first.id}/reopen", agent)["status"] == 200
    reopened, _ = queue_ids(desk, agent, "limit=100")
    assert reopened[:2] == [second.id, third.id] and first.id in reopened, "its escalation ended: no due time"


def test_closed_tickets_are_listed_the_latest_closed_first(desk, tokens):
    agent = tokens[AGENT]
    tickets = [open_ticket(desk, "closed-listing") for _ in range(3)]
    for ticket in tickets:
        assert desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/close", agent)["status"] == 200
    first, second, third = tickets

    page, cursor = queue_ids(desk, agent, "status=closed&queue=closed-listing&limit=2")

    assert page == [third.id, second.id]
    assert queue_ids(desk, agent, f"status=closed&queue=closed-listing&limit=2&cursor={cursor}")[0] == [first.id]


def test_supervisors_see_the_unclaimed_breached_tickets_of_every_queue_the_longest_overdue_first(desk, tokens):
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    later = open_ticket(desk, "privacy", hour_ago, breached=True)
    earlier = open_ticket(desk, "unassigned", hour_ago - timedelta(minutes=5), breached=True)
    overdue = open_ticket(desk, "billing", hour_ago)  # its breach is not recorded yet
    claimed = open_ticket(desk, "billing", hour_ago, claimed_at=hour_ago)
    closed = open_ticket(desk, "billing", hour_ago, status=TicketStatus.CLOSED, breached=True)

    breaches = desk.call_operator_api("GET", "/api/breaches", tokens[SUPERVISOR])["body"]

    ids = [ticket["id"] for ticket in breaches]
    assert ids.index(earlier.id) < ids.index(later.id)
    assert not {overdue.id, claimed.id, closed.id} & set(ids)
    assert {ticket["sla_state"] for ticket in breaches} == {"breached"}


def test_supportpilot_reindex_gives_tickets_from_before_the_indexes_their_keys(desk, tokens, capsys):
    agent = tokens[AGENT]
    table = desk.stack.physical_id("DeskTable")
    older = open_ticket(desk, "returns", datetime(2000, 1, 1, tzinfo=UTC))
    closed = open_ticket(desk, "returns", datetime(2000, 1, 1, tzinfo=UTC), status=TicketStatus.CLOSED)
    for ticket in (older, closed):  # as a stack deployed before the indexes wrote them
        boto3.client("dynamodb").update_item(
            TableName=table, Key=ticket_key(ticket.id), UpdateExpression="REMOVE gsi4pk, gsi4sk, gsi5pk, gsi5sk"
        )
    insights = DynamoInsightsStore(boto3.client("dynamodb"), table, retention_days=730)
    assert older.id not in queue_ids(desk, agent, "limit=100")[0]
    assert closed.id not in {ticket.id for ticket in insights.tickets_touching(closed.created_at)}

    assert main(["reindex", "--table", table]) == 0

    assert json.loads(capsys.readouterr().out) == {"indexed": 2}
    assert queue_ids(desk, agent, "limit=1")[0] == [older.id]
    assert closed.id in {ticket.id for ticket in insights.tickets_touching(closed.created_at)}, "in the workload"
    assert main(["reindex", "--table", table]) == 0
    assert json.loads(capsys.readouterr().out) == {"indexed": 0}
    assert closed.id not in queue_ids(desk, agent, "limit=100")[0]
    assert desk.call_operator_api("POST", f"/api/tickets/{older.id}/close", agent)["status"] == 200


def test_an_unknown_ticket_is_404(desk, tokens):
    assert desk.call_operator_api("GET", "/api/tickets/01JUNKNOWN0000000000000000", tokens[AGENT])["status"] == 404


def test_an_invalid_body_is_422_naming_the_field(desk, tokens):
    ticket = escalated_ticket(desk)
    response = desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/reply", tokens[AGENT], {"txt": "hi"})
    assert response["status"] == 422
    assert any(problem["loc"][-1] == "text" for problem in response["body"]["detail"])
    bad_policy = desk.call_operator_api("PUT", "/api/routing-policy", tokens[ADMIN], {"version": "yesterday"})
    assert bad_policy["status"] == 422 and "version" in bad_policy["body"]["message"]


def test_an_admin_reads_and_replaces_the_routing_policy(desk, tokens):
    current = desk.call_operator_api("GET", "/api/routing-policy", tokens[ADMIN])["body"]
    assert current["overridden"] is False
    policy = current["policy"] | {"version": "2099-01-01.1"}
    stored = desk.call_operator_api("PUT", "/api/routing-policy", tokens[ADMIN], policy)
    assert stored["status"] == 200
    parameter = desk.stack.environment["ROUTING_POLICY_PARAMETER"]
    value = boto3.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    assert json.loads(value)["version"] == "2099-01-01.1"
    boto3.client("ssm").delete_parameter(Name=parameter)  # the other tests route with the default policy


def test_a_suggestion_handled_by_someone_else_is_409_naming_them(desk, tokens):
    ticket = mail_ticket(desk, "vip_late_order_nl")
    assert ticket.routing is not None and ticket.routing.suggested_action is not None
    path = f"/api/tickets/{ticket.id}/suggestion"
    assert desk.call_operator_api("POST", path, tokens[SUPERVISOR], {"decision": "approved"})["status"] == 200
    again = desk.call_operator_api("POST", path, tokens[AGENT], {"decision": "rejected"})
    assert again["status"] == 409
    assert "approved" in again["body"]["message"] and subject_of(tokens[SUPERVISOR]) in again["body"]["message"]
    assert desk.store.get_ticket(ticket.id).routing.suggested_action.status == "approved"


def test_a_claim_completes_the_escalation_and_a_second_claim_is_409(desk, tokens):
    ticket = escalated_ticket(desk)
    path = f"/api/tickets/{ticket.id}/claim"
    assert desk.call_operator_api("POST", path, tokens[AGENT])["status"] == 200
    second = desk.call_operator_api("POST", path, tokens[SUPERVISOR])
    assert second["status"] == 409 and subject_of(tokens[AGENT]) in second["body"]["message"]
    stepfunctions = boto3.client("stepfunctions")
    for _ in range(200):  # the execution ends in moto's thread
        status = stepfunctions.describe_execution(executionArn=ticket.escalation.execution_arn)["status"]
        if status != "RUNNING":
            break
        time.sleep(0.05)
    assert status == "SUCCEEDED"
    detail = desk.call_operator_api("GET", f"/api/tickets/{ticket.id}", tokens[AGENT])["body"]
    assert detail["sla_state"] == "claimed" and detail["escalation"]["claimed_by"] == subject_of(tokens[AGENT])


def test_replying_to_a_closed_ticket_is_409_until_it_is_reopened(desk, tokens):
    ticket = escalated_ticket(desk)
    agent = tokens[AGENT]
    assert desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/close", agent)["status"] == 200
    assert desk.store.get_ticket(ticket.id).escalation.state == "closed"
    refused = desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/reply", agent, {"text": "Hello"})
    assert refused["status"] == 409 and "closed" in refused["body"]["message"]
    assert desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/close", agent)["status"] == 409
    assert desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/reopen", agent)["status"] == 200
    assert desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/reply", agent, {"text": "Hello"})["status"] == 200


def test_a_thank_you_after_the_ticket_was_closed_leaves_it_closed_and_a_question_reopens_it(desk, tokens):
    """Reopened, a "Bedankt!" got a new escalation and team alert, and a person had to close the ticket again."""
    ticket, customer, question_id = mailed_question(desk)
    subject = "Waar blijft mijn bestelling #1001?"
    ticket = desk.ticket_at_rest(ticket.id)
    assert desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/close", tokens[AGENT])["status"] == 200
    reply_to(desk, customer, question_id, "Bedankt!", subject=subject)
    after = desk.store.get_ticket(ticket.id)
    assert after.status == TicketStatus.CLOSED and after.escalation.state != "waiting"
    assert len(desk.inbound_messages(ticket.id)) == 2
    assert [e.action for e in desk.store.audit_trail(ticket.id)][-2:] == ["triaged", "ticket_closed_again"]
    reply_to(desk, customer, question_id, "Bedankt! Maar waar is het pakket nu?", subject=subject)
    after = desk.ticket_once(ticket.id, lambda t: t.escalation is not None and t.escalation.state == "waiting")
    assert after.status == TicketStatus.WAITING_ON_HUMAN and after.escalation.state == "waiting"


def test_a_label_correction_is_stored_as_a_human_label_and_audited_with_the_model_result(desk, tokens):
    ticket = escalated_ticket(desk)
    assert ticket.triage is not None
    body = {"category": "billing", "high_emotional_load": True}
    assert desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/labels", tokens[AGENT], body)["status"] == 200
    detail = desk.call_operator_api("GET", f"/api/tickets/{ticket.id}", tokens[AGENT])["body"]
    operator_id = subject_of(tokens[AGENT])
    (label,) = detail["labels"]
    assert label["category"] == "billing" and label["operator_id"] == operator_id
    assert label["message_id"] == ticket.triaged_message_id
    assert detail["ticket"]["triage"]["category"] == "billing"
    assert any(operator_id in reason for reason in detail["ticket"]["triage"]["reasons"])
    (entry,) = [e for e in detail["audit"] if e["action"] == "label_corrected"]
    assert entry["actor"] == {"kind": "operator", "id": operator_id, "version": None}
    assert entry["detail"]["model"]["category"] == ticket.triage.category
    empty = desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/labels", tokens[AGENT], {})
    assert empty["status"] == 422


def test_a_confirmed_or_corrected_platform_notice_is_no_training_example(desk, tokens):
    """The desk wrote a dispute's message itself: no customer writes that way, so the model never learns from it."""
    ticket = desk.ticket_at_rest(post_platform_event(desk, "stripe", "stripe_charge_dispute_created").id)
    path = f"/api/tickets/{ticket.id}/labels"
    confirm = desk.call_operator_api("POST", f"{path}/confirm", tokens[AGENT])
    correct = desk.call_operator_api("POST", path, tokens[AGENT], {"category": "refund"})
    assert confirm["status"] == correct["status"] == 200
    assert confirm["body"]["category"] == "billing_error" and correct["body"]["category"] == "refund"
    assert confirm["body"]["text"] is None and correct["body"]["text"] is None
    mailed = desk.ticket_at_rest(mail_ticket(desk, "out_of_scope_en").id)
    label = {"category": "refund"}
    assert desk.call_operator_api("POST", f"/api/tickets/{mailed.id}/labels", tokens[AGENT], label)["body"]["text"]


def test_a_reply_goes_out_through_notify_as_the_operator_without_the_assistant_disclosure(desk, tokens):
    ticket = escalated_ticket(desk)
    text = "Thank you for your offer; we are not interested."
    assert (
        desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/reply", tokens[AGENT], {"text": text})["status"]
        == 200
    )
    desk.drain()
    replies = [m for m in desk.store.messages(ticket.id) if m.direction == "outbound" and text in m.body]
    assert len(replies) == 1 and "automated assistant" not in replies[0].body
    sent = [e for e in desk.store.audit_trail(ticket.id) if e.detail.get("kind") == "operator_reply"]
    assert sent and sent[0].actor.id == subject_of(tokens[AGENT])


def test_an_internal_note_is_kept_on_the_ticket_and_not_sent(desk, tokens):
    ticket = escalated_ticket(desk)
    note = desk.call_operator_api("POST", f"/api/tickets/{ticket.id}/notes", tokens[AGENT], {"text": "Spam, ignore"})
    assert note["status"] == 200 and note["body"]["direction"] == "internal"
    desk.drain()
    assert [m.direction for m in desk.store.messages(ticket.id)].count("internal") == 1


def test_script_in_a_customer_message_comes_back_as_json_data(desk, tokens):
    raw = (
        "From: Mallory <mallory@example.com>\r\nTo: support@shop.example.nl\r\nSubject: <b>hi</b>\r\n"
        f"Message-ID: <{uuid.uuid4()}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "<script>alert('x')</script><img src=x onerror=alert(1)>\r\n"
    ).encode()
    desk.deliver_raw_mail(raw, f"script-{uuid.uuid4().hex[:8]}")
    desk.drain()
    ticket = desk.ticket_with_subject("<b>hi</b>")
    function = desk.stack.functions["OperatorApiFunction"]
    response = desk.call_operator_api("GET", f"/api/tickets/{ticket.id}", tokens[AGENT])
    assert response["status"] == 200 and function.invocations
    bodies = [m["body"] for m in response["body"]["messages"]]
    assert any("<script>alert('x')</script>" in body for body in bodies)


def test_the_openapi_document_is_valid_and_lists_every_route(desk, tokens):
    response = desk.call_operator_api("GET", "/openapi.json", tokens[AGENT])
    assert response["status"] == 200
    validate(response["body"])
    paths = response["body"]["paths"]
    assert {"/api/tickets", "/api/tickets/{ticket_id}", "/api/breaches", "/api/routing-policy"} <= set(paths)
    actions = {"claim", "reply", "suggestion", "labels", "notes", "close", "reopen", "reassign"}
    assert {f"/api/tickets/{{ticket_id}}/{action}" for action in actions} <= set(paths)
    assert "post" in paths["/api/tickets/{ticket_id}/unconfirmed-sends/{request_id}/checked"]
    answer = response["body"]["components"]["schemas"]["SendCheckBody"]["properties"]["customer_got_it"]
    assert "the desk never sends that mail again" in answer["description"]


ROUTE_MODULES = ("learning_routes", "timeline_routes", "workload")
NO_ROUTE = {"statusCode": 404, "message": "Not found"}  # Powertools' answer when no route matches


def fresh_operator_api(desk):
    """The function's handler as a cold start imports it (modules beside app.py imported afresh)."""
    function = desk.stack.functions["OperatorApiFunction"]
    handler = import_handler(function.spec)

    def call(method: str, path: str, token: str) -> dict:
        route = next(r for r in function.spec.api_routes if r.match(method, path) is not None)
        claims = CognitoAuthorizer(desk.stack.user_pools[route.user_pool]).claims(token)
        context = FakeLambdaContext(function.physical_name, function.spec.memory_mb, function.spec.timeout)
        return handler(proxy_event(method, path, {}, b"", route, claims), context)

    return call


def test_a_cold_start_loads_only_the_route_modules_its_request_needs_and_the_openapi_document_lists_all(desk, tokens):
    call = fresh_operator_api(desk)
    assert call("GET", "/api/tickets", tokens[AGENT])["statusCode"] == 200
    assert not any(name in sys.modules for name in ROUTE_MODULES)
    assert call("GET", "/api/workload", tokens[SUPERVISOR])["statusCode"] == 200
    assert "workload" in sys.modules and "learning_routes" not in sys.modules

    call = fresh_operator_api(desk)
    paths = set(json.loads(call("GET", "/openapi.json", tokens[AGENT])["body"])["paths"])
    assert {
        "/api/labels/review",
        "/api/tickets/{ticket_id}/labels/{label_id}/review",
        "/api/models",
        "/api/models/retrain",
        "/api/models/{version}/promote",
        "/api/calls",
        "/api/calls/unmatched",
        "/api/calls/unmatched/{contact_id}/attach",
        "/api/customers/{customer_id}/timeline",
        "/api/imports",
        "/api/imports/{import_id}",
        "/api/workload",
        "/api/report",
    } <= paths


def test_every_route_of_a_route_module_loads_it_on_a_cold_start(desk, tokens):
    call = fresh_operator_api(desk)
    document = json.loads(call("GET", "/openapi.json", tokens[ADMIN])["body"])
    routed = {path: method.upper() for path, methods in document["paths"].items() for method in methods}
    for path, method in routed.items():
        concrete = re.sub(r"\{[^}]+\}", "C0123456789abcdef01234567", path)
        answer = fresh_operator_api(desk)(method, concrete, tokens[ADMIN])
        assert not (answer["statusCode"] == 404 and json.loads(answer["body"]) == NO_ROUTE), (method, path)


def test_the_local_api_checks_a_real_token_like_api_gateway_and_leaves_webhooks_open(desk, tokens):
    api = LocalApi(desk.stack)
    url = api.start()
    try:

        def get(path: str, headers: dict[str, str]) -> tuple[int, bytes]:
            request = urllib.request.Request(f"{url}{path}", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()

        assert get("/api/tickets", {}) == (401, b'{"message":"Unauthorized"}')
        assert get("/api/tickets", {"Authorization": expired_token(desk)})[0] == 401
        status, body = get("/api/tickets?limit=1", {"Authorization": tokens[AGENT]})
        assert status == 200 and "tickets" in json.loads(body)
        assert get("/api/breaches", {"Authorization": f"Bearer {tokens[AGENT]}"})[0] == 403
        assert get("/webhooks/nowhere", {})[0] == 404  # no authorizer: the function answers
    finally:
        api.stop()

"""The desk's business metrics are really emitted (CloudWatch EMF on stdout, as Lambda ships them to
CloudWatch Logs) where things happen, with low-cardinality dimensions only: never an id or address."""

import json
import uuid

import pytest

from supportpilot import desk_metrics
from supportpilot.models import TicketStatus

CUSTOMER = "jan.voorbeeld@example.nl"  # the sender of events/mail/order_status_nl.eml
ALLOWED_DIMENSIONS = {"service", "Channel", "Category", "Language", "Queue", "AutomationLevel", "Decision"}


def emitted(stdout: str) -> list[dict]:
    """The EMF documents among the lines a handler printed (the logger's JSON lines have no `_aws`)."""
    documents = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metric_names(document: dict) -> set[str]:
    return {m["Name"] for directive in document["_aws"]["CloudWatchMetrics"] for m in directive["Metrics"]}


def dimensions(document: dict) -> dict[str, str]:
    names = {
        name
        for directive in document["_aws"]["CloudWatchMetrics"]
        for group in directive["Dimensions"]
        for name in group
    }
    return {name: document[name] for name in names}


def the(documents: list[dict], name: str) -> dict:
    (document,) = [d for d in documents if name in metric_names(d)]
    return document


def assert_anonymous(documents: list[dict], *secrets: str) -> None:
    for document in documents:
        assert set(dimensions(document)) <= ALLOWED_DIMENSIONS, dimensions(document)
        assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == desk_metrics.NAMESPACE
        text = json.dumps(document).lower()
        for secret in secrets:
            assert secret.lower() not in text


@pytest.fixture(scope="module")
def agent(pipeline) -> str:
    return pipeline.operator_token("agent@example.com")


def test_a_new_mail_ticket_counts_as_created_and_triaged_with_channel_category_and_language(pipeline, capsys):
    capsys.readouterr()
    pipeline.deliver_mail("order_status_nl", f"metrics-{uuid.uuid4().hex[:8]}")
    pipeline.drain()
    documents = emitted(capsys.readouterr().out)

    ticket = next(t for t in pipeline.tickets() if t.customer.value == CUSTOMER)
    created = the(documents, desk_metrics.TICKETS_CREATED)
    assert created[desk_metrics.TICKETS_CREATED] == [1.0] and dimensions(created) == {
        "service": desk_metrics.SERVICE,
        "Channel": "email",
    }
    triaged = the(documents, desk_metrics.TICKETS_TRIAGED)
    assert dimensions(triaged) == {
        "service": desk_metrics.SERVICE,
        "Category": ticket.triage.category,
        "Language": "nl",
    }
    assert_anonymous(documents, ticket.id, ticket.customer.id, CUSTOMER, "voorbeeld")


def test_a_redelivered_mail_is_not_counted_again(pipeline, capsys):
    counted = []
    for _ in range(2):  # SES delivers the same mail twice
        capsys.readouterr()
        pipeline.deliver_mail("order_status_tracking_en", "metrics-redelivered")
        pipeline.drain()
        counted.append({name for document in emitted(capsys.readouterr().out) for name in metric_names(document)})
    assert {desk_metrics.TICKETS_CREATED, desk_metrics.TICKETS_TRIAGED} <= counted[0]
    assert desk_metrics.TICKETS_CREATED not in counted[1] and desk_metrics.TICKETS_TRIAGED not in counted[1]


def test_an_operator_closing_a_ticket_emits_tickets_closed_and_the_resolution_time(pipeline, agent, capsys):
    pipeline.deliver_mail("angry_1_en", f"metrics-{uuid.uuid4().hex[:8]}")
    pipeline.drain()
    ticket = next(t for t in pipeline.tickets() if t.status == TicketStatus.WAITING_ON_HUMAN)
    capsys.readouterr()

    closed = pipeline.call_operator_api("POST", f"/api/tickets/{ticket.id}/close", agent)
    assert closed["status"] == 200, closed
    documents = emitted(capsys.readouterr().out)

    count = the(documents, desk_metrics.TICKETS_CLOSED)
    assert count[desk_metrics.TICKETS_CLOSED] == [1.0] and dimensions(count) == {"service": desk_metrics.SERVICE}
    resolution = the(documents, desk_metrics.RESOLUTION_SECONDS)
    (definition,) = resolution["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert definition["Unit"] == "Seconds"
    stored = pipeline.store.get_ticket(ticket.id)
    expected = (stored.closed_at - stored.created_at).total_seconds()
    assert resolution[desk_metrics.RESOLUTION_SECONDS] == [pytest.approx(expected, abs=0.01)]
    operator_id = stored.closed_by
    assert_anonymous(documents, ticket.id, ticket.customer.id, ticket.customer.value, operator_id)

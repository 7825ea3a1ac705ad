"""Customer data requests through the operator API: an admin finds, exports and erases a customer;
other roles are refused, and a refused or unknown request changes nothing."""

import inspect
import json

import pytest

from supportpilot.privacy import customer_id_for
from tests.integration.test_data_requests import (
    ALEX,
    SAM,
    S3DownAfter,
    bucket_objects,
    data_requests,
    deliver,
    erasure_records,
    table_items,
)
from tests.integration.test_operator_api import ADMIN, AGENT, SUPERVISOR, subject_of

JAN = "jan.voorbeeld@example.nl"
UNKNOWN_ID = customer_id_for("nobody@example.com")


@pytest.fixture(scope="module")
def desk(pipeline):
    """Alex wrote with an attachment, Sam wrote twice, Jan once."""
    deliver(pipeline, "attachment_en", "angry_1_en", "angry_2_en", "order_status_nl")
    return pipeline


@pytest.fixture(scope="module")
def tokens(desk) -> dict[str, str]:
    return {email: desk.operator_token(email) for email in (AGENT, SUPERVISOR, ADMIN)}


def store_snapshot(desk) -> tuple[list[dict], dict[str, bytes]]:
    return table_items(desk), bucket_objects(desk)


def test_an_admin_finds_exports_and_erases_a_customer_and_nothing_of_them_is_left(desk, tokens):
    admin = tokens[ADMIN]
    found = desk.call_operator_api("POST", "/api/customers/lookup", admin, {"address": " Alex.Example@Example.com "})
    assert found["status"] == 200 and found["body"]["ticket_ids"]
    customer_id = found["body"]["customer_id"]
    export = desk.call_operator_api("GET", f"/api/customers/{customer_id}/export", admin)
    assert export["status"] == 200
    assert {identity["value"] for identity in export["body"]["identities"]} == {ALEX}
    assert any("glass lid" in m["body"] for t in export["body"]["tickets"] for m in t["messages"])
    jan_before = data_requests(desk).export(customer_id_for(JAN)).model_dump(exclude={"exported_at"})

    erased = desk.call_operator_api("DELETE", f"/api/customers/{customer_id}", admin)

    assert erased["status"] == 200 and erased["body"]["nothing_left"] is False
    assert erased["body"]["counts"]["tickets"] == len(found["body"]["ticket_ids"])
    assert desk.call_operator_api("GET", f"/api/customers/{customer_id}/export", admin)["status"] == 404
    remaining = json.dumps(table_items(desk), default=str).lower()
    assert ALEX not in remaining and customer_id.lower() not in remaining
    stored = export["body"]["raw_mail_keys"] + export["body"]["attachment_keys"]
    assert stored and not set(stored) & set(bucket_objects(desk))
    (record,) = [r for r in erasure_records(desk) if r["id"] == erased["body"]["erasure_id"]]
    assert record["requested_by"] == [subject_of(admin)]
    assert data_requests(desk).export(customer_id_for(JAN)).model_dump(exclude={"exported_at"}) == jan_before

    again = desk.call_operator_api("DELETE", f"/api/customers/{customer_id}", admin)
    assert again["status"] == 200 and again["body"]["nothing_left"] is True
    assert again["body"]["erasure_id"] == erased["body"]["erasure_id"]


@pytest.mark.parametrize("role", [AGENT, SUPERVISOR])
def test_only_an_admin_may_look_up_export_or_erase_a_customer(desk, tokens, role):
    jan, before = customer_id_for(JAN), store_snapshot(desk)
    token = tokens[role]
    assert desk.call_operator_api("POST", "/api/customers/lookup", token, {"address": JAN})["status"] == 403
    assert desk.call_operator_api("GET", f"/api/customers/{jan}/export", token)["status"] == 403
    refused = desk.call_operator_api("DELETE", f"/api/customers/{jan}", token)
    assert refused["status"] == 403 and "admin" in refused["body"]["message"]
    assert store_snapshot(desk) == before


def test_an_unknown_customer_is_404_and_nothing_changes(desk, tokens):
    admin, before = tokens[ADMIN], store_snapshot(desk)
    lookup = desk.call_operator_api("POST", "/api/customers/lookup", admin, {"address": "nobody@example.com"})
    assert lookup["status"] == 404 and "nobody" not in lookup["body"]["message"]
    assert desk.call_operator_api("GET", f"/api/customers/{UNKNOWN_ID}/export", admin)["status"] == 404
    assert desk.call_operator_api("DELETE", f"/api/customers/{UNKNOWN_ID}", admin)["status"] == 404
    assert store_snapshot(desk) == before


@pytest.mark.parametrize("malformed", ["c" + "0" * 24, "C" + "0" * 23, "C" + "g" * 24, "alex.example@example.com"])
def test_a_malformed_customer_id_is_422_naming_the_field(desk, tokens, malformed):
    for method, path in (("GET", f"/api/customers/{malformed}/export"), ("DELETE", f"/api/customers/{malformed}")):
        response = desk.call_operator_api(method, path, tokens[ADMIN])
        assert response["status"] == 422
        assert [problem["loc"] for problem in response["body"]["detail"]] == [["path", "customer_id"]]


def test_an_empty_lookup_is_422_naming_the_field(desk, tokens):
    response = desk.call_operator_api("POST", "/api/customers/lookup", tokens[ADMIN], {"address": ""})
    assert response["status"] == 422 and response["body"]["detail"][0]["loc"][-1] == "address"


def test_an_erasure_stopped_by_a_store_failure_is_503_and_finishes_when_run_again(desk, tokens, monkeypatch):
    sam, admin = customer_id_for(SAM), tokens[ADMIN]
    tickets = data_requests(desk).find_customer(SAM).ticket_ids
    assert len(tickets) >= 2
    handler_globals = inspect.unwrap(desk.stack.functions["OperatorApiFunction"].handler).__globals__
    with monkeypatch.context() as patch:
        patch.setitem(handler_globals, "data_requests", data_requests(desk, s3=S3DownAfter(working=1)))
        stopped = desk.call_operator_api("DELETE", f"/api/customers/{sam}", admin)
    assert stopped["status"] == 503 and "run the erasure again" in stopped["body"]["message"]
    assert 0 < len(data_requests(desk).find_customer(SAM).ticket_ids) < len(tickets)

    finished = desk.call_operator_api("DELETE", f"/api/customers/{sam}", admin)
    assert finished["status"] == 200 and finished["body"]["counts"]["tickets"] == len(tickets)
    assert desk.call_operator_api("GET", f"/api/customers/{sam}/export", admin)["status"] == 404


def test_the_data_request_routes_are_in_the_openapi_document(desk, tokens):
    paths = desk.call_operator_api("GET", "/openapi.json", tokens[ADMIN])["body"]["paths"]
    assert "post" in paths["/api/customers/lookup"]
    assert "get" in paths["/api/customers/{customer_id}/export"]
    assert "delete" in paths["/api/customers/{customer_id}"]

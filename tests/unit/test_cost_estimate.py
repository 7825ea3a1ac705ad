"""bench/cost.py's estimate of DynamoDB write units counts each write's copies in the table's indexes."""

from pathlib import Path

from bench.cost import UsageMeter, table_indexes
from supportpilot.local.template import load_template

TICKET_KEY = {"pk": {"S": "TICKET#T1"}, "sk": {"S": "#TICKET"}}
OPEN_TICKET = {
    **TICKET_KEY,
    "status": {"S": "waiting_on_human"},
    "gsi1pk": {"S": "CUSTOMER#C1"},
    "gsi1sk": {"S": "TICKET#T1"},
    "gsi4pk": {"S": "OPEN"},
    "gsi4sk": {"S": "2"},
    "gsi5pk": {"S": "TICKETS"},
    "gsi5sk": {"S": "2026-11-29T10:00:00Z"},
}


def meter() -> UsageMeter:
    template = load_template(Path(__file__).parents[2] / "template.yaml")
    return UsageMeter(indexes=table_indexes(template.resources["DeskTable"]["Properties"]))


def test_a_ticket_put_is_also_written_to_each_index_that_holds_it():
    usage = meter()

    usage.record("dynamodb", "PutItem", {"Item": OPEN_TICKET}, {})

    assert usage.units["dynamodb_write_request_unit"] == 1
    assert usage.units["dynamodb_index_write_request_unit"] == 3  # customer-tickets, open-by-due, tickets-by-time


def test_closing_a_ticket_moves_it_in_one_index_and_takes_it_out_of_another():
    usage = meter()
    usage.record("dynamodb", "PutItem", {"Item": OPEN_TICKET}, {})
    close = {
        "Key": TICKET_KEY,
        "UpdateExpression": "SET #status = :status, gsi5pk = :gsi5pk, gsi5sk = :gsi5sk REMOVE gsi4pk, gsi4sk",
        "ExpressionAttributeValues": {
            ":status": {"S": "closed"},
            ":gsi5pk": {"S": "TICKETS"},
            ":gsi5sk": {"S": "2026-11-29T11:00:00Z"},
        },
    }

    usage.record("dynamodb", "TransactWriteItems", {"TransactItems": [{"Update": close}]}, {})
    usage.record("dynamodb", "UpdateItem", {"Key": TICKET_KEY, "UpdateExpression": "SET csat = :vote"}, {})

    # Each update is 2 units (its values and 1 KB it leaves alone), twice inside a transaction. Its copies: the
    # close's in customer-tickets, open-by-due (a delete) and tickets-by-time twice (a new key: delete and put),
    # the rating's in customer-tickets and tickets-by-time.
    assert usage.units["dynamodb_write_request_unit"] == 1 + 2 * 2 + 2
    assert usage.units["dynamodb_index_write_request_unit"] == 3 + (1 + 1 + 2) * 2 + 2 * 2


def test_items_without_index_keys_cost_no_index_writes():
    usage = meter()

    usage.record("dynamodb", "PutItem", {"Item": {"pk": {"S": "TICKET#T1"}, "sk": {"S": "MSG#M1"}}}, {})

    assert usage.units["dynamodb_index_write_request_unit"] == 0

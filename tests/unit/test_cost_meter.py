"""bench/cost.py's meter: what a write to the ticket table costs, with the copies its indexes keep."""

import boto3
from botocore.client import BaseClient
from moto import mock_aws

from bench.cost import UsageMeter

ITEM_KB = 3  # the item's size in started KB, as the meter measures it


def test_a_write_costs_one_more_unit_per_started_kb_for_each_index_that_holds_the_item(monkeypatch):
    # install() wraps every boto3 call of the process: put the original back after the test
    monkeypatch.setattr(BaseClient, "_make_api_call", BaseClient._make_api_call)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        dynamodb.create_table(
            TableName="desk",
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        meter = UsageMeter(active=True)
        meter.install()
        try:
            text = {"S": "x" * (ITEM_KB * 1024 - 200)}
            dynamodb.put_item(TableName="desk", Item={"pk": {"S": "a"}, "sk": {"S": "#"}, "text": text})
            outside = meter.units["dynamodb_write_request_unit"]
            indexed = {"pk": {"S": "b"}, "sk": {"S": "#"}, "gsi1pk": {"S": "k"}, "gsi1sk": {"S": "1"}, "text": text}
            dynamodb.put_item(TableName="desk", Item=indexed)
            inside = meter.units["dynamodb_write_request_unit"] - outside
        finally:
            meter.active = False
    assert outside == ITEM_KB
    assert inside == 2 * ITEM_KB
    assert meter.calls[("dynamodb", "PutItem")] == 2, "the read-back is not metered"

"""The table's definition: its keys, its sparse indexes, TTL; and creating it (local stack, tests,
a stage's bootstrap). The layout of the items is each repository's (see storage/repository.py).

Indexes (sparse: only the items that carry an index's keys are in it)
- followups: fu_pk, fu_sk: every follow-up, newest first, for listing (followups/repository.py).
- due:       due_pk, due_sk: follow-ups still open and not escalated, earliest deadline first
             (due_pk=DUE); and timers, jobs to queue at their time (due_pk=TIMER#<shard>,
             storage/timers.py).
- responses: rs_pk, rs_sk: surveys with a counted response, one partition per month
             (surveys/response_index.py).
"""
from __future__ import annotations

import time

from botocore.exceptions import ClientError

from chalicelib.platform import aws
from chalicelib.storage.table import TTL_ATTRIBUTE

FOLLOWUPS_INDEX = "followups"
DUE_INDEX = "due"
RESPONSES_INDEX = "responses"


def _index(name: str, hash_key: str, range_key: str, projection: str) -> dict:
    return {"IndexName": name, "Projection": {"ProjectionType": projection},
            "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                          {"AttributeName": range_key, "KeyType": "RANGE"}]}


TABLE_DEFINITION = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"}
                             for name in ("pk", "sk", "fu_pk", "fu_sk", "due_pk", "due_sk", "rs_pk", "rs_sk")],
    "GlobalSecondaryIndexes": [_index(FOLLOWUPS_INDEX, "fu_pk", "fu_sk", "ALL"),
                               _index(DUE_INDEX, "due_pk", "due_sk", "KEYS_ONLY"),
                               _index(RESPONSES_INDEX, "rs_pk", "rs_sk", "ALL")],
    "BillingMode": "PAY_PER_REQUEST",
}


def create_table(table_name: str, client=None) -> None:
    """Create closeloop's table (local stack, tests, and the bootstrap of a stage)."""
    db = client or aws.client("dynamodb")
    try:
        db.create_table(TableName=table_name, **TABLE_DEFINITION)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
    db.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    add_missing_indexes(table_name, db)
    try:  # markers that carry `expires_ttl` (helpdesk webhook deliveries) expire by themselves
        db.update_time_to_live(TableName=table_name,
                               TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationException":  # already enabled
            raise


def add_missing_indexes(table_name: str, client=None) -> list[str]:
    """Start creating each index of TABLE_DEFINITION an existing table lacks (a table made before
    the index was added); returns their names. DynamoDB builds one at a time and backfills it from
    the items already stored (minutes on a large table; queries need it ACTIVE)."""
    db = client or aws.client("dynamodb")
    existing = {index["IndexName"] for index in
                db.describe_table(TableName=table_name)["Table"].get("GlobalSecondaryIndexes", [])}
    missing = [index for index in TABLE_DEFINITION["GlobalSecondaryIndexes"] if index["IndexName"] not in existing]
    for index in missing:
        db.update_table(TableName=table_name, AttributeDefinitions=TABLE_DEFINITION["AttributeDefinitions"],
                        GlobalSecondaryIndexUpdates=[{"Create": index}])
        for _ in range(600):  # DynamoDB takes one index creation at a time
            indexes = db.describe_table(TableName=table_name)["Table"].get("GlobalSecondaryIndexes", [])
            if all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes):
                break
            time.sleep(0.5)
    return [index["IndexName"] for index in missing]

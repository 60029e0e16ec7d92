"""The cost bench's meter (bench/cost.py: Meter) on the DynamoDB Local that runs: the write units it
counts are what DynamoDB bills, index entries included. Local's own figure for a transaction is
not (it says 2 for one small item and for five alike), so the meter computes those from the items
before and after (bench/write_units.py); the last test shows why."""
from __future__ import annotations

import boto3
import pytest

from bench.cost import Meter

REGION = "us-east-1"


@pytest.fixture
def metered(table, dynamodb_local):
    meter = Meter()
    session = boto3.session.Session()
    meter.attach(session.events)
    return meter, session.client("dynamodb", endpoint_url=dynamodb_local.endpoint, region_name=REGION)


def item(pk: str, **attributes) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": "X"}, **{k: {"S": v} for k, v in attributes.items()}}


def units(meter: Meter, call) -> float:
    before = meter.write_units
    call()
    return meter.write_units - before


def test_a_small_put_is_one_write_unit(metered, table):
    meter, db = metered
    assert units(meter, lambda: db.put_item(TableName=table, Item=item("a"))) == 1


def test_a_transaction_bills_each_item_twice_and_index_entries_once(metered, table):
    meter, db = metered
    puts = [{"Put": {"TableName": table, "Item": item(pk)}} for pk in ("a", "b", "c")]
    assert units(meter, lambda: db.transact_write_items(TransactItems=puts)) == 6
    big = [{"Put": {"TableName": table, "Item": item("big", text="x" * 1500, due_pk="TIMER#1", due_sk="t")}},
           {"Update": {"TableName": table, "Key": {"pk": {"S": "a"}, "sk": {"S": "X"}},
                       "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
           {"Delete": {"TableName": table, "Key": {"pk": {"S": "b"}, "sk": {"S": "X"}}}}]
    # 2 KB item: 4, its entry in the due index (keys only): 1; the update: 2; the delete: 2.
    assert units(meter, lambda: db.transact_write_items(TransactItems=big)) == 9


def test_local_alone_misreports_transactions(table, dynamodb_local):
    db = boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint, region_name=REGION)
    puts = [{"Put": {"TableName": table, "Item": item(pk)}} for pk in ("a", "b", "c", "d", "e")]
    reported = db.transact_write_items(TransactItems=puts, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert sum(entry["CapacityUnits"] for entry in reported) < 10  # if this fails, Local got it right: use it


def test_an_index_entry_written_or_removed_costs_a_unit_of_its_own(metered, table):
    meter, db = metered
    timed = item("a", due_pk="TIMER#0", due_sk="2026-12-01T00:00:00.000Z#{}")
    assert units(meter, lambda: db.put_item(TableName=table, Item=timed)) == 2
    assert units(meter, lambda: db.update_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "X"}},
                                               UpdateExpression="REMOVE due_pk, due_sk")) == 2


def test_a_write_refused_by_its_condition_still_costs_a_unit(metered, table):
    meter, db = metered
    db.put_item(TableName=table, Item=item("a"))
    with pytest.raises(db.exceptions.ConditionalCheckFailedException):
        units(meter, lambda: db.put_item(TableName=table, Item=item("a"), ConditionExpression="attribute_not_exists(pk)"))
    assert meter.write_units == 2

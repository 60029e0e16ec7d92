"""The one table helper: every DynamoDB call of closeloop goes through `Table`.

One table holds every item, named by `pk`/`sk`; the repositories (one per aggregate, each owning
its key formats: see `Repository` in storage/repository.py) build their items and conditions and
call the few operations here, which own what is the same for all of them:
- conversion between DynamoDB's typed items and plain values (numbers come back as int or float);
- conditional writes: a lost condition raises ConditionFailed, never a botocore error;
- transactions, tried again while only a concurrent transaction cancelled them;
- paging: a Query or Scan yields every item, following LastEvaluatedKey;
- retention: `expires_ttl` (epoch seconds, the table's TTL attribute) on personal data, and reads
  that treat an item past it as gone (DynamoDB deletes expired items up to ~48 h late, DynamoDB
  Local never). An item without it (written before retention existed) never expires.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator, NamedTuple, Optional, Sequence

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.platform import aws, clock
from chalicelib.platform.settings import get_settings

TTL_ATTRIBUTE = "expires_ttl"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# How often a transaction cancelled only by a concurrent one is tried.
TRANSACTION_ATTEMPTS = 5
_CONDITION_CODES = ("ConditionalCheckFailedException", "TransactionCanceledException")


class ConditionFailed(Exception):
    """A conditional write lost: the item changed or is not in the expected state.

    `reasons`: for a cancelled transaction, why each of its items failed ("None",
    "ConditionalCheckFailed", "TransactionConflict", ...), in order ([] when DynamoDB gave none);
    `item`: the item as it was, when the write asked for it."""

    def __init__(self, message: str = "the item is not in the expected state", reasons: Sequence[str] = (),
                 item: Optional[dict] = None):
        super().__init__(message)
        self.reasons, self.item = list(reasons), item


class ItemKey(NamedTuple):
    """Where an item lives; its repository decides the format."""
    pk: str
    sk: str


@dataclass(frozen=True)
class Increment:
    """Add `deltas` (attribute -> +n/-n) to one item, created on first use (report counters)."""
    pk: str
    sk: str
    deltas: dict[str, int]


# --- conversion ---------------------------------------------------------------------------------

def key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def to_item(values: dict) -> dict:
    """A plain dict as a DynamoDB item; None values are left out."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict) -> dict:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- retention ----------------------------------------------------------------------------------

def expiry_of(at: datetime, kept: Optional[timedelta] = None) -> int:
    """The `expires_ttl` (epoch seconds) of personal data about a moment `at`: `kept` after it,
    by default the retention period (CLOSELOOP_RETENTION_DAYS)."""
    return int((at + (kept or timedelta(days=get_settings().retention_days))).timestamp())


def alive(item: dict, now: Optional[datetime] = None) -> bool:
    """False once a (plain) item is past its `expires_ttl`: every read of personal data asks this."""
    ttl = item.get(TTL_ATTRIBUTE)
    return ttl is None or int(ttl) > (now or clock.now()).timestamp()


def alive_filter(now: Optional[datetime] = None) -> tuple[str, dict, dict]:
    """`alive` as a FilterExpression fragment, with its attribute names and (plain) values."""
    return ("(attribute_not_exists(#ttl) OR #ttl > :alive_at)", {"#ttl": TTL_ATTRIBUTE},
            {":alive_at": int((now or clock.now()).timestamp())})


# --- the table ----------------------------------------------------------------------------------

def _condition_failure(error: ClientError) -> Optional[ConditionFailed]:
    """The ConditionFailed a DynamoDB error means, or None for any other error."""
    if error.response["Error"]["Code"] not in _CONDITION_CODES:
        return None
    reasons = [reason.get("Code") or "None" for reason in error.response.get("CancellationReasons") or []]
    item = error.response.get("Item")
    return ConditionFailed(error.response["Error"].get("Message") or "condition failed", reasons,
                           from_item(item) if item else None)


class Table:
    """closeloop's table: its name (default: the stage's) and a client (default: the shared one)."""

    def __init__(self, name: Optional[str] = None, client=None):
        self._name, self._client = name, client

    @property
    def name(self) -> str:
        return self._name or get_settings().table_name

    @property
    def db(self):
        return self._client or aws.client("dynamodb")

    def ping(self) -> None:
        """One cheap read that proves the table answers (GET /health): a GetItem of a key nothing
        writes, not DescribeTable, a control-plane call with a low rate limit."""
        self.db.get_item(TableName=self.name, Key=key("HEALTH", "HEALTH"), ProjectionExpression="pk")

    # --- single items ---

    def get(self, item_key: ItemKey, *, consistent: bool = True, include_expired: bool = False) -> Optional[dict]:
        """The item as a plain dict, or None when absent or (unless `include_expired`) past its expiry."""
        raw = self.db.get_item(TableName=self.name, Key=key(*item_key), ConsistentRead=consistent).get("Item")
        item = from_item(raw) if raw else None
        return item if item is not None and (include_expired or alive(item)) else None

    def put(self, item: dict, condition: Optional[str] = None, names: Optional[dict] = None,
            values: Optional[dict] = None) -> None:
        """Write a whole item (plain values); ConditionFailed when `condition` does not hold."""
        self._write(self.db.put_item, Item=to_item(item), **_expression(None, condition, names, values))

    def create(self, item: dict) -> bool:
        """Write an item that must not exist yet; False (nothing written) when it does."""
        try:
            self.put(item, condition="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        return True

    def update(self, item_key: ItemKey, expression: str, condition: Optional[str] = None,
               names: Optional[dict] = None, values: Optional[dict] = None, returns: Optional[str] = None,
               old_on_failure: bool = False) -> dict:
        """UpdateItem; the attributes `returns` asks for (e.g. "ALL_OLD", "UPDATED_NEW"), as plain values.
        ConditionFailed when `condition` does not hold (with the old item if `old_on_failure`)."""
        extra = {"ReturnValues": returns} if returns else {}
        if old_on_failure:
            extra["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        answer = self._write(self.db.update_item, Key=key(*item_key), **extra,
                             **_expression(expression, condition, names, values))
        return from_item(answer.get("Attributes", {}))

    def delete(self, item_key: ItemKey, condition: Optional[str] = None,
               values: Optional[dict] = None) -> Optional[dict]:
        """Delete an item; the item as it was (plain), or None when there was none."""
        answer = self._write(self.db.delete_item, Key=key(*item_key), ReturnValues="ALL_OLD",
                             **_expression(None, condition, None, values))
        return from_item(answer["Attributes"]) if "Attributes" in answer else None

    def delete_if_in(self, item_key: ItemKey, attribute: str, allowed: set[str]) -> bool:
        """Delete an item whose `attribute` is one of `allowed`, only if it still is at the delete
        (another writer may have changed it meanwhile); True if deleted."""
        item = self.get(item_key, include_expired=True)
        value = item.get(attribute) if item else None
        if value not in allowed:
            return False
        try:
            self.delete(item_key, condition=f"{attribute} = :value", values={":value": value})
        except ConditionFailed:
            return False
        return True

    def _write(self, call, **kwargs) -> dict:
        try:
            return call(TableName=self.name, **kwargs)
        except ClientError as error:
            failure = _condition_failure(error)
            if failure is None:
                raise
            raise failure from error

    # --- transactions ---

    def put_write(self, item: dict, condition: Optional[str] = None, names: Optional[dict] = None,
                  values: Optional[dict] = None) -> dict:
        return {"Put": {"TableName": self.name, "Item": to_item(item), **_expression(None, condition, names, values)}}

    def update_write(self, item_key: ItemKey, expression: str, condition: Optional[str] = None,
                     names: Optional[dict] = None, values: Optional[dict] = None) -> dict:
        return {"Update": {"TableName": self.name, "Key": key(*item_key),
                           **_expression(expression, condition, names, values)}}

    def delete_write(self, item_key: ItemKey, condition: Optional[str] = None, names: Optional[dict] = None,
                     values: Optional[dict] = None) -> dict:
        return {"Delete": {"TableName": self.name, "Key": key(*item_key),
                           **_expression(None, condition, names, values)}}

    def increment_writes(self, increments: Sequence[Increment]) -> list[dict]:
        """Transaction items that add each increment's deltas to its item (created on first use)."""
        writes = []
        for change in increments:
            names = {f"#c{i}": name for i, name in enumerate(change.deltas)}
            values = {f":c{i}": n for i, n in enumerate(change.deltas.values())}
            writes.append(self.update_write(ItemKey(change.pk, change.sk),
                                            "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(names))),
                                            names=names, values=values))
        return writes

    def transact(self, writes: list[dict]) -> None:
        """TransactWriteItems, tried again while only concurrent transactions cancelled it;
        ConditionFailed (with each item's reason) when it is cancelled otherwise."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self.db.transact_write_items(TransactItems=writes)
                return
            except ClientError as error:
                failure = _condition_failure(error)
                if failure is None:
                    raise
                retry = "TransactionConflict" in failure.reasons and "ConditionalCheckFailed" not in failure.reasons
                if not retry or attempt + 1 == TRANSACTION_ATTEMPTS:
                    raise failure from error
                time.sleep(0.02 * (attempt + 1))

    # --- many items ---

    def query(self, **kwargs: Any) -> Iterator[dict]:
        """Every item (plain) of a Query, following LastEvaluatedKey. `kwargs` as boto3 takes them,
        ExpressionAttributeValues plain."""
        yield from map(from_item, self.pages(self.db.query, kwargs))

    def query_page(self, **kwargs: Any) -> dict:
        """One page of a Query, raw (Items, LastEvaluatedKey): for callers that page by hand."""
        return self.db.query(**self._request(kwargs))

    def query_prefix(self, pk: str, prefix: str = "") -> Iterator[dict]:
        """Every item of partition `pk` whose sort key starts with `prefix`, in sort key order."""
        condition = "pk = :pk AND begins_with(sk, :prefix)" if prefix else "pk = :pk"
        yield from self.query(KeyConditionExpression=condition,
                              ExpressionAttributeValues={":pk": pk, **({":prefix": prefix} if prefix else {})})

    def scan(self, **kwargs: Any) -> Iterator[dict]:
        """Every item (plain) of a Scan, following LastEvaluatedKey (operators' one-offs)."""
        yield from map(from_item, self.pages(self.db.scan, kwargs))

    def pages(self, call, kwargs: dict) -> Iterator[dict]:
        """Every raw item of a Query or Scan (`call`, e.g. `db.query`), following LastEvaluatedKey."""
        kwargs = self._request(kwargs)
        while True:
            page = call(**kwargs)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}

    def _request(self, kwargs: dict) -> dict:
        request = {"TableName": self.name, **kwargs}
        if "ExpressionAttributeValues" in request:
            request["ExpressionAttributeValues"] = to_item(request["ExpressionAttributeValues"])
        if isinstance(request.get("ExclusiveStartKey"), dict) and not _is_typed(request["ExclusiveStartKey"]):
            request["ExclusiveStartKey"] = to_item(request["ExclusiveStartKey"])
        return request

    def batch_get(self, keys: Sequence[ItemKey]) -> list[dict]:
        """The items of `keys` that exist (plain), strongly consistent, in any order."""
        keys = list(dict.fromkeys(keys))
        found: list[dict] = []
        request = {self.name: {"Keys": [key(*k) for k in keys], "ConsistentRead": True}} if keys else None
        while request:
            answer = self.db.batch_get_item(RequestItems=request)
            found += answer["Responses"].get(self.name, [])
            request = answer.get("UnprocessedKeys") or None
        return [from_item(item) for item in found]

    def batch_delete(self, keys: Sequence[ItemKey]) -> None:
        """Delete every item of `keys`, 25 at a time, backing off while DynamoDB throttles."""
        keys = list(keys)
        for start in range(0, len(keys), 25):  # BatchWriteItem takes 25 at a time
            request = {self.name: [{"DeleteRequest": {"Key": key(*k)}} for k in keys[start:start + 25]]}
            for attempt in range(TRANSACTION_ATTEMPTS * 2):
                request = self.db.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
                if not request:
                    break
                time.sleep(0.05 * 2 ** attempt)  # throttled: back off, as DynamoDB asks
            else:
                raise ConditionFailed("a batch of deletes kept being throttled")


def _is_typed(item: dict) -> bool:
    return all(isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("S", "N", "B") for v in item.values())


def _expression(update: Optional[str], condition: Optional[str], names: Optional[dict],
                values: Optional[dict]) -> dict:
    """The expression arguments of a write, only those given (values plain)."""
    kwargs: dict[str, Any] = {}
    if update:
        kwargs["UpdateExpression"] = update
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = to_item(values)
    return kwargs

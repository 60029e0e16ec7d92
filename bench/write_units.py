"""The write units DynamoDB bills for a TransactWriteItems, computed from its items before and after.

DynamoDB Local's ConsumedCapacity for a transaction is not what DynamoDB bills: it reports 2 units
for a transaction of 1, 3 or 5 small items alike (tests/storage/test_bench_meter.py shows it). The
bill, per DynamoDB's documentation: each item written costs 2 units per started KB of the larger of
its sizes before and after (transactional writes cost twice the standard ones), a ConditionCheck
costs 2 like a write; and each index entry the write adds, changes or removes costs 1 unit per
started KB at the standard rate (index upkeep is not transactional). Item sizes follow DynamoDB's
rules: attribute names plus values (strings in UTF-8 bytes, numbers about 1 byte per 2 digits plus
1, maps and lists 3 bytes plus their elements).
"""
from __future__ import annotations

import math
from typing import Optional

from chalicelib.storage.schema import TABLE_DEFINITION

# index name -> (its key attributes, whether it projects every attribute)
INDEXES = {index["IndexName"]: (tuple(k["AttributeName"] for k in index["KeySchema"]),
                                index["Projection"]["ProjectionType"] == "ALL")
           for index in TABLE_DEFINITION["GlobalSecondaryIndexes"]}
TABLE_KEYS = ("pk", "sk")


def value_size(value: dict) -> int:
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + value_size(inner) for name, inner in data.items())
    if kind == "L":
        return 3 + sum(1 + value_size(inner) for inner in data)
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in data)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Optional[dict]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def _kb(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _index_entry(item: Optional[dict], keys: tuple[str, ...], projects_all: bool) -> Optional[dict]:
    if not item or any(key not in item for key in keys):
        return None
    return item if projects_all else {name: item[name] for name in keys + TABLE_KEYS}


def index_units(before: Optional[dict], after: Optional[dict]) -> int:
    """Standard write units the indexes take for one item going from `before` to `after`."""
    units = 0
    for keys, projects_all in INDEXES.values():
        old, new = _index_entry(before, keys, projects_all), _index_entry(after, keys, projects_all)
        if old == new:
            continue
        if old is not None and new is not None and any(old[k] != new[k] for k in keys):
            units += _kb(item_size(old)) + _kb(item_size(new))  # a moved entry: one delete, one put
        else:
            units += _kb(item_size(new if new is not None else old))
    return units


def transaction_units(actions: list[str], befores: list[Optional[dict]], afters: list[Optional[dict]]) -> int:
    """Write units of a committed TransactWriteItems: `actions` ("Put", "Update", "Delete",
    "ConditionCheck") with each item as it was before and is after."""
    units = 0
    for action, before, after in zip(actions, befores, afters):
        units += 2 * _kb(max(item_size(before), item_size(after)))
        if action != "ConditionCheck":
            units += index_units(before, after)
    return units

"""Retention of items written before it existed: `python -m ops retention backfill`.

Every item that holds personal data or points at it carries `expires_ttl` (storage/table.py); an
item written before retention has none and would be kept for good. This gives each such item the
expiry it would have had: a retention period after the time its repository names (RETENTION_CLOCKS
of surveys, follow-ups and SMS records), throttle stamps their throttle window. Interaction and
customer index items, which hold only ids, are left to the survey's own expiry (reads go through
the survey); report counters, suppressions, API keys and erasure receipts never expire.
"""
from __future__ import annotations

from typing import Optional

from chalicelib.contacts.repository import RETENTION_CLOCKS as SMS_CLOCKS
from chalicelib.followups import RETENTION_CLOCKS as FOLLOWUP_CLOCKS
from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings
from chalicelib.storage.table import TTL_ATTRIBUTE, ConditionFailed, ItemKey, Table, expiry_of
from chalicelib.surveys import RETENTION_CLOCKS as SURVEY_CLOCKS
from chalicelib.surveys import throttle_expiry

_CLOCKS = {**SURVEY_CLOCKS, **FOLLOWUP_CLOCKS, **SMS_CLOCKS}


def backfill_retention(table: Optional[Table] = None) -> int:
    """Give the personal-data items written before retention existed their `expires_ttl`; returns
    how many. One Scan, one conditional update per item. Safe to run again."""
    table, throttle_days = table or Table(), get_settings().throttle_days
    done = 0
    for item in table.scan(FilterExpression="attribute_not_exists(#ttl)",
                           ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE}):
        expires = throttle_expiry(item, throttle_days) or _expiry(item)
        if expires is None:
            continue
        try:
            table.update(ItemKey(item["pk"], item["sk"]), "SET #ttl = :ttl",
                         condition="attribute_exists(pk) AND attribute_not_exists(#ttl)",
                         names={"#ttl": TTL_ATTRIBUTE}, values={":ttl": expires})
            done += 1
        except ConditionFailed:
            pass
    return done


def _expiry(item: dict) -> Optional[int]:
    sort = item["sk"] if item["sk"] in _CLOCKS else item["sk"].split("#", 1)[0] + "#"
    at = item.get(_CLOCKS[sort]) if sort in _CLOCKS else None
    return expiry_of(clock.parse_iso(at)) if isinstance(at, str) else None

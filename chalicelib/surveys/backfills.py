"""Operators' one-offs that give surveys stored by an older version what newer code expects
(`python -m ops responses backfill`, `python -m ops customers backfill`): one Scan of the table,
one conditional write per survey found; safe to run again."""
from __future__ import annotations

from typing import Optional

from chalicelib.platform import clock
from chalicelib.storage.table import TTL_ATTRIBUTE, ConditionFailed, ItemKey, Table
from chalicelib.surveys.repository import customer_pk, response_keys


def backfill_response_keys(table: Optional[Table] = None) -> int:
    """Give every responded survey that lacks them its responses-index keys (responses recorded
    before the index existed); returns how many were set."""
    table = table or Table()
    done = 0
    for item in table.scan(ProjectionExpression="pk, responded_at",
                           FilterExpression="sk = :survey AND attribute_exists(responded_at) "
                                            "AND attribute_not_exists(rs_pk)",
                           ExpressionAttributeValues={":survey": "SURVEY"}):
        keys = response_keys(item["pk"].removeprefix("SURVEY#"), clock.parse_iso(item["responded_at"]))
        try:  # only if the response is still the one read (a withdrawal removes responded_at)
            table.update(ItemKey(item["pk"], "SURVEY"), "SET rs_pk = :rs_pk, rs_sk = :rs_sk",
                         condition="responded_at = :at AND attribute_not_exists(rs_pk)",
                         values={":rs_pk": keys["rs_pk"], ":rs_sk": keys["rs_sk"], ":at": item["responded_at"]})
            done += 1
        except ConditionFailed:
            pass
    return done


def backfill_customer_index(table: Optional[Table] = None) -> int:
    """Give every survey stored before the customer index existed its CUSTOMER#<id>/SURVEY#<id>
    item, so an erasure finds it; returns how many were added."""
    table = table or Table()
    added = 0
    for item in table.scan(ProjectionExpression="pk, #customer.#id, #ttl", FilterExpression="sk = :survey",
                           ExpressionAttributeValues={":survey": "SURVEY"},
                           ExpressionAttributeNames={"#customer": "customer", "#id": "id", "#ttl": TTL_ATTRIBUTE}):
        survey_id = item["pk"].removeprefix("SURVEY#")
        added += table.create({"pk": customer_pk(item["customer"]["id"]), "sk": f"SURVEY#{survey_id}",
                               "survey_id": survey_id, TTL_ATTRIBUTE: item.get(TTL_ATTRIBUTE)})
    return added

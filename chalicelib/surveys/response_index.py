"""The responses index: surveys with a counted response, newest first, for leads' listings
(GET /v1/responses, the CSV export, the dashboard's comments).

Sparse: rs_pk=RESPONSE#<yyyy-mm of responded_at>, rs_sk=<responded_at>#<survey_id>, one partition
per month, so a range reads the months it spans, newest first. The survey's own writes keep the
keys (surveys/repository.py: response_keys); the index projects every attribute, so a listing
needs no further reads.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, Optional

from chalicelib.platform import clock
from chalicelib.storage.repository import Repository
from chalicelib.storage.schema import RESPONSES_INDEX
from chalicelib.storage.table import alive_filter, from_item
from chalicelib.surveys.model import Survey
from chalicelib.surveys.repository import survey_key


class ResponseIndex(Repository):

    def newest_first(self, start: datetime, position: str, *, kind: Optional[str] = None,
                  channel: Optional[str] = None, agent: Optional[str] = None, team: Optional[str] = None,
                  min_score: Optional[int] = None, max_score: Optional[int] = None,
                  has_comment: Optional[bool] = None, reason: Optional[str] = None,
                  theme: Optional[str] = None, resolved: Optional[bool] = None, batch: int = 100,
                  max_queries: int = 20) -> Iterator[tuple[Optional[Survey], str]]:
        """Responded surveys from `position` back to `start`, newest first, through the responses index.

        `position` is where to go on: a time (clock.iso: everything before it) or an index sort key
        `<responded_at>#<survey_id>` (everything after it in newest-first order). Yields
        (survey, its sort key) for each survey that passes the filters; after `max_queries` queries
        it yields (None, position) once, the place to go on from, and stops. When it simply ends,
        the range is done. Filters are applied by DynamoDB after its Limit, so a query may yield
        nothing; `batch` is the Limit of each query (DynamoDB also stops at 1 MB).
        """
        conditions, names, values = _response_filters(kind, channel, agent, team, min_score, max_score, has_comment)
        _why_filters(conditions, names, values, reason, theme, resolved)
        lowest = clock.iso(start)  # rs_sk "<time>#<id>" of a response at exactly `start` sorts after it
        oldest_month, month = lowest[:7], _first_month(position)
        queries = 0
        while position > lowest and month >= oldest_month:
            kwargs: dict[str, Any] = {
                "IndexName": RESPONSES_INDEX, "ScanIndexForward": False,
                # BETWEEN is inclusive: a time `position` excludes a response at exactly that time
                # ("<time>#<id>" sorts after "<time>"), a sort key is excluded by ExclusiveStartKey.
                "KeyConditionExpression": "rs_pk = :month AND rs_sk BETWEEN :lowest AND :position",
                "ExpressionAttributeValues": {**values, ":month": f"RESPONSE#{month}", ":lowest": lowest,
                                              ":position": position},
                "Limit": batch, "FilterExpression": " AND ".join(conditions), "ExpressionAttributeNames": names,
            }
            survey_id = position.partition("#")[2]
            if survey_id and position[:7] == month:
                kwargs["ExclusiveStartKey"] = {**survey_key(survey_id)._asdict(), "rs_pk": f"RESPONSE#{month}",
                                               "rs_sk": position}
            while True:
                if queries == max_queries:
                    yield None, position
                    return
                page = self.table.query_page(**kwargs)
                queries += 1
                for item in map(from_item, page["Items"]):
                    yield Survey.model_validate(item), item["rs_sk"]
                if "LastEvaluatedKey" not in page:
                    break
                position = page["LastEvaluatedKey"]["rs_sk"]["S"]
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            # This month is done: what remains is older than its first moment.
            position = min(position, f"{month}-01T00:00:00.000Z")
            month = _earlier_month(month)


def _response_filters(kind, channel, agent, team, min_score, max_score, has_comment) -> tuple[list, dict, dict]:
    """The FilterExpression conditions (with their names and values) of a responses listing;
    responses past retention are always filtered out."""
    conditions, names, values = [], {}, {}
    for name, value in (("kind", kind), ("channel", channel), ("team", team)):
        if value is not None:
            conditions.append(f"#{name} = :{name}")
            names[f"#{name}"], values[f":{name}"] = name, value
    if agent is not None:
        conditions.append("#agent.#id = :agent")
        names.update({"#agent": "agent", "#id": "id"})
        values[":agent"] = agent
    if min_score is not None or max_score is not None:
        names["#score"] = "score"
    if min_score is not None:
        conditions.append("#score >= :min")
        values[":min"] = min_score
    if max_score is not None:
        conditions.append("#score <= :max")
        values[":max"] = max_score
    if has_comment is not None:
        names["#comment"] = "comment"
        conditions.append("attribute_exists(#comment)" if has_comment else "attribute_not_exists(#comment)")
    alive_condition, alive_names, alive_values = alive_filter()
    return conditions + [alive_condition], {**names, **alive_names}, {**values, **alive_values}


def _why_filters(conditions: list, names: dict, values: dict, reason: Optional[str], theme: Optional[str],
                 resolved: Optional[bool]) -> None:
    """Conditions on why: a reason ticked, a theme of the comment (both lists of keys), the answer."""
    for name, attribute, value in (("reason", "reasons", reason), ("theme", "themes", theme)):
        if value is not None:
            conditions.insert(0, f"contains(#{attribute}, :{name})")
            names[f"#{attribute}"], values[f":{name}"] = attribute, value
    if resolved is not None:
        conditions.insert(0, "#resolved = :resolved")
        names["#resolved"], values[":resolved"] = "resolved", resolved


def _earlier_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _first_month(position: str) -> str:
    """The newest month a response older than `position` can be in (see ResponseIndex.newest_first)."""
    month = position[:7]
    return _earlier_month(month) if position == f"{month}-01T00:00:00.000Z" else month

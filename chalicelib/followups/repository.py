"""The follow-up aggregate on the table.

Items
- follow-up:   pk=FOLLOWUP#<followup_id>   sk=FOLLOWUP; also in two sparse indexes (storage/schema.py):
  followups (fu_pk=FOLLOWUP, fu_sk=<opened_at>#<id>: every follow-up, newest first, for listing) and
  due (due_pk=DUE, due_sk=<due_at>#<id>: follow-ups still open and not yet escalated, earliest
  deadline first; the escalation scan reads only what is due)
- open marker: pk=CUSTOMER#<customer_id>   sk=OPENFOLLOWUP#<id>   (while the follow-up is not closed)
- reminder:    pk=FOLLOWUP#<followup_id>   sk=REMINDER   (the timer of its owner's reminder; the
  follow-up item's own due keys belong to the escalation. Put with every write of an owned
  follow-up whose reminder is still ahead, so a new owner or deadline re-times it; deleted by a
  write that leaves it none: closed, escalated, or without an owner)
A resolved follow-up whose re-survey is still to come carries its timer instead of due keys
(storage/timers.py), at `resurvey_due_at`. All three expire a retention period after the opening.
The follow-up item also holds the once-only step marks of its alerts, escalations and owner's
emails (storage/steps.py), and the latest Slack `response_url` (`slack_response_url`,
`slack_response_at`, `slack_response_uses`; followups/slack_replies.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, Optional, Sequence, Union

from chalicelib.followups.jobs import RemindOwner, SendResurvey
from chalicelib.followups.model import CLOSED_STATUSES, FollowUp, FollowUpStatus
from chalicelib.followups.owners import remind_at
from chalicelib.platform import clock
from chalicelib.storage import timers
from chalicelib.storage.repository import Repository
from chalicelib.storage.schema import DUE_INDEX, FOLLOWUPS_INDEX
from chalicelib.storage.table import TTL_ATTRIBUTE, ConditionFailed, ItemKey, alive, alive_filter, expiry_of, from_item
from chalicelib.surveys import customer_pk

# Listing follow-ups: the keys of a page boundary in the followups index, how many items one
# filtered query reads, and how many queries one page may take.
LISTING_KEY = ("pk", "sk", "fu_pk", "fu_sk")
_FILTERED_BATCH = 100
_LISTING_ROUNDS = 10
# For items written before retention existed (contacts/retention.py): sort key -> the time it counts from.
RETENTION_CLOCKS = {"FOLLOWUP": "opened_at", "OPENFOLLOWUP#": "opened_at"}
# Follow-up fields that may be absent; saving a follow-up without them removes them.
_OPTIONAL = ("comment", "customer_name", "agent", "team", "owner", "first_contact_at", "closed_at",
             "escalated_at", "alert_error", "resurvey_id", "resurvey_score", "recovered", "base_url",
             "resurvey_resolved", "resurvey_due_at", "due_pk", "due_sk")


def followup_key(followup_id: str) -> ItemKey:
    """The follow-up's item; its alerts' and escalations' once-only steps live on it."""
    return ItemKey(f"FOLLOWUP#{followup_id}", "FOLLOWUP")


def reminder_key(followup_id: str) -> ItemKey:
    return ItemKey(f"FOLLOWUP#{followup_id}", "REMINDER")


def _item(followup: FollowUp) -> dict:
    """The stored item: the model plus its index keys, derived here so they never disagree."""
    values = {k: v for k, v in followup.model_dump(mode="json").items() if v is not None}
    values.update(followup_key(followup.followup_id)._asdict(), fu_pk="FOLLOWUP",
                  fu_sk=f"{clock.iso(followup.opened_at)}#{followup.followup_id}")
    values[TTL_ATTRIBUTE] = expiry_of(followup.opened_at)
    if followup.status not in CLOSED_STATUSES and followup.escalated_at is None:
        values.update(due_pk="DUE", due_sk=f"{clock.iso(followup.due_at)}#{followup.followup_id}")
    elif followup.status is FollowUpStatus.RESOLVED and followup.resurvey_due_at and not followup.resurvey_id:
        values.update(timers.timer(SendResurvey(followup_id=followup.followup_id), followup.resurvey_due_at))
    return values


class FollowUpRepository(Repository):

    def open(self, followup: FollowUp) -> bool:
        """Store a new follow-up (and, unless closed, its customer's open marker); False if one
        with this id already exists."""
        try:
            self.table.transact([self.table.put_write(_item(followup), condition="attribute_not_exists(pk)"),
                                 self._open_marker_write(followup), *self._reminder_writes(followup, True)])
        except ConditionFailed:
            return False
        return True

    def has_open(self, customer_id: str) -> bool:
        """True if a follow-up of this customer is not closed (one Query on the open markers)."""
        # No Limit: DynamoDB applies it before the filter, and an expired marker must not hide a live one.
        condition, names, values = alive_filter()
        page = self.table.query_page(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :open)", FilterExpression=condition,
            ExpressionAttributeNames=names, ConsistentRead=True,
            ExpressionAttributeValues={":pk": customer_pk(customer_id), ":open": "OPENFOLLOWUP#", **values})
        return bool(page["Items"])

    def get(self, followup_id: str, include_expired: bool = False) -> Optional[FollowUp]:
        return self._one(followup_key(followup_id), FollowUp, include_expired)

    def save(self, followup: FollowUp, read_version: int) -> None:
        """Write a changed follow-up, only if nobody changed it since `read_version` was read.

        An update, not a put: the item also holds the once-only step marks of its alerts.
        """
        values = _item(followup)
        del values["pk"], values["sk"]
        removed = [name for name in _OPTIONAL if name not in values]
        names = {f"#f{i}": name for i, name in enumerate(values)}
        names.update({f"#r{i}": name for i, name in enumerate(removed)})
        expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(values)))
        if removed:
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
        try:
            self.table.transact([
                self.table.update_write(followup_key(followup.followup_id), expression, "version = :read_version",
                                        names, {**{f":f{i}": v for i, v in enumerate(values.values())},
                                                ":read_version": read_version}),
                # The customer's open marker follows the status: put while open, deleted once closed.
                self._open_marker_write(followup),
                *self._reminder_writes(followup),
            ])
        except ConditionFailed as failure:
            raise ConditionFailed(f"follow-up {followup.followup_id} changed meanwhile") from failure

    def set_alert_error(self, followup_id: str, error: Optional[str]) -> None:
        if error is None:
            self.table.update(followup_key(followup_id), "REMOVE alert_error")
        else:
            self.table.update(followup_key(followup_id), "SET alert_error = :e", values={":e": error[:500]})

    def remember_slack_response(self, followup_id: str, url: str, at: datetime, uses: int) -> None:
        """Keep the latest `response_url` Slack sent with a press of this follow-up's buttons, when it
        came and how often it was used (not part of the model: `save` never overwrites it)."""
        self.table.update(followup_key(followup_id), "SET slack_response_url = :u, slack_response_at = :at, "
                          "slack_response_uses = :n", condition="attribute_exists(pk)",
                          values={":u": url, ":at": clock.iso(at), ":n": uses})

    def take_slack_response(self, followup_id: str, since: datetime, max_uses: int) -> Optional[str]:
        """The kept `response_url` if it came after `since` and was used fewer than `max_uses` times,
        counting this use (one conditional write, so concurrent takers never overuse it); else None."""
        try:
            item = self.table.update(
                followup_key(followup_id), "SET slack_response_uses = slack_response_uses + :one",
                condition="attribute_exists(slack_response_url) AND slack_response_at > :since "
                          "AND slack_response_uses < :max",
                values={":one": 1, ":since": clock.iso(since), ":max": max_uses}, returns="ALL_NEW")
        except ConditionFailed:
            return None
        return item["slack_response_url"]

    def alert_marks(self, followup_id: str) -> dict[str, str]:
        """Per alert channel, "done" once its alert went out, "busy" while a worker is sending it
        (the once-only steps `alert_<channel>`, storage/steps.py)."""
        item, now = self.table.get(followup_key(followup_id)) or {}, clock.iso(clock.now())
        marks = {}
        for name, value in item.items():
            if name.startswith("alert_") and name.endswith("_done_at"):
                marks[name[len("alert_"):-len("_done_at")]] = "done"
            elif name.startswith("alert_") and name.endswith("_lease_until") and value > now:
                marks.setdefault(name[len("alert_"):-len("_lease_until")], "busy")
        return marks

    def _open_marker_write(self, followup: FollowUp) -> dict:
        """The write that keeps the customer's open-follow-up marker in step with the follow-up's status."""
        marker = ItemKey(customer_pk(followup.customer_id), f"OPENFOLLOWUP#{followup.followup_id}")
        if followup.status in CLOSED_STATUSES:
            return self.table.delete_write(marker)
        return self.table.put_write({**marker._asdict(), "followup_id": followup.followup_id,
                                     "opened_at": clock.iso(followup.opened_at),
                                     TTL_ATTRIBUTE: expiry_of(followup.opened_at)})

    def _reminder_writes(self, followup: FollowUp, new: bool = False) -> list[dict]:
        """The owner's reminder timer while it is ahead; taken off once the follow-up needs none
        (closed, escalated, no owner), so no stale timer fires (RemindOwner re-reads and judges anyway)."""
        at = remind_at(followup)
        if at is None:
            return [] if new else [self.table.delete_write(reminder_key(followup.followup_id))]
        if at <= clock.now():
            return []
        job = RemindOwner(followup_id=followup.followup_id, due_ms=int(followup.due_at.timestamp() * 1000))
        return [self.table.put_write({**reminder_key(followup.followup_id)._asdict(), **timers.timer(job, at),
                                      TTL_ATTRIBUTE: expiry_of(followup.opened_at)})]

    # --- the indexes ---

    def due_ids(self, before: datetime) -> Iterator[str]:
        """Ids of follow-ups not closed and not escalated whose deadline is at or before `before`,
        earliest first, paging through the sparse due index (eventually consistent: callers re-read)."""
        # "~" sorts after "#": a deadline of exactly `before` is due too.
        for item in self.table.query(IndexName=DUE_INDEX, KeyConditionExpression="due_pk = :due AND due_sk < :before",
                                     ExpressionAttributeValues={":due": "DUE", ":before": clock.iso(before) + "~"}):
            yield item["pk"].removeprefix("FOLLOWUP#")

    def opened_between(self, start: datetime, end: datetime) -> Iterator[FollowUp]:
        """Every follow-up opened in [start, end), oldest first, paging through the followups index
        (it projects ALL attributes, so no further reads)."""
        # fu_sk is "<opened_at>#<id>": one opened exactly at `end` sorts after clock.iso(end).
        items = self.table.query(IndexName=FOLLOWUPS_INDEX,
                                 KeyConditionExpression="fu_pk = :fu AND fu_sk BETWEEN :start AND :end",
                                 ExpressionAttributeValues={":fu": "FOLLOWUP", ":start": clock.iso(start),
                                                            ":end": clock.iso(end)})
        yield from (FollowUp.model_validate(item) for item in items if alive(item))

    def list(self, status: Optional[FollowUpStatus] = None, owner: Union[str, Sequence[str], None] = None,
             team: Optional[str] = None, overdue_at: Optional[datetime] = None, overdue: bool = True,
             limit: int = 50, start_key: Optional[dict] = None) -> tuple[list[FollowUp], Optional[dict]]:
        """One page of follow-ups, newest opened first, and the key to go on after it (None: the end).

        Filters: `status`, `owner`, `team` match exactly (`owner` may list several: any of them); with
        `overdue_at`, only follow-ups overdue at that time (`overdue=False`: only those that are not).
        DynamoDB applies its Limit before the filter, so this queries on until the page is full or the
        index ends (or after
        _LISTING_ROUNDS queries: then the page may be short, with a key to go on). Keys are
        {pk, sk, fu_pk, fu_sk} as plain strings (see `is_listing_key`).
        """
        conditions, names, values = _listing_filters(status, owner, team, overdue_at, overdue)
        kwargs: dict[str, Any] = {
            "IndexName": FOLLOWUPS_INDEX, "KeyConditionExpression": "fu_pk = :fu", "ScanIndexForward": False,
            "ExpressionAttributeValues": values, "FilterExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
        }
        if start_key is not None:
            kwargs["ExclusiveStartKey"] = start_key
        items: list[dict] = []
        for _ in range(_LISTING_ROUNDS):
            # One more than the page needs: finding it tells a next page exists (no empty last page);
            # at least a batch, since the filter (retention, at least) may drop some.
            kwargs["Limit"] = max(limit + 1 - len(items), _FILTERED_BATCH)
            page = self.table.query_page(**kwargs)
            items += page["Items"]
            if len(items) > limit:
                last = items[limit - 1]
                return _followups(items[:limit]), {name: last[name]["S"] for name in LISTING_KEY}
            if "LastEvaluatedKey" not in page:
                return _followups(items), None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return _followups(items), {name: kwargs["ExclusiveStartKey"][name]["S"] for name in LISTING_KEY}

    @staticmethod
    def is_listing_key(key: Any) -> bool:
        """True if `key` is a page boundary `list` could have returned (a cursor's content)."""
        if not isinstance(key, dict) or set(key) != set(LISTING_KEY):
            return False
        if not all(isinstance(value, str) for value in key.values()):
            return False
        followup_id = key["pk"].removeprefix("FOLLOWUP#")
        opened, _, sk_id = key["fu_sk"].rpartition("#")
        return (key["fu_pk"] == "FOLLOWUP" and key["sk"] == "FOLLOWUP" and key["pk"] == followup_key(followup_id).pk
                and bool(followup_id) and sk_id == followup_id and bool(opened))


def _listing_filters(status, owner, team, overdue_at, overdue) -> tuple[list[str], dict, dict]:
    """The FilterExpression conditions of a listing, with their names and values; past retention
    a follow-up is gone, whatever the filters."""
    conditions, names, values = [], {}, {":fu": "FOLLOWUP"}
    if owner is not None and not isinstance(owner, str):
        # An owner's forms (a lead's address and short name, followups/owners.py): any of them.
        values.update({f":owner{i}": name for i, name in enumerate(owner)})
        conditions.append(f"#owner IN ({', '.join(f':owner{i}' for i in range(len(owner)))})")
        names["#owner"], owner = "owner", None
    for name, value in (("status", status.value if status else None), ("owner", owner), ("team", team)):
        if value is not None:
            conditions.append(f"#{name} = :{name}")
            names[f"#{name}"], values[f":{name}"] = name, value
    if overdue_at is not None:
        closed = {f":closed{i}": s.value for i, s in enumerate(CLOSED_STATUSES)}
        names.update({"#status": "status", "#due": "due_at"})
        values.update({**closed, ":at": clock.iso(overdue_at)})
        late = f"(NOT #status IN ({', '.join(closed)}) AND #due <= :at)"
        conditions.append(late if overdue else f"NOT {late}")
    alive_condition, alive_names, alive_values = alive_filter()
    return conditions + [alive_condition], {**names, **alive_names}, {**values, **alive_values}


def _followups(items: list[dict]) -> list[FollowUp]:
    return [FollowUp.model_validate(from_item(item)) for item in items]

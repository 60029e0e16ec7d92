"""DynamoDB storage: one table, items named by `pk`/`sk`, conditional writes for every invariant.

Items
- survey:      pk=SURVEY#<survey_id>       sk=SURVEY
- page view:   pk=SURVEY#<survey_id>       sk=OPEN#<time>#<open_id>   (audit evidence, same partition)
- interaction: pk=INTERACTION#<id>         sk=INTERACTION             (one survey per interaction)
- follow-up:   pk=FOLLOWUP#<followup_id>   sk=FOLLOWUP
- api key:     pk=APIKEY                   sk=<sha256 of the key>
- lead:        pk=LEAD                     sk=<lowercased email>  (the dashboard's allowed list, listable)
- sign-in link: pk=SIGNIN#<sha256 of the token> sk=SIGNIN  (one-time, `used_at` once consumed; `expires_ttl`)
- sign-in rate: pk=SIGNINRATE#<email>      sk=SIGNINRATE  (when links were sent lately; `expires_ttl`)
- session:     pk=SESSION#<sha256 of the cookie value> sk=SESSION  (a lead signed in; `expires_ttl`)
- counter:     pk=COUNTER#<name>           sk=COUNTER                 (round-robin assignment)
- suppression: pk=SUPPRESSION              sk=<kind>#<value>          (the ledger: one partition, listable;
               an erased customer's entries as <kind>#sha256:<hex> or <kind>#hmac-sha256:<hex>, never expiring)
- throttle:    pk=THROTTLE#<kind>#<value>  sk=THROTTLE                (when a contact was last surveyed)
- open marker: pk=CUSTOMER#<customer_id>   sk=OPENFOLLOWUP#<id>       (while a follow-up is not closed)
- customer's survey: pk=CUSTOMER#<customer_id> sk=SURVEY#<survey_id>  (written with the survey: erasure
               finds a customer's surveys with one Query; `ops customers backfill` for older surveys)
- erasure receipt: pk=ERASURE#<receipt_id>  sk=ERASURE  (counts and the hashed customer id; kept for good)
- latest SMS:  pk=PHONE#<e164>             sk=LATESTSMS               (the survey an SMS reply answers)
- SMS markers: pk=SMSIN#<inboundMessageId> sk=SMSIN (a reply handled once); SURVEY#<id>/SMSHELP,
               SURVEY#<id>/SMSCLOSED, PHONE#<e164>/SMSNOSURVEY (a help reply sent at most once)
- webhook marker: pk=HOOK#<helpdesk>#<sha256 of the delivery> sk=HOOK (a helpdesk delivery taken once;
               `expires_ttl`: epoch seconds, the table's TTL attribute)
- send rate:   pk=SENDRATE#<channel>          sk=SENDRATE  (`next_us`: the channel's next free send
               moment, epoch microseconds; see chalicelib/send_rate.py)
- report counter: pk=AGG#<kind>#<dimension>#<shard> sk=<day>#<group> (`sent`, `opened`, `responses`, `s0`..`s10`;
               moved in the same transaction as the send or response they count: chalicelib/aggregates.py)

Indexes (sparse: only follow-ups, and surveys with a counted response, carry their keys)
- followups: fu_pk=FOLLOWUP, fu_sk=<opened_at>#<id>: every follow-up, newest first, for listing.
- due:       due_pk=DUE, due_sk=<due_at>#<id>: follow-ups that are still open and not yet escalated,
             earliest deadline first; the escalation scan reads only what is due.
- responses: rs_pk=RESPONSE#<yyyy-mm of responded_at>, rs_sk=<responded_at>#<survey_id>: surveys with a
             counted response, one partition per month (GET /v1/responses reads the months of its range,
             newest first). Set by the write that records or changes a response, removed by the one that
             withdraws it.

Retention: every item that holds personal data or points at it carries `expires_ttl` (epoch
seconds, the table's TTL attribute): surveys, their interaction and customer index items from the
send time, page views from their time, follow-ups and open markers from their opening, the latest
SMS and SMS markers from their time, all plus CLOSELOOP_RETENTION_DAYS; throttle stamps when their
throttle window ends. Reads skip items past it (`_alive`: DynamoDB deletes them up to ~48 h late,
DynamoDB Local never); an item without it (written before retention) does not expire until
`ops retention backfill` gives it one. Report counters, suppressions, API keys, erasure receipts
never expire.

Because page views share the survey's partition, one descending Query returns the survey and its
latest views: recording a response is that Query plus one transaction (2 requests).
"""
from __future__ import annotations

import functools
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator, Optional, Sequence

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib import aggregates, aws, clock
from chalicelib.config import get_settings
from chalicelib.models import (
    CLOSED_STATUSES, ApiKey, ContactKind, ErasureReceipt, FollowUp, FollowUpStatus, Lead, SessionRecord,
    SignInLink, Suppression, Survey, SurveyOpen, SurveyStatus,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# How many recent page views a response decision looks at; a scanner burst is far fewer.
RECENT_OPENS = 60
# Listing follow-ups: the keys of a page boundary in the followups index, how many items one
# filtered query reads, and how many queries one page may take.
LISTING_KEY = ("pk", "sk", "fu_pk", "fu_sk")
_FILTERED_BATCH = 100
_LISTING_ROUNDS = 10
# How often a transaction cancelled only by a concurrent one is tried.
_TRANSACTION_ATTEMPTS = 5
# How often a send-moment reservation that lost to a concurrent one is tried (twice per round).
_RESERVE_ROUNDS = 5


class DuplicateInteraction(Exception):
    def __init__(self, survey_id: str):
        super().__init__(survey_id)
        self.survey_id = survey_id


class Throttled(Exception):
    """A contact of the customer was surveyed within the throttle window."""

    def __init__(self, kind: ContactKind, value: str):
        super().__init__(f"{ContactKind(kind).value} {value}")
        self.kind, self.value = ContactKind(kind), value


class ConditionFailed(Exception):
    """A conditional write lost: the item changed or is not in the expected state."""


class StepBusy(Exception):
    """Another worker holds the lease on this step; try again later."""


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _to_item(values: dict) -> dict:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def _from_item(item: dict) -> dict:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in ("ConditionalCheckFailedException", "TransactionCanceledException")


def _cancellation_codes(error: ClientError) -> list[str]:
    """Why each item of a cancelled transaction failed ("None", "ConditionalCheckFailed",
    "TransactionConflict", ...), in the order of the items; [] when DynamoDB gave no reasons."""
    return [reason.get("Code") or "None" for reason in error.response.get("CancellationReasons") or []]


def expiry_of(at: datetime, kept: Optional[timedelta] = None) -> int:
    """The `expires_ttl` (epoch seconds) of personal data about a moment `at`: `kept` after it,
    by default the retention period (CLOSELOOP_RETENTION_DAYS)."""
    return int((at + (kept or timedelta(days=get_settings().retention_days))).timestamp())


def _alive(item: dict, now: Optional[datetime] = None) -> bool:
    """False once a (plain) item is past its `expires_ttl`: DynamoDB deletes expired items only
    some time later (up to ~48 h; DynamoDB Local never), so every read of personal data asks this.
    An item without the attribute (written before retention existed) never expires."""
    ttl = item.get(TTL_ATTRIBUTE)
    return ttl is None or int(ttl) > (now or clock.now()).timestamp()


def _alive_filter(now: Optional[datetime] = None) -> tuple[str, dict, dict]:
    """_alive as a FilterExpression fragment, with its attribute names and (plain) values."""
    return ("(attribute_not_exists(#ttl) OR #ttl > :alive_at)", {"#ttl": TTL_ATTRIBUTE},
            {":alive_at": int((now or clock.now()).timestamp())})


def _alive_item(item: Optional[dict]) -> Optional[dict]:
    """A raw item read by key, as a plain dict, or None when absent or expired."""
    plain = _from_item(item) if item else None
    return plain if plain is not None and _alive(plain) else None


# Follow-up fields that may be absent; saving a follow-up without them removes them.
_FOLLOWUP_OPTIONAL = ("comment", "customer_name", "agent", "team", "owner", "first_contact_at", "closed_at",
                      "escalated_at", "alert_error", "resurvey_id", "resurvey_score", "recovered", "base_url",
                      "resurvey_resolved", "due_pk", "due_sk")


def _followup_item(followup: FollowUp) -> dict:
    """The stored item: the model plus its index keys, derived here so they never disagree."""
    values = {k: v for k, v in followup.model_dump(mode="json").items() if v is not None}
    values.update(pk=followup_pk(followup.followup_id), sk="FOLLOWUP", fu_pk="FOLLOWUP",
                  fu_sk=f"{clock.iso(followup.opened_at)}#{followup.followup_id}")
    values[TTL_ATTRIBUTE] = expiry_of(followup.opened_at)
    if followup.status not in CLOSED_STATUSES and followup.escalated_at is None:
        values.update(due_pk="DUE", due_sk=f"{clock.iso(followup.due_at)}#{followup.followup_id}")
    return values


def _open_marker_write(table_name: str, followup: FollowUp) -> dict:
    """The write that keeps the customer's open-follow-up marker in step with the follow-up's status."""
    key = _key(customer_pk(followup.customer_id), f"OPENFOLLOWUP#{followup.followup_id}")
    if followup.status in CLOSED_STATUSES:
        return {"Delete": {"TableName": table_name, "Key": key}}
    return {"Put": {"TableName": table_name, "Item": {
        **key, **_to_item({"followup_id": followup.followup_id, "opened_at": clock.iso(followup.opened_at),
                           TTL_ATTRIBUTE: expiry_of(followup.opened_at)})}}}


def _counter_writes(table_name: str, changes: Sequence[aggregates.CounterChange]) -> list[dict]:
    """Transaction items that add each change's deltas to its counter item (created on first use)."""
    writes = []
    for change in changes:
        names = {f"#c{i}": name for i, name in enumerate(change.deltas)}
        values = {f":c{i}": {"N": str(n)} for i, n in enumerate(change.deltas.values())}
        writes.append({"Update": {
            "TableName": table_name, "Key": _key(change.pk, change.sk),
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(names))),
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        }})
    return writes


def _followups(items: list[dict]) -> list[FollowUp]:
    return [FollowUp.model_validate(_from_item(item)) for item in items]


def _suppression_sk(kind: ContactKind, value: str) -> str:
    return f"{ContactKind(kind).value}#{value}"


def survey_pk(survey_id: str) -> str:
    return f"SURVEY#{survey_id}"


def followup_pk(followup_id: str) -> str:
    return f"FOLLOWUP#{followup_id}"


def throttle_pk(kind: ContactKind, value: str) -> str:
    return f"THROTTLE#{ContactKind(kind).value}#{value}"


def customer_pk(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


def response_keys(survey_id: str, responded_at: datetime) -> dict[str, str]:
    """A responded survey's keys in the responses index: its month's partition, then time and id."""
    at = clock.iso(responded_at)
    return {"rs_pk": f"RESPONSE#{at[:7]}", "rs_sk": f"{at}#{survey_id}"}


def _earlier_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _first_month(position: str) -> str:
    """The newest month a response older than `position` can be in (see Store.responses)."""
    month = position[:7]
    return _earlier_month(month) if position == f"{month}-01T00:00:00.000Z" else month


class Store:
    """All reads and writes of closeloop's table."""

    def __init__(self, table_name: str, client=None):
        self.table_name = table_name
        self._client = client

    @property
    def db(self):
        return self._client or aws.client("dynamodb")

    def ping(self) -> None:
        """One cheap read that proves the table answers (GET /health): a GetItem of a key nothing
        writes, not DescribeTable, a control-plane call with a low rate limit."""
        self.db.get_item(TableName=self.table_name, Key=_key("HEALTH", "HEALTH"), ProjectionExpression="pk")

    # --- surveys -------------------------------------------------------------------------

    def create_survey(self, survey: Survey, throttle_since: Optional[datetime] = None,
                      contacts: Sequence[tuple[ContactKind, str]] = ()) -> None:
        """Store a new survey; raises DuplicateInteraction if its interaction already has one.

        With `throttle_since`, the same transaction stamps each of `contacts` as surveyed now, on
        condition that none was surveyed at or after `throttle_since`; raises Throttled (naming the
        contact) otherwise. Without it (re-surveys, suppressed surveys) no contact is stamped.
        """
        pk = survey_pk(survey.survey_id)
        # Personal data expires a retention period after the send; every item that names the
        # customer or points at the survey goes with it.
        expires = expiry_of(survey.send_at)
        items = [
            {"Put": {
                "TableName": self.table_name,
                "Item": _to_item({"pk": f"INTERACTION#{survey.interaction_id}", "sk": "INTERACTION",
                                  "survey_id": survey.survey_id, TTL_ATTRIBUTE: expires}),
                # An expired interaction that DynamoDB has not deleted yet is as good as gone.
                "ConditionExpression": "attribute_not_exists(pk) OR #ttl < :now",
                "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": _to_item({":now": int(clock.now().timestamp())}),
            }},
            {"Put": {
                "TableName": self.table_name,
                "Item": _to_item({"pk": pk, "sk": "SURVEY", **survey.model_dump(mode="json"), TTL_ATTRIBUTE: expires}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }},
        ]
        throttled = list(dict.fromkeys(contacts)) if throttle_since is not None else []
        for kind, value in throttled:
            # A stamp matters only for the throttle window: it expires when the window has passed.
            items.append({"Update": {
                "TableName": self.table_name, "Key": _key(throttle_pk(kind, value), "THROTTLE"),
                "UpdateExpression": "SET last_surveyed_at = :now, survey_id = :survey, #ttl = :ttl",
                "ConditionExpression": "attribute_not_exists(pk) OR last_surveyed_at < :since",
                "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": _to_item({
                    ":now": clock.iso(survey.created_at), ":survey": survey.survey_id,
                    ":since": clock.iso(throttle_since),
                    ":ttl": expiry_of(survey.created_at, survey.created_at - throttle_since)}),
            }})
        # The customer's index of surveys (erasure finds them with one Query), after the stamps so
        # a cancellation reason's position still names the stamp that failed.
        items.append({"Put": {"TableName": self.table_name, "Item": _to_item({
            "pk": customer_pk(survey.customer.id), "sk": f"SURVEY#{survey.survey_id}", "survey_id": survey.survey_id,
            TTL_ATTRIBUTE: expires})}})
        try:
            # A concurrent transaction on the same items (the customer's other interaction) is
            # tried again; the loser then sees the winner's stamp.
            self._transact(items)
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            codes = _cancellation_codes(error)
            failed = [i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"]
            if failed and 2 <= failed[0] < 2 + len(throttled):  # 0, 1: the interaction and the survey
                raise Throttled(*throttled[failed[0] - 2]) from error
            existing = self.survey_id_for_interaction(survey.interaction_id)
            if existing is not None:
                raise DuplicateInteraction(existing) from error
            if not codes and throttled:  # no reasons given: find the stamp that stopped it
                for kind, value in throttled:
                    stamp = self.last_surveyed(kind, value)
                    if stamp is not None and stamp >= throttle_since:
                        raise Throttled(kind, value) from error
            # The 64-bit survey id collided (vanishingly rare; the caller retries), or conflicts persisted.
            raise ConditionFailed("survey id already taken, or the transaction kept conflicting") from error

    def last_surveyed(self, kind: ContactKind, value: str) -> Optional[datetime]:
        """When this contact was last stamped by a throttled survey, if ever."""
        item = _alive_item(self.db.get_item(TableName=self.table_name, Key=_key(throttle_pk(kind, value), "THROTTLE"),
                                            ConsistentRead=True).get("Item"))
        return clock.parse_iso(item["last_surveyed_at"]) if item else None

    def survey_id_for_interaction(self, interaction_id: str) -> Optional[str]:
        item = _alive_item(self.db.get_item(TableName=self.table_name,
                                            Key=_key(f"INTERACTION#{interaction_id}", "INTERACTION"),
                                            ConsistentRead=True).get("Item"))
        return item["survey_id"] if item else None

    def get_survey(self, survey_id: str, include_expired: bool = False) -> Optional[Survey]:
        """The survey, or None; one past its retention counts as gone unless `include_expired` (erasure)."""
        raw = self.db.get_item(TableName=self.table_name, Key=_key(survey_pk(survey_id), "SURVEY"),
                               ConsistentRead=True).get("Item")
        item = _from_item(raw) if raw and include_expired else _alive_item(raw)
        return Survey.model_validate(item) if item else None

    def get_survey_with_opens(self, survey_id: str) -> tuple[Optional[Survey], list[SurveyOpen]]:
        """The survey and its latest page views, newest first, in one Query."""
        items = self.db.query(
            TableName=self.table_name, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": survey_pk(survey_id)}},
            ScanIndexForward=False, Limit=RECENT_OPENS + 1, ConsistentRead=True,
        )["Items"]
        survey, opens = None, []
        for item in filter(_alive, map(_from_item, items)):
            if item["sk"] == "SURVEY":
                survey = Survey.model_validate(item)
            elif item["sk"].startswith("OPEN#"):
                opens.append(SurveyOpen.model_validate(item))
        return survey, opens

    def add_open(self, survey_open: SurveyOpen, survey: Optional[Survey] = None) -> None:
        """Keep a page view. With `survey` (as the page read it), a view that is the survey's first
        open by a person (aggregates.opens_now) is kept in a transaction that also sets the survey's
        `opened_at`, on condition it has none, and counts `opened`: of two views at once one counts."""
        put = {"TableName": self.table_name, "Item": _to_item({
            "pk": survey_pk(survey_open.survey_id), "sk": self._open_sk(survey_open),
            **survey_open.model_dump(mode="json"), TTL_ATTRIBUTE: expiry_of(survey_open.at),
        })}
        changes = aggregates.opened_changes(survey, get_settings().reporting_timezone) \
            if survey is not None and aggregates.opens_now(survey, survey_open) else []
        if not changes:
            self.db.put_item(**put)
            return
        try:
            self._transact([{"Put": put}, {"Update": {
                "TableName": self.table_name, "Key": _key(survey_pk(survey.survey_id), "SURVEY"),
                "UpdateExpression": "SET opened_at = :at",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(opened_at)",
                "ExpressionAttributeValues": _to_item({":at": clock.iso(survey_open.at)}),
            }}, *_counter_writes(self.table_name, changes)])
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            self.db.put_item(**put)  # another view or a response counted the open first

    def list_opens(self, survey_id: str) -> list[SurveyOpen]:
        """Every recorded page view of a survey, oldest first (audit)."""
        return [SurveyOpen.model_validate(item) for item in self._query_prefix(survey_pk(survey_id), "OPEN#")
                if _alive(item)]

    def set_open_verdict(self, survey_open: SurveyOpen) -> None:
        self.db.update_item(**self._open_verdict_update(survey_open))

    def record_response(self, survey: Survey, survey_open: Optional[SurveyOpen], score: int,
                        comment: Optional[str], at: datetime, resolved: Optional[bool] = None) -> int:
        """Count `score` (and `comment`, and a re-survey's `resolved` answer, if given) as the survey's
        one response.

        The write succeeds only if nobody changed the response since `survey` was read
        (response_version) and the survey has not expired, so one response is counted per survey
        and concurrent clicks cannot interleave. Returns the new response version.
        A survey without a counted open is counted as opened by the same write (and gets
        `opened_at`, on condition that a concurrent page view did not set it meanwhile).
        """
        names = {"#status": "status"}
        values = {":score": score, ":now": clock.iso(at), ":version": survey.response_version,
                  ":one": 1, ":responded": SurveyStatus.RESPONDED.value,
                  ":suppressed": SurveyStatus.SUPPRESSED.value}
        sets = ["score = :score", "#status = :responded", "response_updated_at = :now",
                "responded_at = if_not_exists(responded_at, :now)", "response_version = response_version + :one"]
        if comment is not None:
            sets.append("#comment = :comment")
            names["#comment"] = "comment"
            values[":comment"] = comment
        if resolved is not None:
            sets.append("resolved = :resolved")
            values[":resolved"] = resolved
        # The responses index lists it by its first response time (responded_at, kept on a change).
        sets += ["rs_pk = :rs_pk", "rs_sk = :rs_sk"]
        keys = response_keys(survey.survey_id, survey.responded_at or at)
        values.update({":rs_pk": keys["rs_pk"], ":rs_sk": keys["rs_sk"]})
        # An erased survey takes no new comment: a page read before the erasure cannot write one after.
        condition = ("response_version = :version AND expires_at > :now AND #status <> :suppressed "
                     "AND attribute_not_exists(erased_at)")
        first_open = aggregates.opens_now(survey)
        if first_open:
            sets.append("opened_at = :now")
            condition += " AND attribute_not_exists(opened_at)"
        items = [{"Update": {
            "TableName": self.table_name, "Key": _key(survey_pk(survey.survey_id), "SURVEY"),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _to_item(values),
        }}]
        if survey_open is not None:
            items.append({"Update": self._open_verdict_update(survey_open)})
        # The report counters move with the response: the old score's count to the new one.
        items += _counter_writes(self.table_name, aggregates.response_changes(
            survey, survey.score, score, get_settings().reporting_timezone, first_open=first_open))
        try:
            self._transact(items)
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed("the response changed meanwhile or the survey expired") from error
            raise
        return survey.response_version + 1

    def withdraw_response(self, survey: Survey, survey_open: SurveyOpen, at: datetime) -> None:
        """Uncount a response that turned out to come from a scanner sweep (its report counts too)."""
        counters = _counter_writes(self.table_name, aggregates.response_changes(
            survey, survey.score, None, get_settings().reporting_timezone))
        try:
            self._transact([
                {"Update": {
                    "TableName": self.table_name, "Key": _key(survey_pk(survey.survey_id), "SURVEY"),
                    "UpdateExpression": "SET #status = :sent, response_updated_at = :now, "
                                        "response_version = response_version + :one "
                                        "REMOVE score, responded_at, rs_pk, rs_sk",
                    "ConditionExpression": "response_version = :version",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _to_item({":sent": SurveyStatus.SENT.value, ":one": 1,
                                                           ":now": clock.iso(at),
                                                           ":version": survey.response_version}),
                }},
                {"Update": self._open_verdict_update(survey_open)},
                *counters,
            ])
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed("the response changed meanwhile") from error
            raise

    def mark_sent(self, survey_id: str, at: datetime, message_id: str, survey: Optional[Survey] = None) -> None:
        """The survey went out. With `survey` (as read by the send), its report counters count the
        send in the same write (a transaction), so a send is counted exactly when it is marked."""
        expression = ("SET #status = :sent, sent_at = :at, send_done_at = :at, message_id = :mid "
                      "REMOVE send_lease_until, failure_reason")
        values = {":sent": SurveyStatus.SENT.value, ":at": clock.iso(at), ":mid": message_id,
                  ":scheduled": SurveyStatus.SCHEDULED.value}
        changes = aggregates.sent_changes(survey, at, get_settings().reporting_timezone) if survey else []
        if not changes:
            self._update_survey(survey_id, expression, values, condition="#status = :scheduled")
            return
        try:
            self._transact([
                {"Update": {
                    "TableName": self.table_name, "Key": _key(survey_pk(survey_id), "SURVEY"),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(pk) AND #status = :scheduled",
                    "ExpressionAttributeNames": {"#status": "status"}, "ExpressionAttributeValues": _to_item(values),
                }},
                *_counter_writes(self.table_name, changes),
            ])
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed(f"survey {survey_id} is not in the expected state") from error
            raise

    def mark_failed(self, survey_id: str, reason: str) -> None:
        self._update_survey(survey_id, "SET #status = :failed, failure_reason = :reason, send_done_at = :at "
                                       "REMOVE send_lease_until",
                            {":failed": SurveyStatus.FAILED.value, ":reason": reason[:500], ":at": clock.iso(clock.now()),
                             ":scheduled": SurveyStatus.SCHEDULED.value},
                            condition="#status = :scheduled")

    def mark_suppressed(self, survey_id: str, reason: str, at: datetime) -> None:
        """End a scheduled survey unsent: its contact was suppressed after it was accepted.
        ConditionFailed if it is no longer scheduled or a send is under way (a live lease)."""
        self._update_survey(survey_id, "SET #status = :suppressed, suppressed_reason = :reason, send_done_at = :at",
                            {":suppressed": SurveyStatus.SUPPRESSED.value, ":reason": reason[:500],
                             ":at": clock.iso(at), ":scheduled": SurveyStatus.SCHEDULED.value},
                            condition="#status = :scheduled AND "
                                      "(attribute_not_exists(send_lease_until) OR send_lease_until < :at)")

    def mark_cancelled(self, survey_id: str, by: str, at: datetime) -> None:
        """End a scheduled survey unsent because its interaction was cancelled (suppressed, reason
        "cancelled"). Same condition as mark_suppressed: ConditionFailed once it is no longer
        scheduled or while a send holds its lease, so a send and a cancel never both happen."""
        self._update_survey(survey_id, "SET #status = :suppressed, suppressed_reason = :reason, send_done_at = :at, "
                                       "cancelled_by = :by, cancelled_at = :at",
                            {":suppressed": SurveyStatus.SUPPRESSED.value, ":reason": "cancelled", ":by": by[:128],
                             ":at": clock.iso(at), ":scheduled": SurveyStatus.SCHEDULED.value},
                            condition="#status = :scheduled AND "
                                      "(attribute_not_exists(send_lease_until) OR send_lease_until < :at)")

    def mark_reminded(self, survey_id: str, at: datetime, message_id: str) -> None:
        """The survey's one reminder went: record it and finish the `reminder` once-only step."""
        self._update_survey(survey_id, "SET reminded_at = :at, reminder_done_at = :at, reminder_message_id = :mid "
                                       "REMOVE reminder_lease_until",
                            {":at": clock.iso(at), ":mid": message_id})

    def add_token_hash(self, survey_id: str, secret_hash: str) -> None:
        self._update_survey(survey_id, "SET secret_hashes = list_append(if_not_exists(secret_hashes, :empty), :new)",
                            {":empty": [], ":new": [secret_hash]})

    def count_send_attempt(self, survey_id: str, reason: str) -> None:
        self._update_survey(survey_id, "SET failure_reason = :reason ADD send_attempts :one",
                            {":reason": reason[:500], ":one": 1})

    # --- once-only steps -----------------------------------------------------------------

    def claim_step(self, pk: str, sk: str, step: str, at: datetime, lease_seconds: int) -> Optional[str]:
        """Take the lease on a once-only step of an item.

        Returns None when the step is claimed afresh, "expired" when an earlier worker's lease ran
        out before it finished (it may or may not have acted), or "done" when the step is finished.
        Raises StepBusy while another worker holds a live lease.
        """
        done, lease = f"{step}_done_at", f"{step}_lease_until"
        now, until = clock.iso(at), clock.iso(at + timedelta(seconds=lease_seconds))
        try:
            old = self.db.update_item(
                TableName=self.table_name, Key=_key(pk, sk),
                UpdateExpression="SET #lease = :until",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#done) "
                                    "AND (attribute_not_exists(#lease) OR #lease < :now)",
                ExpressionAttributeNames={"#lease": lease, "#done": done},
                ExpressionAttributeValues=_to_item({":until": until, ":now": now}),
                ReturnValues="ALL_OLD", ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ).get("Attributes", {})
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            item = _from_item(error.response.get("Item", {}))
            if not item:
                raise ConditionFailed(f"{pk} does not exist") from error
            if done in item:
                return "done"
            raise StepBusy(f"{step} of {pk} is in progress elsewhere") from error
        return "expired" if lease in old else None

    def complete_step(self, pk: str, sk: str, step: str, at: datetime) -> None:
        self.db.update_item(
            TableName=self.table_name, Key=_key(pk, sk),
            UpdateExpression="SET #done = :at REMOVE #lease",
            ExpressionAttributeNames={"#lease": f"{step}_lease_until", "#done": f"{step}_done_at"},
            ExpressionAttributeValues=_to_item({":at": clock.iso(at)}),
        )

    def release_step(self, pk: str, sk: str, step: str) -> None:
        """Give a lease back after a failure that certainly did nothing, so a retry can run."""
        self.db.update_item(TableName=self.table_name, Key=_key(pk, sk), UpdateExpression="REMOVE #lease",
                            ExpressionAttributeNames={"#lease": f"{step}_lease_until"})

    # --- follow-ups ----------------------------------------------------------------------

    def open_followup(self, followup: FollowUp) -> bool:
        """Store a new follow-up (and, unless closed, its customer's open marker); False if one
        with this id already exists."""
        try:
            self._transact([
                {"Put": {"TableName": self.table_name, "Item": _to_item(_followup_item(followup)),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                _open_marker_write(self.table_name, followup),
            ])
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def has_open_followup(self, customer_id: str) -> bool:
        """True if a follow-up of this customer is not closed (one Query on the open markers)."""
        # No Limit: DynamoDB applies it before the filter, and an expired marker must not hide a live one.
        alive, names, values = _alive_filter()
        items = self.db.query(
            TableName=self.table_name, KeyConditionExpression="pk = :pk AND begins_with(sk, :open)",
            FilterExpression=alive, ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_item({":pk": customer_pk(customer_id), ":open": "OPENFOLLOWUP#", **values}),
            ConsistentRead=True,
        )["Items"]
        return bool(items)

    def get_followup(self, followup_id: str, include_expired: bool = False) -> Optional[FollowUp]:
        raw = self.db.get_item(TableName=self.table_name, Key=_key(followup_pk(followup_id), "FOLLOWUP"),
                               ConsistentRead=True).get("Item")
        item = _from_item(raw) if raw and include_expired else _alive_item(raw)
        return FollowUp.model_validate(item) if item else None

    def save_followup(self, followup: FollowUp, read_version: int) -> None:
        """Write a changed follow-up, only if nobody changed it since `read_version` was read.

        An update, not a put: the item also holds the once-only step marks of its alerts.
        """
        values = _followup_item(followup)
        del values["pk"], values["sk"]
        removed = [name for name in _FOLLOWUP_OPTIONAL if name not in values]
        names = {f"#f{i}": name for i, name in enumerate(values)}
        names.update({f"#r{i}": name for i, name in enumerate(removed)})
        expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(values)))
        if removed:
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
        try:
            self._transact([
                {"Update": {
                    "TableName": self.table_name, "Key": _key(followup_pk(followup.followup_id), "FOLLOWUP"),
                    "UpdateExpression": expression, "ConditionExpression": "version = :read_version",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": _to_item({**{f":f{i}": v for i, v in enumerate(values.values())},
                                                           ":read_version": read_version}),
                }},
                # The customer's open marker follows the status: put while open, deleted once closed.
                _open_marker_write(self.table_name, followup),
            ])
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed(f"follow-up {followup.followup_id} changed meanwhile") from error
            raise

    def set_followup_alert_error(self, followup_id: str, error: Optional[str]) -> None:
        if error is None:
            expression, values = "REMOVE alert_error", None
        else:
            expression, values = "SET alert_error = :e", _to_item({":e": error[:500]})
        kwargs = {"ExpressionAttributeValues": values} if values else {}
        self.db.update_item(TableName=self.table_name, Key=_key(followup_pk(followup_id), "FOLLOWUP"),
                            UpdateExpression=expression, **kwargs)

    def due_followup_ids(self, before: datetime) -> Iterator[str]:
        """Ids of follow-ups not closed and not escalated whose deadline is at or before `before`,
        earliest first, paging through the sparse due index (eventually consistent: callers re-read)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_pk = :due AND due_sk < :before",
            # "~" sorts after "#": a deadline of exactly `before` is due too.
            "ExpressionAttributeValues": _to_item({":due": "DUE", ":before": clock.iso(before) + "~"}),
        }
        for item in _every_item(self.db.query, kwargs):
            yield item["pk"]["S"].removeprefix("FOLLOWUP#")

    def followups_opened_between(self, start: datetime, end: datetime) -> Iterator[FollowUp]:
        """Every follow-up opened in [start, end), oldest first, paging through the followups index
        (it projects ALL attributes, so no further reads)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": FOLLOWUPS_INDEX,
            # fu_sk is "<opened_at>#<id>": one opened exactly at `end` sorts after clock.iso(end).
            "KeyConditionExpression": "fu_pk = :fu AND fu_sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": _to_item({":fu": "FOLLOWUP", ":start": clock.iso(start),
                                                   ":end": clock.iso(end)}),
        }
        yield from (FollowUp.model_validate(item) for item in map(_from_item, _every_item(self.db.query, kwargs))
                    if _alive(item))

    def list_followups(self, status: Optional[FollowUpStatus] = None, owner: Optional[str] = None,
                       team: Optional[str] = None, overdue_at: Optional[datetime] = None, overdue: bool = True,
                       limit: int = 50, start_key: Optional[dict] = None) -> tuple[list[FollowUp], Optional[dict]]:
        """One page of follow-ups, newest opened first, and the key to go on after it (None: the end).

        Filters: `status`, `owner`, `team` match exactly; with `overdue_at`, only follow-ups overdue
        at that time (`overdue=False`: only those that are not). DynamoDB applies its Limit before
        the filter, so this queries on until the page is full or the index ends (or after
        _LISTING_ROUNDS queries: then the page may be short, with a key to go on). Keys are
        {pk, sk, fu_pk, fu_sk} as plain strings (see `is_listing_key`).
        """
        conditions, names, values = [], {}, {":fu": "FOLLOWUP"}
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
        alive, alive_names, alive_values = _alive_filter()  # past retention: gone, whatever the filters
        conditions.append(alive)
        names.update(alive_names)
        values.update(alive_values)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": FOLLOWUPS_INDEX, "KeyConditionExpression": "fu_pk = :fu",
            "ScanIndexForward": False, "ExpressionAttributeValues": _to_item(values),
        }
        if conditions:
            kwargs.update(FilterExpression=" AND ".join(conditions), ExpressionAttributeNames=names)
        if start_key is not None:
            kwargs["ExclusiveStartKey"] = _to_item(start_key)
        items: list[dict] = []
        for _ in range(_LISTING_ROUNDS):
            # One more than the page needs: finding it tells a next page exists (no empty last page).
            wanted = limit + 1 - len(items)
            kwargs["Limit"] = max(wanted, _FILTERED_BATCH) if conditions else wanted
            page = self.db.query(**kwargs)
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
        """True if `key` is a page boundary list_followups could have returned (a cursor's content)."""
        if not isinstance(key, dict) or set(key) != set(LISTING_KEY):
            return False
        if not all(isinstance(value, str) for value in key.values()):
            return False
        followup_id = key["pk"].removeprefix("FOLLOWUP#")
        opened, _, sk_id = key["fu_sk"].rpartition("#")
        return (key["fu_pk"] == "FOLLOWUP" and key["sk"] == "FOLLOWUP" and key["pk"] == followup_pk(followup_id)
                and bool(followup_id) and sk_id == followup_id and bool(opened))

    def responses(self, start: datetime, position: str, *, kind: Optional[str] = None,
                  channel: Optional[str] = None, agent: Optional[str] = None, team: Optional[str] = None,
                  min_score: Optional[int] = None, max_score: Optional[int] = None,
                  has_comment: Optional[bool] = None, batch: int = 100,
                  max_queries: int = 20) -> Iterator[tuple[Optional[Survey], str]]:
        """Responded surveys from `position` back to `start`, newest first, through the responses index.

        `position` is where to go on: a time (clock.iso: everything before it) or an index sort key
        `<responded_at>#<survey_id>` (everything after it in newest-first order). Yields
        (survey, its sort key) for each survey that passes the filters; after `max_queries` queries
        it yields (None, position) once, the place to go on from, and stops. When it simply ends,
        the range is done. Filters are applied by DynamoDB after its Limit, so a query may yield
        nothing; `batch` is the Limit of each query (DynamoDB also stops at 1 MB).
        """
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
        alive, alive_names, alive_values = _alive_filter()  # responses past retention are gone
        conditions.append(alive)
        names.update(alive_names)
        values.update(alive_values)
        lowest = clock.iso(start)  # rs_sk "<time>#<id>" of a response at exactly `start` sorts after it
        oldest_month, month = lowest[:7], _first_month(position)
        queries = 0
        while position > lowest and month >= oldest_month:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name, "IndexName": RESPONSES_INDEX, "ScanIndexForward": False,
                # BETWEEN is inclusive: a time `position` excludes a response at exactly that time
                # ("<time>#<id>" sorts after "<time>"), a sort key is excluded by ExclusiveStartKey.
                "KeyConditionExpression": "rs_pk = :month AND rs_sk BETWEEN :lowest AND :position",
                "ExpressionAttributeValues": _to_item({**values, ":month": f"RESPONSE#{month}",
                                                       ":lowest": lowest, ":position": position}),
                "Limit": batch,
            }
            if conditions:
                kwargs.update(FilterExpression=" AND ".join(conditions), ExpressionAttributeNames=names)
            survey_id = position.partition("#")[2]
            if survey_id and position[:7] == month:
                kwargs["ExclusiveStartKey"] = _to_item({"pk": survey_pk(survey_id), "sk": "SURVEY",
                                                        "rs_pk": f"RESPONSE#{month}", "rs_sk": position})
            while True:
                if queries == max_queries:
                    yield None, position
                    return
                page = self.db.query(**kwargs)
                queries += 1
                for item in map(_from_item, page["Items"]):
                    yield Survey.model_validate(item), item["rs_sk"]
                if "LastEvaluatedKey" not in page:
                    break
                position = page["LastEvaluatedKey"]["rs_sk"]["S"]
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            # This month is done: what remains is older than its first moment.
            position = min(position, f"{month}-01T00:00:00.000Z")
            month = _earlier_month(month)

    def next_in_rotation(self, name: str) -> int:
        """0, 1, 2, ... across all callers: one atomic counter per rotation (round-robin owners)."""
        response = self.db.update_item(
            TableName=self.table_name, Key=_key(f"COUNTER#{name}", "COUNTER"),
            UpdateExpression="ADD #n :one", ExpressionAttributeNames={"#n": "n"},
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["n"]["N"]) - 1

    def count(self, name: str) -> int:
        """Add one to a named counter (atomic, across all callers); returns its new value."""
        return self.next_in_rotation(name) + 1

    def counts(self, names: Sequence[str]) -> dict[str, int]:
        """The current values of named counters (0 for one never counted), in one BatchGetItem."""
        names = list(dict.fromkeys(names))
        found: dict[str, int] = {name: 0 for name in names}
        request = {self.table_name: {"Keys": [_key(f"COUNTER#{name}", "COUNTER") for name in names],
                                     "ConsistentRead": True}} if names else None
        while request:
            response = self.db.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(self.table_name, []):
                found[item["pk"]["S"].removeprefix("COUNTER#")] = int(item["n"]["N"])
            request = response.get("UnprocessedKeys") or None
        return found

    # --- report counters -------------------------------------------------------------------

    def read_counters(self, kind: str, dimension: str, first_day: date, last_day: date
                      ) -> Iterator[tuple[date, str, dict[str, int]]]:
        """(day, group, counts) of every counter item of a dimension in [first_day, last_day], one
        per shard that has one: a Query per shard (aggregates.SHARDS), paged past 1 MB."""
        for shard in range(aggregates.SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
                # U+10FFFF sorts (as UTF-8) after every character a group name can hold.
                "ExpressionAttributeValues": _to_item({
                    ":pk": aggregates.counter_pk(kind, dimension, shard), ":first": f"{first_day.isoformat()}#",
                    ":last": f"{last_day.isoformat()}#\U0010ffff"}),
            }
            for item in map(_from_item, _every_item(self.db.query, kwargs)):
                day, _, group = item["sk"].partition("#")
                yield (date.fromisoformat(day), group, {k: v for k, v in item.items() if k not in ("pk", "sk")})

    # --- sending rate ----------------------------------------------------------------------

    def reserve_send_moment(self, channel: str, now_us: int, step_us: int) -> int:
        """Reserve `channel`'s next free send moment (epoch microseconds) and return it: `step_us`
        after the one reserved before it, or `now_us` when that one is past (atomic across all
        callers). One UpdateItem while a backlog is booked ahead; two when the channel was idle."""
        key, names = _key("SENDRATE#" + channel, "SENDRATE"), {"#next": "next_us"}
        values = {":now": {"N": str(now_us)}, ":step": {"N": str(step_us)}}
        for _ in range(_RESERVE_ROUNDS):
            try:  # booked ahead: the moment after the last one
                response = self.db.update_item(
                    TableName=self.table_name, Key=key, UpdateExpression="SET #next = #next + :step",
                    ConditionExpression="#next >= :now", ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values, ReturnValues="UPDATED_NEW")
                return int(response["Attributes"]["next_us"]["N"]) - step_us
            except ClientError as error:
                if not _is_condition_failure(error):
                    raise
            try:  # idle: now
                self.db.update_item(
                    TableName=self.table_name, Key=key, UpdateExpression="SET #next = :now + :step",
                    ConditionExpression="attribute_not_exists(#next) OR #next < :now",
                    ExpressionAttributeNames=names, ExpressionAttributeValues=values)
                return now_us
            except ClientError as error:  # another caller moved it meanwhile: the first way, again
                if not _is_condition_failure(error):
                    raise
        raise ConditionFailed(f"the {channel} send-rate moment kept changing")

    # --- suppression ledger ----------------------------------------------------------------

    def add_suppression(self, entry: Suppression) -> bool:
        """Record a suppression; False if the contact was already suppressed (the first one stays)."""
        try:
            self.db.put_item(TableName=self.table_name, ConditionExpression="attribute_not_exists(pk)",
                             Item=_to_item({"pk": "SUPPRESSION", "sk": _suppression_sk(entry.kind, entry.value),
                                            **entry.model_dump(mode="json")}))
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def find_suppressions(self, contacts: list[tuple[ContactKind, str]]) -> list[Suppression]:
        """The ledger entries of these contacts, in one BatchGetItem."""
        keys = list({_suppression_sk(kind, value): _key("SUPPRESSION", _suppression_sk(kind, value))
                     for kind, value in contacts}.values())
        if not keys:
            return []
        found, request = [], {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = self.db.batch_get_item(RequestItems=request)
            found += response["Responses"].get(self.table_name, [])
            request = response.get("UnprocessedKeys") or None
        return [Suppression.model_validate(_from_item(item)) for item in found]

    def remove_suppression(self, kind: ContactKind, value: str) -> Optional[Suppression]:
        """Lift a suppression; returns what was lifted, None if there was none."""
        old = self.db.delete_item(TableName=self.table_name, Key=_key("SUPPRESSION", _suppression_sk(kind, value)),
                                  ReturnValues="ALL_OLD").get("Attributes")
        return Suppression.model_validate(_from_item(old)) if old else None

    def list_suppressions(self, kind: Optional[ContactKind] = None) -> list[Suppression]:
        prefix = f"{kind.value}#" if kind else ""
        return [Suppression.model_validate(item) for item in self._query_prefix("SUPPRESSION", prefix)]

    # --- SMS replies -----------------------------------------------------------------------

    def put_marker(self, pk: str, sk: str, at: datetime, **values: Any) -> bool:
        """Write a once-only marker item; False if it already exists (someone did this before).
        It expires after the retention period unless `expires_ttl` is given (SMS markers name a phone)."""
        values.setdefault(TTL_ATTRIBUTE, expiry_of(at))
        try:
            self.db.put_item(TableName=self.table_name, ConditionExpression="attribute_not_exists(pk)",
                             Item=_to_item({"pk": pk, "sk": sk, "at": clock.iso(at), **values}))
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def delete_marker(self, pk: str, sk: str) -> bool:
        """Delete a marker (or any one item); True if it existed."""
        return "Attributes" in self.db.delete_item(TableName=self.table_name, Key=_key(pk, sk), ReturnValues="ALL_OLD")

    def set_latest_sms_survey(self, phone: str, survey_id: str, sent_at: datetime) -> None:
        """Remember the survey most recently texted to a number (an SMS reply answers it)."""
        try:
            self.db.put_item(TableName=self.table_name,
                             Item=_to_item({"pk": f"PHONE#{phone}", "sk": "LATESTSMS", "survey_id": survey_id,
                                            "sent_at": clock.iso(sent_at), TTL_ATTRIBUTE: expiry_of(sent_at)}),
                             ConditionExpression="attribute_not_exists(pk) OR sent_at <= :at",
                             ExpressionAttributeValues=_to_item({":at": clock.iso(sent_at)}))
        except ClientError as error:
            if not _is_condition_failure(error):  # a later survey was texted meanwhile: it stays
                raise

    def latest_sms_survey(self, phone: str) -> Optional[str]:
        item = _alive_item(self.db.get_item(TableName=self.table_name, Key=_key(f"PHONE#{phone}", "LATESTSMS"),
                                            ConsistentRead=True).get("Item"))
        return item["survey_id"] if item else None

    # --- personal data: erasure (chalicelib/erasure.py) ------------------------------------

    def customer_survey_ids(self, customer_id: str) -> list[str]:
        """Every survey stored for a customer (the CUSTOMER# index items), expired or not."""
        return [item["survey_id"] for item in self._query_prefix(customer_pk(customer_id), "SURVEY#")]

    def erase_survey(self, survey_id: str, customer_id: str, at: datetime,
                     reasons: Optional[dict[str, str]] = None) -> Optional[dict]:
        """Strip a survey of its customer's details (all but the id), properties, comment and token
        hashes (its links stop working), keeping what reports count; marks it `erased_at`. `reasons`
        replaces texts that quoted a contact (suppressed_reason, failure_reason).
        Returns the item as it was, None if it is gone."""
        reasons = reasons or {}
        sets = "".join(f", #r{i} = :r{i}" for i in range(len(reasons)))
        try:
            old = self.db.update_item(
                TableName=self.table_name, Key=_key(survey_pk(survey_id), "SURVEY"),
                UpdateExpression="SET customer = :customer, properties = :empty, secret_hashes = :none, "
                                 f"erased_at = if_not_exists(erased_at, :at){sets} REMOVE #comment",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#comment": "comment", **{f"#r{i}": n for i, n in enumerate(reasons)}},
                ExpressionAttributeValues=_to_item({":customer": {"id": customer_id}, ":empty": {}, ":none": [],
                                                    ":at": clock.iso(at),
                                                    **{f":r{i}": v for i, v in enumerate(reasons.values())}}),
                ReturnValues="ALL_OLD").get("Attributes")
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return _from_item(old)

    def delete_opens(self, survey_id: str) -> int:
        """Delete every page view of a survey (times and user agents); returns how many there were."""
        keys = [_key(item["pk"], item["sk"]) for item in self._query_prefix(survey_pk(survey_id), "OPEN#")]
        for start in range(0, len(keys), 25):  # BatchWriteItem takes 25 at a time
            request = {self.table_name: [{"DeleteRequest": {"Key": key}} for key in keys[start:start + 25]]}
            for attempt in range(_TRANSACTION_ATTEMPTS * 2):
                request = self.db.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
                if not request:
                    break
                time.sleep(0.05 * 2 ** attempt)  # throttled: back off, as DynamoDB asks
            else:
                raise ConditionFailed(f"page views of survey {survey_id} kept being throttled")
        return len(keys)

    def delete_if_for_surveys(self, pk: str, sk: str, survey_ids: set[str]) -> bool:
        """Delete an item that points at one of `survey_ids` (a throttle stamp, the latest SMS); one
        that points at another customer's survey (an address they share) stays. True if deleted."""
        item = self.db.get_item(TableName=self.table_name, Key=_key(pk, sk), ConsistentRead=True).get("Item")
        survey_id = _from_item(item).get("survey_id") if item else None
        if survey_id not in survey_ids:
            return False
        try:  # only if it still points there (a new survey may have stamped it meanwhile)
            self.db.delete_item(TableName=self.table_name, Key=_key(pk, sk), ConditionExpression="survey_id = :survey",
                                ExpressionAttributeValues=_to_item({":survey": survey_id}))
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def hash_suppression(self, kind: ContactKind, value: str, hashed: str) -> bool:
        """Replace the clear ledger entry of a contact by the same entry (reason, source, time, step
        marks) under `hashed`; False if there was no clear entry. An existing hashed entry stays."""
        clear = _key("SUPPRESSION", _suppression_sk(kind, value))
        item = self.db.get_item(TableName=self.table_name, Key=clear, ConsistentRead=True).get("Item")
        if not item:
            return False
        copy = {**item, **_key("SUPPRESSION", _suppression_sk(kind, hashed)), "value": {"S": hashed}}
        try:
            self._transact([
                {"Put": {"TableName": self.table_name, "Item": copy,
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Delete": {"TableName": self.table_name, "Key": clear}},
            ])
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            self.db.delete_item(TableName=self.table_name, Key=clear)  # hashed before: the first entry stays
        return True

    def put_erasure_receipt(self, receipt: ErasureReceipt, customer_hash: str) -> None:
        """Keep the receipt for good (no `expires_ttl`): it holds counts and a hash, nothing personal."""
        self.db.put_item(TableName=self.table_name, Item=_to_item({
            "pk": f"ERASURE#{receipt.receipt_id}", "sk": "ERASURE", "customer_hash": customer_hash,
            **receipt.model_dump(mode="json")}))

    def get_erasure_receipt(self, receipt_id: str) -> Optional[tuple[ErasureReceipt, str]]:
        """(the receipt, the hash of its customer id), or None."""
        item = self.db.get_item(TableName=self.table_name, Key=_key(f"ERASURE#{receipt_id}", "ERASURE"),
                                ConsistentRead=True).get("Item")
        if not item:
            return None
        plain = _from_item(item)
        return ErasureReceipt.model_validate({k: v for k, v in plain.items()
                                              if k in ErasureReceipt.model_fields}), plain["customer_hash"]

    # --- api keys ------------------------------------------------------------------------

    def put_api_key(self, key: ApiKey) -> None:
        self.db.put_item(TableName=self.table_name,
                         Item=_to_item({"pk": "APIKEY", "sk": key.key_hash, **key.model_dump(mode="json")}),
                         ConditionExpression="attribute_not_exists(pk)")

    def get_api_key(self, key_hash: str) -> Optional[ApiKey]:
        item = self.db.get_item(TableName=self.table_name, Key=_key("APIKEY", key_hash)).get("Item")
        return ApiKey.model_validate(_from_item(item)) if item else None

    def rehash_api_key(self, old_hash: str, key: ApiKey) -> bool:
        """Move a live key to a new hash (the API-key pepper changed; chalicelib/auth.py): the new
        item and the old one's removal in one transaction. False, changing nothing, when the old
        one was revoked or moved meanwhile, or the new one exists already."""
        try:
            self.db.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table_name, "ConditionExpression": "attribute_not_exists(pk)",
                         "Item": _to_item({"pk": "APIKEY", "sk": key.key_hash, **key.model_dump(mode="json")})}},
                {"Delete": {"TableName": self.table_name, "Key": _key("APIKEY", old_hash),
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)"}},
            ])
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def list_api_keys(self) -> list[ApiKey]:
        return [ApiKey.model_validate(item) for item in self._query_prefix("APIKEY", "")]

    def revoke_api_key(self, key_hash: str, at: datetime) -> None:
        try:
            self.db.update_item(TableName=self.table_name, Key=_key("APIKEY", key_hash),
                                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at)",
                                ConditionExpression="attribute_exists(pk)",
                                ExpressionAttributeValues=_to_item({":at": clock.iso(at)}))
        except ClientError as error:
            if _is_condition_failure(error):
                raise KeyError(key_hash) from error
            raise

    # --- dashboard sign-in: the leads' allowed list, sign-in links, sessions -------------------

    def put_lead(self, lead: Lead) -> bool:
        """Put a lead on the allowed list; False (nothing changed) when the address is on it already."""
        try:
            self.db.put_item(TableName=self.table_name, ConditionExpression="attribute_not_exists(pk)",
                             Item=_to_item({"pk": "LEAD", "sk": lead.email.lower(), **lead.model_dump(mode="json")}))
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def get_lead(self, email: str) -> Optional[Lead]:
        item = self.db.get_item(TableName=self.table_name, Key=_key("LEAD", email.lower()),
                                ConsistentRead=True).get("Item")
        return Lead.model_validate(_from_item(item)) if item else None

    def list_leads(self) -> list[Lead]:
        return [Lead.model_validate(item) for item in self._query_prefix("LEAD", "")]

    def remove_lead(self, email: str) -> Optional[Lead]:
        """Take a lead off the allowed list; the removed lead, or None when it was not on it."""
        item = self.db.delete_item(TableName=self.table_name, Key=_key("LEAD", email.lower()),
                                   ReturnValues="ALL_OLD").get("Attributes")
        return Lead.model_validate(_from_item(item)) if item else None

    def put_signin_link(self, token_hash: str, link: SignInLink) -> None:
        self.db.put_item(TableName=self.table_name, ConditionExpression="attribute_not_exists(pk)",
                         Item=_to_item({"pk": f"SIGNIN#{token_hash}", "sk": "SIGNIN", **link.model_dump(mode="json"),
                                        TTL_ATTRIBUTE: int(link.expires_at.timestamp())}))

    def get_signin_link(self, token_hash: str) -> Optional[SignInLink]:
        item = self.db.get_item(TableName=self.table_name, Key=_key(f"SIGNIN#{token_hash}", "SIGNIN"),
                                ConsistentRead=True).get("Item")
        return SignInLink.model_validate(_from_item(item)) if item else None

    def consume_signin_link(self, token_hash: str, at: datetime) -> Optional[SignInLink]:
        """Mark the link used, if it is unused and unexpired at `at`: one conditional write, so of
        concurrent clicks exactly one gets the link; the others (and any later one) get None."""
        try:
            item = self.db.update_item(
                TableName=self.table_name, Key=_key(f"SIGNIN#{token_hash}", "SIGNIN"),
                UpdateExpression="SET used_at = :at", ReturnValues="ALL_NEW",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(used_at) AND expires_at > :at",
                ExpressionAttributeValues=_to_item({":at": clock.iso(at)}))["Attributes"]
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return SignInLink.model_validate(_from_item(item))

    def count_signin_link(self, email: str, at: datetime, window: timedelta, limit: int) -> bool:
        """Count a sign-in link sent to `email` at `at`, unless `limit` were sent within `window`
        before it (a sliding window); False then. Concurrent callers are counted one by one."""
        key = _key(f"SIGNINRATE#{email.lower()}", "SIGNINRATE")
        for _ in range(2 * _RESERVE_ROUNDS):
            item = self.db.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
            stored = _from_item(item) if item else {}
            recent = [sent for sent in stored.get("sent", []) if sent > clock.iso(at - window)]
            if len(recent) >= limit:
                return False
            version = stored.get("version", 0)
            try:
                self.db.put_item(
                    TableName=self.table_name,
                    Item=_to_item({"pk": key["pk"]["S"], "sk": "SIGNINRATE", "sent": recent + [clock.iso(at)],
                                   "version": version + 1, TTL_ATTRIBUTE: int((at + window).timestamp())}),
                    ConditionExpression="attribute_not_exists(pk) OR version = :version",
                    ExpressionAttributeValues=_to_item({":version": version}))
                return True
            except ClientError as error:
                if not _is_condition_failure(error):
                    raise
        return False

    def put_session(self, session_hash: str, record: SessionRecord) -> None:
        self.db.put_item(TableName=self.table_name, ConditionExpression="attribute_not_exists(pk)",
                         Item=_to_item({"pk": f"SESSION#{session_hash}", "sk": "SESSION",
                                        **record.model_dump(mode="json"),
                                        TTL_ATTRIBUTE: int(record.expires_at.timestamp())}))

    def get_session(self, session_hash: str) -> Optional[SessionRecord]:
        item = self.db.get_item(TableName=self.table_name, Key=_key(f"SESSION#{session_hash}", "SESSION"),
                                ConsistentRead=True).get("Item")
        return SessionRecord.model_validate(_from_item(item)) if item else None

    def delete_session(self, session_hash: str) -> None:
        self.db.delete_item(TableName=self.table_name, Key=_key(f"SESSION#{session_hash}", "SESSION"))

    # --- internals -----------------------------------------------------------------------

    @staticmethod
    def _open_sk(survey_open: SurveyOpen) -> str:
        return f"OPEN#{clock.iso(survey_open.at)}#{survey_open.open_id}"

    def _open_verdict_update(self, survey_open: SurveyOpen) -> dict:
        values = {":verdict": survey_open.verdict.value, ":reason": survey_open.reason,
                  ":confirmed": clock.iso(survey_open.confirmed_at) if survey_open.confirmed_at else None}
        sets = ["verdict = :verdict"] + [f"{name} = {ref}" for name, ref in
                                         (("reason", ":reason"), ("confirmed_at", ":confirmed")) if values[ref]]
        return {
            "TableName": self.table_name, "Key": _key(survey_pk(survey_open.survey_id), self._open_sk(survey_open)),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": _to_item({k: v for k, v in values.items() if v is not None}),
        }

    def _update_survey(self, survey_id: str, expression: str, values: dict, condition: str = "attribute_exists(pk)"):
        names = {"ExpressionAttributeNames": {"#status": "status"}} if "#status" in expression + condition else {}
        try:
            self.db.update_item(
                TableName=self.table_name, Key=_key(survey_pk(survey_id), "SURVEY"),
                UpdateExpression=expression, ConditionExpression=f"attribute_exists(pk) AND ({condition})",
                ExpressionAttributeValues=_to_item(values), **names,
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed(f"survey {survey_id} is not in the expected state") from error
            raise

    def _transact(self, items: list[dict]) -> None:
        """TransactWriteItems, tried again while only concurrent transactions cancelled it."""
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                self.db.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                codes = _cancellation_codes(error)
                retry = "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes
                if not retry or attempt + 1 == _TRANSACTION_ATTEMPTS:
                    raise
                time.sleep(0.02 * (attempt + 1))

    def _query_prefix(self, pk: str, prefix: str) -> Iterator[dict]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)" if prefix else "pk = :pk",
            "ExpressionAttributeValues": _to_item({":pk": pk, **({":prefix": prefix} if prefix else {})}),
        }
        yield from map(_from_item, _every_item(self.db.query, kwargs))


def _every_item(call, kwargs: dict) -> Iterator[dict]:
    """Every raw item of a Query or Scan (`call`, e.g. `db.query`), following LastEvaluatedKey."""
    while True:
        page = call(**kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}


@functools.cache
def get_store() -> Store:
    return Store(get_settings().table_name)


def reset_store() -> None:
    get_store.cache_clear()


FOLLOWUPS_INDEX = "followups"
DUE_INDEX = "due"
RESPONSES_INDEX = "responses"


def _index(name: str, hash_key: str, range_key: str, projection: str) -> dict:
    return {"IndexName": name, "Projection": {"ProjectionType": projection},
            "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                          {"AttributeName": range_key, "KeyType": "RANGE"}]}


TTL_ATTRIBUTE = "expires_ttl"

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


def backfill_response_keys(table_name: str, client=None) -> int:
    """Give every responded survey that lacks them its responses-index keys (responses recorded
    before the index existed); returns how many were set. An operator's one-off (`python -m ops
    responses backfill`): one Scan of the table, one conditional update per survey found."""
    db = client or aws.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": table_name, "ProjectionExpression": "pk, responded_at",
        "FilterExpression": "sk = :survey AND attribute_exists(responded_at) AND attribute_not_exists(rs_pk)",
        "ExpressionAttributeValues": {":survey": {"S": "SURVEY"}},
    }
    done = 0
    for item in map(_from_item, _every_item(db.scan, kwargs)):
        keys = response_keys(item["pk"].removeprefix("SURVEY#"), clock.parse_iso(item["responded_at"]))
        try:  # only if the response is still the one read (a withdrawal removes responded_at)
            db.update_item(TableName=table_name, Key=_key(item["pk"], "SURVEY"),
                           UpdateExpression="SET rs_pk = :rs_pk, rs_sk = :rs_sk",
                           ConditionExpression="responded_at = :at AND attribute_not_exists(rs_pk)",
                           ExpressionAttributeValues=_to_item({":rs_pk": keys["rs_pk"], ":rs_sk": keys["rs_sk"],
                                                               ":at": item["responded_at"]}))
            done += 1
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
    return done


def backfill_customer_index(table_name: str, client=None) -> int:
    """Give every survey stored before the customer index existed its CUSTOMER#<id>/SURVEY#<id>
    item, so an erasure finds it; returns how many were added. An operator's one-off (`python -m
    ops customers backfill`): one Scan of the table, one conditional put per survey found."""
    db = client or aws.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": table_name, "ProjectionExpression": "pk, #customer.#id, #ttl",
        "FilterExpression": "sk = :survey", "ExpressionAttributeValues": {":survey": {"S": "SURVEY"}},
        "ExpressionAttributeNames": {"#customer": "customer", "#id": "id", "#ttl": TTL_ATTRIBUTE},
    }
    added = 0
    for item in map(_from_item, _every_item(db.scan, kwargs)):
        survey_id = item["pk"].removeprefix("SURVEY#")
        try:
            db.put_item(TableName=table_name, ConditionExpression="attribute_not_exists(pk)", Item=_to_item({
                "pk": customer_pk(item["customer"]["id"]), "sk": f"SURVEY#{survey_id}", "survey_id": survey_id,
                TTL_ATTRIBUTE: item.get(TTL_ATTRIBUTE)}))
            added += 1
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
    return added


# Items written before retention, by sort key: the attribute their expiry counts from. Throttle
# stamps count from their last survey, for the throttle window only.
_RETENTION_CLOCKS = {"SURVEY": "send_at", "FOLLOWUP": "opened_at", "LATESTSMS": "sent_at", "SMSIN": "at",
                     "SMSNOSURVEY": "at", "SMSHELP": "at", "SMSCLOSED": "at", "OPEN#": "at",
                     "OPENFOLLOWUP#": "opened_at"}


def backfill_retention(table_name: str, client=None) -> int:
    """Give the personal-data items written before retention existed their `expires_ttl` (surveys,
    page views, follow-ups, open markers, throttle stamps, SMS records); returns how many. One Scan,
    one conditional update per item; interaction and customer index items, which hold only ids,
    are left to the survey's own expiry (reads go through the survey). Safe to run again."""
    db, settings = client or aws.client("dynamodb"), get_settings()
    kwargs: dict[str, Any] = {"TableName": table_name, "FilterExpression": "attribute_not_exists(#ttl)",
                              "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE}}
    done = 0
    for item in map(_from_item, _every_item(db.scan, kwargs)):
        expires = _backfilled_expiry(item, settings.throttle_days)
        if expires is None:
            continue
        try:
            db.update_item(TableName=table_name, Key=_key(item["pk"], item["sk"]), UpdateExpression="SET #ttl = :ttl",
                           ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#ttl)",
                           ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                           ExpressionAttributeValues={":ttl": {"N": str(expires)}})
            done += 1
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
    return done


def _backfilled_expiry(item: dict, throttle_days: int) -> Optional[int]:
    if item["sk"] == "THROTTLE" and "last_surveyed_at" in item:
        return expiry_of(clock.parse_iso(item["last_surveyed_at"]), timedelta(days=throttle_days))
    sort = item["sk"] if item["sk"] in _RETENTION_CLOCKS else item["sk"].split("#", 1)[0] + "#"
    if item["pk"].startswith(("AGG#", "SUPPRESSION", "APIKEY", "ERASURE#")) or sort not in _RETENTION_CLOCKS:
        return None
    at = item.get(_RETENTION_CLOCKS[sort])
    return expiry_of(clock.parse_iso(at)) if isinstance(at, str) else None

"""The survey aggregate on the table: the survey, its page views, and the items written with it.

Items
- survey:      pk=SURVEY#<survey_id>       sk=SURVEY
- page view:   pk=SURVEY#<survey_id>       sk=OPEN#<time>#<open_id>   (audit evidence, same partition)
- interaction: pk=INTERACTION#<id>         sk=INTERACTION             (one survey per interaction)
- customer's survey: pk=CUSTOMER#<customer_id> sk=SURVEY#<survey_id>  (written with the survey: erasure
               finds a customer's surveys with one Query; `ops customers backfill` for older surveys)
- throttle:    pk=THROTTLE#<kind>#<value>  sk=THROTTLE                (when a contact was last surveyed)
The survey item carries its one timer (storage/timers.py): its send, when planned beyond a queue
delay, then its reminder; its own writes take the timer off when the wait stops mattering (sent,
answered, cancelled, suppressed, failed, erased).
A counted response also carries the keys of the sparse `responses` index (`response_keys`; read
by surveys/response_index.py): set by the write that records or changes a response, removed by
the one that withdraws it.

Because page views share the survey's partition, one descending Query returns the survey and its
latest views: recording a response is that Query plus one transaction (2 requests). The report
counters a write moves (insight/counters.py) come in as increments and join its transaction, so
a count changes exactly when the survey does.

Retention: the survey, its interaction and customer index items expire a retention period after
the send time, page views after their time, throttle stamps when their throttle window ends.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional, Sequence

from chalicelib.platform import clock
from chalicelib.storage.repository import Repository
from chalicelib.storage.table import TTL_ATTRIBUTE, ConditionFailed, Increment, ItemKey, alive, expiry_of, from_item
from chalicelib.surveys.model import Contact, ContactKind, Survey, SurveyOpen, SurveyStatus

# How many recent page views a response decision looks at; a scanner burst is far fewer.
RECENT_OPENS = 60
# For items written before retention existed (contacts/retention.py): sort key, or its prefix up
# to "#", -> the attribute their expiry counts from. Throttle stamps: see throttle_expiry.
RETENTION_CLOCKS = {"SURVEY": "send_at", "OPEN#": "at"}


class DuplicateInteraction(Exception):
    def __init__(self, survey_id: str):
        super().__init__(survey_id)
        self.survey_id = survey_id


class Throttled(Exception):
    """A contact of the customer was surveyed within the throttle window."""

    def __init__(self, kind: ContactKind, value: str):
        super().__init__(f"{ContactKind(kind).value} {value}")
        self.kind, self.value = ContactKind(kind), value


def survey_key(survey_id: str) -> ItemKey:
    """The survey's item; its once-only steps (send, reminder) and SMS markers live in its partition."""
    return ItemKey(f"SURVEY#{survey_id}", "SURVEY")


def customer_pk(customer_id: str) -> str:
    """The customer's partition: their survey index here, open follow-up markers (followups/repository.py)."""
    return f"CUSTOMER#{customer_id}"


def throttle_key(kind: ContactKind, value: str) -> ItemKey:
    return ItemKey(f"THROTTLE#{ContactKind(kind).value}#{value}", "THROTTLE")


def response_keys(survey_id: str, responded_at: datetime) -> dict[str, str]:
    """A responded survey's keys in the responses index: its month's partition, then time and id."""
    at = clock.iso(responded_at)
    return {"rs_pk": f"RESPONSE#{at[:7]}", "rs_sk": f"{at}#{survey_id}"}


def throttle_expiry(item: dict, throttle_days: int) -> Optional[int]:
    """The `expires_ttl` a throttle stamp written before retention gets: its window after its survey;
    None when `item` is no throttle stamp."""
    if item["sk"] != "THROTTLE" or "last_surveyed_at" not in item:
        return None
    return expiry_of(clock.parse_iso(item["last_surveyed_at"]), timedelta(days=throttle_days))


def _interaction_key(interaction_id: str) -> ItemKey:
    return ItemKey(f"INTERACTION#{interaction_id}", "INTERACTION")


def _open_key(survey_open: SurveyOpen) -> ItemKey:
    return ItemKey(survey_key(survey_open.survey_id).pk, f"OPEN#{clock.iso(survey_open.at)}#{survey_open.open_id}")


class SurveyRepository(Repository):

    # --- creating ---

    def create(self, survey: Survey, throttle_since: Optional[datetime] = None,
               contacts: Sequence[Contact] = (), timer: Optional[dict] = None) -> None:
        """Store a new survey (with `timer`, storage/timers.py, when its send waits beyond a queue
        delay); raises DuplicateInteraction if its interaction already has one.

        With `throttle_since`, the same transaction stamps each of `contacts` as surveyed now, on
        condition that none was surveyed at or after `throttle_since`; raises Throttled (naming the
        contact) otherwise. Without it (re-surveys, suppressed surveys) no contact is stamped.
        """
        # Personal data expires a retention period after the send; every item that names the
        # customer or points at the survey goes with it.
        expires = expiry_of(survey.send_at)
        table = self.table
        writes = [
            # An expired interaction that DynamoDB has not deleted yet is as good as gone.
            table.put_write({**_interaction_key(survey.interaction_id)._asdict(), "survey_id": survey.survey_id,
                             TTL_ATTRIBUTE: expires},
                            condition="attribute_not_exists(pk) OR #ttl < :now", names={"#ttl": TTL_ATTRIBUTE},
                            values={":now": int(clock.now().timestamp())}),
            table.put_write({**survey_key(survey.survey_id)._asdict(), **survey.model_dump(mode="json"),
                             **(timer or {}), TTL_ATTRIBUTE: expires}, condition="attribute_not_exists(pk)"),
        ]
        throttled = list(dict.fromkeys(contacts)) if throttle_since is not None else []
        for kind, value in throttled:
            # A stamp matters only for the throttle window: it expires when the window has passed.
            writes.append(table.update_write(
                throttle_key(kind, value), "SET last_surveyed_at = :now, survey_id = :survey, #ttl = :ttl",
                condition="attribute_not_exists(pk) OR last_surveyed_at < :since", names={"#ttl": TTL_ATTRIBUTE},
                values={":now": clock.iso(survey.created_at), ":survey": survey.survey_id,
                        ":since": clock.iso(throttle_since),
                        ":ttl": expiry_of(survey.created_at, survey.created_at - throttle_since)}))
        # The customer's index of surveys (erasure finds them with one Query), after the stamps so
        # a cancellation reason's position still names the stamp that failed.
        writes.append(table.put_write({"pk": customer_pk(survey.customer.id), "sk": f"SURVEY#{survey.survey_id}",
                                       "survey_id": survey.survey_id, TTL_ATTRIBUTE: expires}))
        try:
            # A concurrent transaction on the same items (the customer's other interaction) is
            # tried again; the loser then sees the winner's stamp.
            table.transact(writes)
        except ConditionFailed as failure:
            self._why_not_created(survey, failure, throttled, throttle_since)

    def _why_not_created(self, survey: Survey, failure: ConditionFailed, throttled: list[Contact],
                         throttle_since: Optional[datetime]) -> None:
        failed = [i for i, code in enumerate(failure.reasons) if code == "ConditionalCheckFailed"]
        if failed and 2 <= failed[0] < 2 + len(throttled):  # 0, 1: the interaction and the survey
            raise Throttled(*throttled[failed[0] - 2]) from failure
        existing = self.survey_id_for_interaction(survey.interaction_id)
        if existing is not None:
            raise DuplicateInteraction(existing) from failure
        if not failure.reasons and throttled:  # no reasons given: find the stamp that stopped it
            for kind, value in throttled:
                stamp = self.last_surveyed(kind, value)
                if stamp is not None and stamp >= throttle_since:
                    raise Throttled(kind, value) from failure
        # The 64-bit survey id collided (vanishingly rare; the caller retries), or conflicts persisted.
        raise ConditionFailed("survey id already taken, or the transaction kept conflicting") from failure

    # --- reading ---

    def last_surveyed(self, kind: ContactKind, value: str) -> Optional[datetime]:
        """When this contact was last stamped by a throttled survey, if ever."""
        item = self.table.get(throttle_key(kind, value))
        return clock.parse_iso(item["last_surveyed_at"]) if item else None

    def survey_id_for_interaction(self, interaction_id: str) -> Optional[str]:
        item = self.table.get(_interaction_key(interaction_id))
        return item["survey_id"] if item else None

    def get(self, survey_id: str, include_expired: bool = False) -> Optional[Survey]:
        """The survey, or None; one past its retention counts as gone unless `include_expired` (erasure)."""
        return self._one(survey_key(survey_id), Survey, include_expired)

    def get_with_opens(self, survey_id: str) -> tuple[Optional[Survey], list[SurveyOpen]]:
        """The survey and its latest page views, newest first, in one Query."""
        page = self.table.query_page(KeyConditionExpression="pk = :pk",
                                     ExpressionAttributeValues={":pk": survey_key(survey_id).pk},
                                     ScanIndexForward=False, Limit=RECENT_OPENS + 1, ConsistentRead=True)
        survey, opens = None, []
        for item in filter(alive, map(from_item, page["Items"])):
            if item["sk"] == "SURVEY":
                survey = Survey.model_validate(item)
            elif item["sk"].startswith("OPEN#"):
                opens.append(SurveyOpen.model_validate(item))
        return survey, opens

    def opens(self, survey_id: str) -> list[SurveyOpen]:
        """Every recorded page view of a survey, oldest first (audit)."""
        return self._all(filter(alive, self.table.query_prefix(survey_key(survey_id).pk, "OPEN#")), SurveyOpen)

    def customer_survey_ids(self, customer_id: str) -> list[str]:
        """Every survey stored for a customer (the CUSTOMER# index items), expired or not."""
        return [item["survey_id"] for item in self.table.query_prefix(customer_pk(customer_id), "SURVEY#")]

    # --- page views ---

    def add_open(self, survey_open: SurveyOpen, opened: Sequence[Increment] = ()) -> None:
        """Keep a page view. With `opened` (the report counters of the survey's first open by a
        person, insight/counters.py), the view is kept in a transaction that also sets the survey's
        `opened_at`, on condition it has none, and counts it: of two views at once one counts."""
        item = {**_open_key(survey_open)._asdict(), **survey_open.model_dump(mode="json"),
                TTL_ATTRIBUTE: expiry_of(survey_open.at)}
        if not opened:
            self.table.put(item)
            return
        try:
            self.table.transact([
                self.table.put_write(item),
                self.table.update_write(survey_key(survey_open.survey_id), "SET opened_at = :at",
                                        condition="attribute_exists(pk) AND attribute_not_exists(opened_at)",
                                        values={":at": clock.iso(survey_open.at)}),
                *self.table.increment_writes(opened)])
        except ConditionFailed:
            self.table.put(item)  # another view or a response counted the open first

    def set_open_verdict(self, survey_open: SurveyOpen) -> None:
        self.table.update(*_verdict_update(survey_open))

    def delete_opens(self, survey_id: str) -> int:
        """Delete every page view of a survey (times and user agents); returns how many there were."""
        keys = [ItemKey(item["pk"], item["sk"]) for item in self.table.query_prefix(survey_key(survey_id).pk, "OPEN#")]
        self.table.batch_delete(keys)
        return len(keys)

    # --- the response ---

    def record_response(self, survey: Survey, survey_open: Optional[SurveyOpen], score: int,
                        comment: Optional[str], at: datetime, resolved: Optional[bool] = None,
                        counters: Sequence[Increment] = (), first_open: bool = False,
                        reasons: Optional[list[str]] = None, themes: Optional[list[str]] = None) -> int:
        """Count `score` (and `comment`, the `resolved` answer, the reasons and the comment's themes,
        if given) as the survey's one response, moving `counters` in the same transaction. Returns
        the new response version.

        The write succeeds only if nobody changed the response since `survey` was read
        (response_version) and the survey has not expired, so one response is counted per survey
        and concurrent clicks cannot interleave. With `first_open` the response also counts as the
        survey's first open: it sets `opened_at`, on condition that a page view did not meanwhile.
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
        for name, value in (("reasons", reasons), ("themes", themes)):
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        # The responses index lists it by its first response time (responded_at, kept on a change).
        sets += ["rs_pk = :rs_pk", "rs_sk = :rs_sk"]
        keys = response_keys(survey.survey_id, survey.responded_at or at)
        values.update({":rs_pk": keys["rs_pk"], ":rs_sk": keys["rs_sk"]})
        # An erased survey takes no new comment: a page read before the erasure cannot write one after.
        condition = ("response_version = :version AND expires_at > :now AND #status <> :suppressed "
                     "AND attribute_not_exists(erased_at)")
        if first_open:
            sets.append("opened_at = :now")
            condition += " AND attribute_not_exists(opened_at)"
        # Answered: a pending reminder stops.
        writes = [self.table.update_write(survey_key(survey.survey_id),
                                          "SET " + ", ".join(sets) + " REMOVE due_pk, due_sk", condition, names, values)]
        if survey_open is not None:
            writes.append(self.table.update_write(*_verdict_update(survey_open)))
        try:
            self.table.transact(writes + self.table.increment_writes(counters))
        except ConditionFailed as failure:
            raise ConditionFailed("the response changed meanwhile or the survey expired") from failure
        return survey.response_version + 1

    def retag_response(self, survey: Survey, themes: list[str], counters: Sequence[Increment] = ()) -> None:
        """The comment's themes as a model found them (why/retag.py), with the theme counters they
        move, in one transaction: only if the response, its comment and its themes are still those
        read (a second run of the job, or a newer answer, changes nothing). The response version
        stays: the themes are read from the comment, not a new answer."""
        values = {":themes": themes, ":version": survey.response_version, ":comment": survey.comment,
                  ":old": list(survey.themes)}
        condition = ("response_version = :version AND #comment = :comment AND attribute_not_exists(erased_at) "
                     "AND (themes = :old" + (" OR attribute_not_exists(themes))" if not survey.themes else ")"))
        write = self.table.update_write(survey_key(survey.survey_id), "SET themes = :themes", condition,
                                        {"#comment": "comment"}, values)
        try:
            self.table.transact([write] + self.table.increment_writes(counters))
        except ConditionFailed as failure:
            raise ConditionFailed("the response or its themes changed meanwhile") from failure

    def withdraw_response(self, survey: Survey, survey_open: SurveyOpen, at: datetime,
                          counters: Sequence[Increment] = (), timer: Optional[dict] = None) -> None:
        """Uncount a response that turned out to come from a scanner sweep (and its report counts);
        `timer`: the survey's reminder again, which the response had stopped."""
        sets = ", due_pk = :due_pk, due_sk = :due_sk" if timer else ""
        try:
            self.table.transact([
                self.table.update_write(
                    survey_key(survey.survey_id),
                    "SET #status = :sent, response_updated_at = :now, response_version = response_version + :one"
                    f"{sets} REMOVE score, responded_at, rs_pk, rs_sk",
                    condition="response_version = :version", names={"#status": "status"},
                    values={":sent": SurveyStatus.SENT.value, ":one": 1, ":now": clock.iso(at),
                            ":version": survey.response_version, **_timer_values(timer)}),
                self.table.update_write(*_verdict_update(survey_open)),
                *self.table.increment_writes(counters),
            ])
        except ConditionFailed as failure:
            raise ConditionFailed("the response changed meanwhile") from failure

    # --- sending ---

    def mark_sent(self, survey_id: str, at: datetime, message_id: str, counters: Sequence[Increment] = (),
                  timer: Optional[dict] = None) -> None:
        """The survey went out; `counters` count the send in the same write (a transaction), so a
        send is counted exactly when it is marked; `timer` (its reminder) replaces the send's."""
        expression = ("SET #status = :sent, sent_at = :at, send_done_at = :at, message_id = :mid"
                      + (", due_pk = :due_pk, due_sk = :due_sk REMOVE" if timer else " REMOVE due_pk, due_sk,")
                      + " send_lease_until, failure_reason")
        values = {":sent": SurveyStatus.SENT.value, ":at": clock.iso(at), ":mid": message_id,
                  ":scheduled": SurveyStatus.SCHEDULED.value, **_timer_values(timer)}
        if not counters:
            self._update(survey_id, expression, values, condition="#status = :scheduled")
            return
        try:
            self.table.transact([
                self.table.update_write(survey_key(survey_id), expression,
                                        "attribute_exists(pk) AND #status = :scheduled", {"#status": "status"}, values),
                *self.table.increment_writes(counters)])
        except ConditionFailed as failure:
            raise ConditionFailed(f"survey {survey_id} is not in the expected state") from failure

    def mark_failed(self, survey_id: str, reason: str) -> None:
        self._update(survey_id, "SET #status = :failed, failure_reason = :reason, send_done_at = :at "
                                "REMOVE send_lease_until, due_pk, due_sk",
                     {":failed": SurveyStatus.FAILED.value, ":reason": reason[:500], ":at": clock.iso(clock.now()),
                      ":scheduled": SurveyStatus.SCHEDULED.value},
                     condition="#status = :scheduled")

    def mark_suppressed(self, survey_id: str, reason: str, at: datetime) -> None:
        """End a scheduled survey unsent: its contact was suppressed after it was accepted.
        ConditionFailed if it is no longer scheduled or a send is under way (a live lease)."""
        self._update(survey_id, "SET #status = :suppressed, suppressed_reason = :reason, send_done_at = :at "
                                "REMOVE due_pk, due_sk",
                     {":suppressed": SurveyStatus.SUPPRESSED.value, ":reason": reason[:500],
                      ":at": clock.iso(at), ":scheduled": SurveyStatus.SCHEDULED.value},
                     condition=_UNSENT)

    def mark_cancelled(self, survey_id: str, by: str, at: datetime) -> None:
        """End a scheduled survey unsent because its interaction was cancelled (suppressed, reason
        "cancelled"). Same condition as mark_suppressed: ConditionFailed once it is no longer
        scheduled or while a send holds its lease, so a send and a cancel never both happen."""
        self._update(survey_id, "SET #status = :suppressed, suppressed_reason = :reason, send_done_at = :at, "
                                "cancelled_by = :by, cancelled_at = :at REMOVE due_pk, due_sk",
                     {":suppressed": SurveyStatus.SUPPRESSED.value, ":reason": "cancelled", ":by": by[:128],
                      ":at": clock.iso(at), ":scheduled": SurveyStatus.SCHEDULED.value},
                     condition=_UNSENT)

    def mark_reminded(self, survey_id: str, at: datetime, message_id: str) -> None:
        """The survey's one reminder went: record it and finish the `reminder` once-only step."""
        self._update(survey_id, "SET reminded_at = :at, reminder_done_at = :at, reminder_message_id = :mid "
                                "REMOVE reminder_lease_until, due_pk, due_sk", {":at": clock.iso(at), ":mid": message_id})

    def add_token_hash(self, survey_id: str, secret_hash: str) -> None:
        clause, values = self.token_hash_added(secret_hash)
        self._update(survey_id, "SET " + clause, values)

    @staticmethod
    def token_hash_added(secret_hash: str) -> tuple[str, dict]:
        """The SET clause (and its values) that makes a token of the survey valid: the send writes
        it with its step's lease (storage/steps.py)."""
        return "secret_hashes = list_append(if_not_exists(secret_hashes, :empty), :new)", \
            {":empty": [], ":new": [secret_hash]}

    def count_send_attempt(self, survey_id: str, reason: str) -> None:
        self._update(survey_id, "SET failure_reason = :reason ADD send_attempts :one",
                     {":reason": reason[:500], ":one": 1})

    # --- erasure ---

    def erase(self, survey_id: str, customer_id: str, at: datetime, reasons: Optional[dict[str, str]] = None
              ) -> Optional[dict]:
        """Strip a survey of its customer's details (all but the id), properties, comment and token
        hashes (its links stop working), keeping what reports count; marks it `erased_at`. `reasons`
        replaces texts that quoted a contact (suppressed_reason, failure_reason).
        Returns the item as it was, None if it is gone."""
        reasons = reasons or {}
        sets = "".join(f", #r{i} = :r{i}" for i in range(len(reasons)))
        try:
            return self.table.update(
                survey_key(survey_id),
                "SET customer = :customer, properties = :empty, secret_hashes = :none, "
                f"erased_at = if_not_exists(erased_at, :at){sets} REMOVE #comment, due_pk, due_sk",
                condition="attribute_exists(pk)",
                names={"#comment": "comment", **{f"#r{i}": n for i, n in enumerate(reasons)}},
                values={":customer": {"id": customer_id}, ":empty": {}, ":none": [], ":at": clock.iso(at),
                        **{f":r{i}": v for i, v in enumerate(reasons.values())}},
                returns="ALL_OLD")
        except ConditionFailed:
            return None

    def forget_throttle(self, kind: ContactKind, value: str, survey_ids: set[str]) -> bool:
        """Delete a contact's throttle stamp if it points at one of `survey_ids`; one that points at
        another customer's survey (an address they share) stays. True if deleted."""
        return self.table.delete_if_in(throttle_key(kind, value), "survey_id", survey_ids)

    def _update(self, survey_id: str, expression: str, values: dict, condition: str = "attribute_exists(pk)") -> None:
        names = {"#status": "status"} if "#status" in expression + condition else None
        try:
            self.table.update(survey_key(survey_id), expression, f"attribute_exists(pk) AND ({condition})",
                              names, values)
        except ConditionFailed as failure:
            raise ConditionFailed(f"survey {survey_id} is not in the expected state") from failure


def _timer_values(timer: Optional[dict]) -> dict:
    return {":due_pk": timer["due_pk"], ":due_sk": timer["due_sk"]} if timer else {}


# Still scheduled, and no send holds a live lease.
_UNSENT = "#status = :scheduled AND (attribute_not_exists(send_lease_until) OR send_lease_until < :at)"


def _verdict_update(survey_open: SurveyOpen) -> tuple:
    """The update that records how a page view was judged (arguments of Table.update/update_write)."""
    values = {":verdict": survey_open.verdict.value, ":reason": survey_open.reason,
              ":confirmed": clock.iso(survey_open.confirmed_at) if survey_open.confirmed_at else None}
    sets = ["verdict = :verdict"] + [f"{name} = {ref}" for name, ref in
                                     (("reason", ":reason"), ("confirmed_at", ":confirmed")) if values[ref]]
    return (_open_key(survey_open), "SET " + ", ".join(sets), "attribute_exists(pk)", None,
            {k: v for k, v in values.items() if v is not None})

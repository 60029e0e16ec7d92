"""Timers: a job to run later than a queue delay can wait, kept on the item it concerns.

SQS delays stop at 15 minutes. A longer wait (a reminder days after a send, a re-survey after a
resolved follow-up, a send planned for later or held out of SMS quiet hours) is a timer: two
attributes of the item the job concerns, `due_pk = "TIMER#<shard>"` and `due_sk = "<due time>#<the
job's queue message>"`, which put the item in the sparse `due` index (storage/schema.py) beside the
follow-ups' deadlines. Every minute the schedule reads what is due (one Query a shard), queues each
job and takes the timer off its item, on condition it is still the same timer: a timer fires within
a minute of its time, in one step, however long the wait.

Timers spread over SHARDS index partitions: every send sets one and every first answer takes one
off, and one partition of an index takes about 1,000 writes a second.

An item holds one timer at a time; setting another replaces it, and the item's own writes take it
off when the wait stops mattering (an answer, a cancel, the send it waited for). Queueing comes
before taking the timer off, so a run that dies between the two leaves the timer to the next run:
a timer is never lost, and the rare one queued twice acts once, since every job is idempotent (its
side effects are once-only steps, storage/steps.py).
"""
from __future__ import annotations

import logging
import zlib
from datetime import datetime
from itertools import islice
from typing import Callable, Iterable, Optional

from chalicelib.platform import clock, jobs
from chalicelib.storage.schema import DUE_INDEX
from chalicelib.storage.table import ConditionFailed, ItemKey, Table

log = logging.getLogger(__name__)

TIMER = "TIMER"
SHARDS = 10
# The attributes that carry an item's timer (REMOVE them to take it off).
ATTRIBUTES = ("due_pk", "due_sk")


def timer(job: jobs.Job, due: datetime) -> dict:
    """The attributes of an item that runs `job` at `due`."""
    body = jobs.body_of(job)
    return {"due_pk": f"{TIMER}#{zlib.crc32(body.encode()) % SHARDS}", "due_sk": f"{clock.iso(due)}#{body}"}


def beyond_queue(due: datetime, now: datetime) -> bool:
    """Whether a wait until `due` is longer than a queue delay can be (it needs a timer)."""
    return (due - now).total_seconds() > jobs.MAX_DELAY_SECONDS


def wait_until(job: jobs.Job, due: datetime, now: datetime, item: ItemKey, table: Optional[Table] = None) -> bool:
    """Run `job` again at `due` if that is still ahead (True): on the queue when the wait fits a
    queue delay, else as a timer on `item` (the item the job concerns). The one way a job waits."""
    if due <= now:
        return False
    if beyond_queue(due, now):
        keys = timer(job, due)
        (table or Table()).update(item, "SET due_pk = :pk, due_sk = :sk", condition="attribute_exists(pk)",
                                  values={":pk": keys["due_pk"], ":sk": keys["due_sk"]})
    else:
        jobs.enqueue(job, (due - now).total_seconds())
    return True


def fire_due(now: datetime, kinds: Iterable[type], keep_going: Callable[[], bool] = lambda: True,
             table: Optional[Table] = None) -> int:
    """Queue the job of every timer due at `now` and take the timers off their items; returns how
    many were queued. Stops early when `keep_going()` says so (the rest fire on the next run)."""
    table, kinds = table or Table(), tuple(kinds)
    fired = 0
    for shard in range(SHARDS):
        due = table.query(IndexName=DUE_INDEX, KeyConditionExpression="due_pk = :shard AND due_sk < :before",
                          # "~" sorts after "#": a timer due at exactly `now` fires too.
                          ExpressionAttributeValues={":shard": f"{TIMER}#{shard}", ":before": clock.iso(now) + "~"})
        for batch in iter(lambda: list(islice(due, jobs.BATCH)), []):
            if not keep_going():
                return fired
            fired += _fire(table, batch, kinds)
    return fired


def next_due(table: Optional[Table] = None) -> Optional[datetime]:
    """When the earliest pending timer is due, or None (one Query a shard): for operators and the bench."""
    table = table or Table()
    earliest = []
    for shard in range(SHARDS):
        page = table.query_page(IndexName=DUE_INDEX, KeyConditionExpression="due_pk = :shard", Limit=1,
                                ExpressionAttributeValues={":shard": f"{TIMER}#{shard}"})
        earliest += [clock.parse_iso(item["due_sk"]["S"].partition("#")[0]) for item in page["Items"]]
    return min(earliest, default=None)


def _fire(table: Table, batch: list[dict], kinds: tuple[type, ...]) -> int:
    queued = [job for job in (jobs.parse(item["due_sk"].partition("#")[2], kinds) for item in batch) if job]
    if queued:
        jobs.enqueue_many(queued)  # before the timers go: a run that dies here leaves them to the next
    for item in batch:
        _take_off(table, item)
    return len(queued)


def _take_off(table: Table, item: dict) -> None:
    try:
        table.update(ItemKey(item["pk"], item["sk"]), "REMOVE due_pk, due_sk", condition="due_sk = :fired",
                     values={":fired": item["due_sk"]})
    except ConditionFailed:
        pass  # set anew meanwhile (a later timer stays), or taken off by another run

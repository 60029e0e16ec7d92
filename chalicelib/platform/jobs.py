"""The jobs queue: asynchronous work (sending surveys, acting on responses) as typed messages.

One SQS queue carries every job as `{"job": {"kind": ..., ...}}`. Each room defines the jobs it
handles (delivery/jobs.py, followups/jobs.py, leads/jobs.py) as pydantic models told apart by `kind`; the queue
handler (chalicelib/api/events.py) names the handler of each, and every message is re-validated
against them. A job waits on the queue for at most SQS's 15-minute delay; a longer wait is a timer
on the item the job concerns (storage/timers.py).
"""
from __future__ import annotations

import functools
import json
import logging
import math
from typing import Annotated, Any, Callable, Iterable, Mapping, Optional, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from chalicelib.platform import aws
from chalicelib.platform.settings import get_settings

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 900
BATCH = 10  # messages SQS takes in one SendMessageBatch


Job = BaseModel  # a room's job model: a `kind` literal that names it, and its fields
Handlers = Mapping[type, Callable[[Any], Any]]  # job model -> what runs it


def body_of(job: Job) -> str:
    """The queue message of a job: its kind and the fields that differ from their defaults (it
    is also a timer's, storage/timers.py, and a small survey item costs fewer write units)."""
    return json.dumps({"job": {"kind": job.kind, **job.model_dump(mode="json", exclude_defaults=True)}},
                      separators=(",", ":"))


def enqueue(job: Job, delay_seconds: float = 0) -> None:
    # Rounded up: a job due in 0.4 s put back with no delay would come straight back, early again.
    delay = max(0, min(MAX_DELAY_SECONDS, math.ceil(delay_seconds)))
    aws.client("sqs").send_message(QueueUrl=get_settings().jobs_queue_url, MessageBody=body_of(job),
                                   DelaySeconds=delay)


def enqueue_many(queued: list[Job]) -> None:
    """Queue jobs to run now, ten to a request (SendMessageBatch); raises if SQS refuses any."""
    sqs = aws.client("sqs")
    for start in range(0, len(queued), BATCH):
        entries = [{"Id": str(i), "MessageBody": body_of(job)} for i, job in enumerate(queued[start:start + BATCH])]
        failed = sqs.send_message_batch(QueueUrl=get_settings().jobs_queue_url, Entries=entries).get("Failed")
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} of {len(entries)} jobs: {failed[0].get('Code')}")


def backoff_seconds(attempt: int, base: float = 5, cap: float = MAX_DELAY_SECONDS) -> float:
    """Exponential backoff for the n-th retry (0-based): 5 s, 10 s, 20 s ... capped at 15 min."""
    return min(cap, base * 2 ** attempt)


@functools.cache
def _envelope(kinds: tuple[type, ...]) -> TypeAdapter:
    job = Annotated[Union[kinds], Field(discriminator="kind")] if len(kinds) > 1 else kinds[0]
    return TypeAdapter(create_model("JobEnvelope", job=(job, ...)))


def parse(body: str, kinds: Iterable[type]) -> Optional[Job]:
    """The job in a queue message, one of `kinds`, or None (logged) for a message no handler could ever run."""
    try:
        return _envelope(tuple(kinds)).validate_json(body).job
    except ValidationError as error:
        # Redelivering it would fail the same way forever; drop it with the evidence in the log.
        log.error("dropped a malformed job message: %s; body: %.500s", error, body)
        return None


def run_batch(records: Iterable[Any], handlers: Handlers, before: Callable[[Job], None] = lambda job: None) -> dict:
    """Run every job of an SQS batch with its handler (`before` each); answer Lambda's partial batch response.

    The event source mapping has ReportBatchItemFailures (the merge template sets it): the records
    named in `batchItemFailures` come back after the visibility timeout, the others are deleted,
    so one failing job does not redeliver the jobs that succeeded beside it. When every record
    failed, the last error is raised instead: Lambda then retries the batch as it would anyway,
    and the invocation counts in the function's Errors metric, which the alarms watch (a partial
    response counts as a success there). With one record a batch, that is the error itself.
    """
    failed: list[tuple[str, Exception]] = []
    total = 0
    for record in records:
        total += 1
        job = parse(record.body, handlers)
        if job is None:
            continue
        try:
            before(job)
            handlers[type(job)](job)
        except Exception as error:  # noqa: BLE001 - reported or raised below, never swallowed
            failed.append((record.to_dict()["messageId"], error))
    if failed and len(failed) == total:
        for message_id, error in failed[:-1]:
            log.error("job message %s failed; the batch is redelivered", message_id, exc_info=error)
        raise failed[-1][1]
    for message_id, error in failed:
        log.error("job message %s failed; it alone is redelivered", message_id, exc_info=error)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id, _ in failed]}

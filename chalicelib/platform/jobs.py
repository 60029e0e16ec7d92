"""The jobs queue: asynchronous work (sending surveys, acting on responses) as typed messages.

One SQS queue carries every job as `{"job": {"kind": ..., ...}}`. Each room defines the jobs it
handles (delivery/jobs.py, followups/jobs.py) as pydantic models told apart by `kind`; the queue
handler (chalicelib/api/events.py) names the handler of each, and every message is re-validated
against them. Delays beyond SQS's 15-minute maximum are reached by re-enqueueing, so a survey
scheduled days ahead simply hops until it is due.
"""
from __future__ import annotations

import functools
import logging
import math
from datetime import datetime
from typing import Annotated, Any, Callable, Iterable, Mapping, Optional, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from chalicelib.platform import aws
from chalicelib.platform.settings import get_settings

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 900


Job = BaseModel  # a room's job model: a `kind` literal that names it, and its fields
Handlers = Mapping[type, Callable[[Any], Any]]  # job model -> what runs it


def body_of(job: Job) -> str:
    """The queue message of a job."""
    return '{"job":' + job.model_dump_json() + "}"


def enqueue(job: Job, delay_seconds: float = 0) -> None:
    # Rounded up: a job due in 0.4 s put back with no delay would come straight back, early again.
    delay = max(0, min(MAX_DELAY_SECONDS, math.ceil(delay_seconds)))
    aws.client("sqs").send_message(QueueUrl=get_settings().jobs_queue_url, MessageBody=body_of(job),
                                   DelaySeconds=delay)


def wait_until(job: Job, due: datetime, now: datetime) -> bool:
    """Re-queue `job` for `due` if that is still ahead (True): the one way a job waits.

    SQS delays stop at 15 minutes, so a longer wait is several hops; the handler re-checks at each.
    """
    if due <= now:
        return False
    enqueue(job, (due - now).total_seconds())
    return True


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

"""The jobs queue: asynchronous work (sending surveys, acting on responses) as typed messages.

One SQS queue carries every job; the handler re-validates each message with pydantic. Delays
beyond SQS's 15-minute maximum are reached by re-enqueueing, so a survey scheduled days ahead
simply hops until it is due.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Optional

from pydantic import ValidationError

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.models import Job, JobEnvelope

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 900


def enqueue(job: Job, delay_seconds: float = 0) -> None:
    delay = max(0, min(MAX_DELAY_SECONDS, int(round(delay_seconds))))
    aws.client("sqs").send_message(QueueUrl=get_settings().jobs_queue_url,
                                   MessageBody=JobEnvelope(job=job).model_dump_json(), DelaySeconds=delay)


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


def parse(body: str) -> Optional[Job]:
    """The job in a queue message, or None (logged) for a message no handler could ever run."""
    try:
        return JobEnvelope.model_validate_json(body).job
    except ValidationError as error:
        # Redelivering it would fail the same way forever; drop it with the evidence in the log.
        log.error("dropped a malformed job message: %s; body: %.500s", error, body)
        return None

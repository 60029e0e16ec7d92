"""Publishing: the PublishEvent job puts its event on the stage's EventBridge bus, once.

The once-only step "publish" on the event's marker (events/repository.py) makes a redelivered job
publish nothing again. If EventBridge refuses or fails, the step is released and the job raises:
the queue delivers it again (platform/jobs.py), so the event goes out later; the customer's
request wrote its change long before and never waits on this. A worker that died between
PutEvents and marking the step done publishes again (at least once): the event's id is the same,
so consumers that dedupe on `detail.id` see it once.

Erasure: an event still queued when its customer is erased goes out without the customer's id
and comment (the survey says it was erased).
"""
from __future__ import annotations

import json
import logging

from pydantic import ValidationError

from chalicelib.events.model import DETAIL_TYPES, SOURCE, Detail, PublishEvent
from chalicelib.events.repository import EventMarkers
from chalicelib.platform import aws, clock
from chalicelib.platform.settings import get_settings
from chalicelib.storage.steps import run_once
from chalicelib.surveys import SurveyRepository

log = logging.getLogger(__name__)

STEP = "publish"


class EventNotPublished(Exception):
    """EventBridge did not take the event; the job is delivered again."""


def handle_publish(job: PublishEvent) -> str:
    bus = get_settings().event_bus_name
    if not bus:
        return "no event bus"
    try:
        detail = DETAIL_TYPES[job.detail_type].model_validate(job.detail)
    except ValidationError as error:  # never publishable, however often delivered
        log.error("dropped event %s: its detail does not match the model: %s", job.detail_type, error)
        return "invalid"
    detail = _after_erasure(detail)
    marker = EventMarkers().ensure(detail.id, job.detail_type, clock.now())
    published = run_once(marker, STEP, lambda: _put(bus, job.detail_type, detail), if_interrupted="retry")
    if published is None:
        return "already published"
    log.info("event %s %s published", job.detail_type, detail.id)
    return "published"


def _after_erasure(detail: Detail) -> Detail:
    survey_id = getattr(detail, "survey_id", None)
    if survey_id is None or getattr(detail, "customer_id", None) is None and getattr(detail, "comment", None) is None:
        return detail
    survey = SurveyRepository().get(survey_id, include_expired=True)
    if survey is None or survey.erased_at is not None:
        scrubbed = {"customer_id": None, **({"comment": None} if "comment" in type(detail).model_fields else {})}
        return detail.model_copy(update=scrubbed)
    return detail


def _put(bus: str, detail_type: str, detail: Detail) -> str:
    entry = {"Source": SOURCE, "DetailType": detail_type, "EventBusName": bus, "Time": detail.occurred_at,
             "Detail": json.dumps(detail.model_dump(mode="json", exclude_none=True), separators=(",", ":"))}
    answer = aws.client("events").put_events(Entries=[entry])
    if answer.get("FailedEntryCount"):
        failed = answer["Entries"][0]
        raise EventNotPublished(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
    return answer["Entries"][0].get("EventId", "")

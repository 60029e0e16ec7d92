"""Detractor responses: after the comment wait, open one follow-up and alert the leads once."""
from __future__ import annotations

import logging
from typing import Optional

from chalicelib import alerts, clock, followups, jobs, recovery, scoring, telemetry
from chalicelib.config import get_settings
from chalicelib.idempotency import run_once
from chalicelib.models import HandleResponse
from chalicelib.storage import StepBusy, Store, followup_pk, get_store

log = logging.getLogger(__name__)

# A job that arrives before the response it announces was written waits this long at most.
_UNWRITTEN_RESPONSE_ATTEMPTS = 6


def handle_response(job: HandleResponse, store: Optional[Store] = None) -> str:
    """Decide, from the survey as it is now, whether its response needs a follow-up and alert.

    The decision waits for the comment (the job is queued with the comment wait), and reads the
    survey afresh: a customer who moved out of the detractor range meanwhile gets no alert.
    """
    store = store or get_store()
    settings = get_settings()
    survey = store.get_survey(job.survey_id)
    if survey is None:
        return "unknown survey"
    if survey.response_version < job.expected_version:
        if job.attempt + 1 < _UNWRITTEN_RESPONSE_ATTEMPTS:
            jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), 5)
            return "response not written yet"
        return "response never written"
    if survey.followup_id is not None:
        # A re-survey after a resolved follow-up: record how the recovery went, never alert.
        return recovery.record_outcome(survey.survey_id, store)
    if not scoring.is_detractor(survey.kind, survey.score):
        return "not a detractor"
    followup = followups.new_followup(survey, store, clock.now())
    if store.open_followup(followup):
        log.info("detractor: follow-up %s opened", followup.followup_id,
                 extra={"score": survey.score, "survey": survey.kind.value})
        telemetry.count("Detractors")
    else:
        followup = store.get_followup(followup.followup_id)  # a redelivered job: opened (and counted) before
    pk = followup_pk(followup.followup_id)
    try:
        for channel in alerts.configured_channels(settings):
            run_once(store, pk, "FOLLOWUP", f"alert_{channel.name}", lambda: channel.send(followup, settings))
    except StepBusy:
        raise  # another worker is alerting right now; the message comes back later
    except Exception as error:  # noqa: BLE001 - every failure of a channel is retried
        store.set_followup_alert_error(followup.followup_id, f"{type(error).__name__}: {error}")
        if job.attempt + 1 >= settings.max_alert_attempts:
            log.error("alert for follow-up %s failed %d times: %s", followup.followup_id, job.attempt + 1, error)
            raise
        jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), jobs.backoff_seconds(job.attempt))
        return "alert retrying"
    if followup.alert_error:
        store.set_followup_alert_error(followup.followup_id, None)
    log.info("detractor: follow-up %s alerted", followup.followup_id)
    return "alerted"

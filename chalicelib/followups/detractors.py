"""A detractor responded: after the comment wait, open one follow-up and alert the leads once.

Who is a detractor is surveys/scoring.py's rule (NPS 0-6, CSAT 1-2); this is what follows from it.
"""
from __future__ import annotations

import logging

from chalicelib.followups import alerts
from chalicelib.followups.jobs import HandleResponse
from chalicelib.followups.lifecycle import new_followup
from chalicelib.followups.recovery import record_outcome
from chalicelib.followups.repository import FollowUpRepository, followup_key
from chalicelib.platform import clock, jobs, telemetry
from chalicelib.platform.settings import get_settings
from chalicelib.storage.steps import StepBusy, run_once
from chalicelib.surveys import SurveyRepository, is_detractor

log = logging.getLogger(__name__)

# A job that arrives before the response it announces was written waits this long at most.
_UNWRITTEN_RESPONSE_ATTEMPTS = 6


def handle_response(job: HandleResponse) -> str:
    """Decide, from the survey as it is now, whether its response needs a follow-up and alert.

    The decision waits for the comment (the job is queued with the comment wait), and reads the
    survey afresh: a customer who moved out of the detractor range meanwhile gets no alert.
    """
    followups, settings = FollowUpRepository(), get_settings()
    survey = SurveyRepository().get(job.survey_id)
    if survey is None:
        return "unknown survey"
    if survey.response_version < job.expected_version:
        if job.attempt + 1 < _UNWRITTEN_RESPONSE_ATTEMPTS:
            jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), 5)
            return "response not written yet"
        return "response never written"
    if survey.followup_id is not None:
        # A re-survey after a resolved follow-up: record how the recovery went, never alert.
        return record_outcome(survey.survey_id)
    if not is_detractor(survey.kind, survey.score):
        return "not a detractor"
    followup = new_followup(survey, clock.now())
    if followups.open(followup):
        log.info("detractor: follow-up %s opened", followup.followup_id,
                 extra={"score": survey.score, "survey": survey.kind.value})
        telemetry.count("Detractors")
    else:
        followup = followups.get(followup.followup_id)  # a redelivered job: opened (and counted) before
    try:
        for channel in alerts.configured_channels(settings):
            run_once(followup_key(followup.followup_id), f"alert_{channel.name}",
                     lambda: channel.send(followup, settings))
    except StepBusy:
        raise  # another worker is alerting right now; the message comes back later
    except Exception as error:  # noqa: BLE001 - every failure of a channel is retried
        followups.set_alert_error(followup.followup_id, f"{type(error).__name__}: {error}")
        if job.attempt + 1 >= settings.max_alert_attempts:
            log.error("alert for follow-up %s failed %d times: %s", followup.followup_id, job.attempt + 1, error)
            raise
        jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), jobs.backoff_seconds(job.attempt))
        return "alert retrying"
    if followup.alert_error:
        followups.set_alert_error(followup.followup_id, None)
    log.info("detractor: follow-up %s alerted", followup.followup_id)
    return "alerted"

"""A detractor responded: once the survey has been quiet for the comment wait, open one follow-up
and alert the leads once; if the response later proves to be a scanner's sweep, take it back.

Who is a detractor is surveys/scoring.py's rule (NPS 0-6, CSAT 1-2); this is what follows from it.
Why wait for quiet, not a fixed time after the first score: a scanner that opens the links one
after another in a browser confirms several scores before the sweep shows itself
(surveys/scanners.py), and keeps the survey busy while it does; a person's decision waits only
for their comment. Should an alert still go out for a sweep, the follow-up closes as automated
and every channel that carried the alert gets one retraction.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Callable, Optional

from chalicelib.events import followup_opened
from chalicelib.followups import alerts, slack_replies
from chalicelib.followups.assignments import notify_if_assigned
from chalicelib.followups.jobs import HandleResponse
from chalicelib.followups.lifecycle import close_as_automated, followup_id_for, new_followup
from chalicelib.followups.model import FollowUp
from chalicelib.followups.recovery import record_outcome
from chalicelib.followups.repository import FollowUpRepository, followup_key
from chalicelib.platform import clock, jobs, telemetry
from chalicelib.platform.settings import get_settings
from chalicelib.storage.steps import StepBusy, run_once
from chalicelib.surveys import Survey, SurveyOpen, SurveyRepository, is_detractor

log = logging.getLogger(__name__)

# A job that arrives before the response it announces was written waits this long at most.
_UNWRITTEN_RESPONSE_ATTEMPTS = 6
# A survey kept busy longer than this after its response changed is decided on anyway.
_LONGEST_QUIET_WAIT = timedelta(minutes=15)


def handle_response(job: HandleResponse) -> str:
    """Decide, from the survey as it is now, whether its response needs a follow-up and alert.

    Reads the survey afresh: a customer who moved out of the detractor range meanwhile gets no
    alert, and a response withdrawn as a sweep after its alert gets the alert taken back.
    """
    outcome = _decide(job)
    log.info("survey %s: detractor decision: %s", job.survey_id, outcome)
    return outcome


def survey_as_written(job) -> tuple[Optional[Survey], list[SurveyOpen], Optional[str]]:
    """The survey of a job about its response (`survey_id`, `expected_version`, `attempt`) with its
    latest page views; the outcome instead when the survey is unknown, or the response the job
    announces is not written yet (the job comes back in 5 s, a few times)."""
    survey, views = SurveyRepository().get_with_opens(job.survey_id)
    if survey is None:
        return None, [], "unknown survey"
    if survey.response_version < job.expected_version:
        if job.attempt + 1 < _UNWRITTEN_RESPONSE_ATTEMPTS:
            jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), 5)
            return None, [], "response not written yet"
        return None, [], "response never written"
    return survey, views, None


def _decide(job: HandleResponse) -> str:
    survey, views, outcome = survey_as_written(job)
    if outcome:
        return outcome
    if survey.followup_id is not None:
        # A re-survey after a resolved follow-up: record how the recovery went, never alert.
        return record_outcome(survey.survey_id)
    if not is_detractor(survey.kind, survey.score):
        return _retract_if_swept(job, survey)
    wait = busy_for(survey, views, get_settings().comment_wait_seconds, clock.now())
    if wait:
        jobs.enqueue(job, wait)
        return "survey still busy"
    return _alert(job, survey)


def busy_for(survey: Survey, views: list[SurveyOpen], wait_seconds: int, now: datetime) -> int:
    """Seconds until the survey will have been quiet (no page view, no confirmation, no change)
    for `wait_seconds`; 0 when it has been, or when it has been busy too long to wait on."""
    changed = survey.response_updated_at or now
    moments = [changed, *(v.at for v in views), *(v.confirmed_at for v in views if v.confirmed_at)]
    quiet_at = min(max(moments) + timedelta(seconds=wait_seconds), changed + _LONGEST_QUIET_WAIT)
    return max(0, math.ceil((quiet_at - now).total_seconds()))


def _alert(job: HandleResponse, survey: Survey) -> str:
    followups, settings = FollowUpRepository(), get_settings()
    followup = new_followup(survey, clock.now())
    if followups.open(followup):
        followup_opened(followup)
        log.info("detractor: follow-up %s opened", followup.followup_id,
                 extra={"score": survey.score, "survey": survey.kind.value})
        telemetry.count("Detractors")
    else:
        followup = followups.get(followup.followup_id)  # a redelivered job: opened (and counted) before
    if followup.version == 0:
        # Routing's assignment (version 0's owner): queued again on a redelivery, emailed once.
        notify_if_assigned(None, followup, "routing")
    steps = [(f"alert_{c.name}", _sending(c.send, followup, settings)) for c in alerts.configured_channels(settings)]
    outcome = _run_steps(job, followup, steps)
    if outcome is None:
        log.info("detractor: follow-up %s alerted", followup.followup_id)
    return outcome or "alerted"


def _retract_if_swept(job: HandleResponse, survey: Survey) -> str:
    """A survey with no response left (withdrawn as a sweep) whose alert went out: close its
    follow-up as automated and send each channel that carried the alert one retraction."""
    followups, settings = FollowUpRepository(), get_settings()
    followup = followups.get(followup_id_for(survey.survey_id)) if survey.score is None else None
    if followup is None:
        return "not a detractor"
    marks = followups.alert_marks(followup.followup_id)
    if "busy" in marks.values():
        raise StepBusy("an alert of this follow-up is going out right now")  # the job comes back
    followup = close_as_automated(followup, "the response was withdrawn: a scanner's sweep, not the customer")
    steps = [(f"retract_{c.name}", _sending(c.retract, followup, settings))
             for c in alerts.configured_channels(settings) if c.retract and marks.get(c.name) == "done"]
    if marks.get("webhook") == "done":
        # The Slack message itself, too, if a press left a usable response_url (slack_replies.py).
        steps.append(("retract_slack_message", _sending(slack_replies.replace_retracted, followup, settings)))
    outcome = _run_steps(job, followup, steps)
    if outcome is None:
        log.warning("detractor: follow-up %s closed as automated, %d alert(s) retracted",
                    followup.followup_id, len(steps))
    return outcome or "retracted"


def _sending(send: Callable, followup: FollowUp, settings) -> Callable[[], str]:
    return lambda: send(followup, settings)


def _run_steps(job: HandleResponse, followup: FollowUp, steps: list[tuple[str, Callable[[], str]]]):
    """Each step once (storage/steps.py); a failing channel is retried with backoff and shown on
    the follow-up meanwhile. None when every step is done, else what the job did instead."""
    followups, settings = FollowUpRepository(), get_settings()
    try:
        for step, send in steps:
            run_once(followup_key(followup.followup_id), step, send)
    except StepBusy:
        raise  # another worker is sending right now; the message comes back later
    except Exception as error:  # noqa: BLE001 - every failure of a channel is retried
        followups.set_alert_error(followup.followup_id, f"{type(error).__name__}: {error}")
        if job.attempt + 1 >= settings.max_alert_attempts:
            log.error("alert for follow-up %s failed %d times: %s", followup.followup_id, job.attempt + 1, error)
            raise
        jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), jobs.backoff_seconds(job.attempt))
        return "alert retrying"
    if followup.alert_error:
        followups.set_alert_error(followup.followup_id, None)
    return None

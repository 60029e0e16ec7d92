"""The one reminder of a sent survey that has no response yet.

A successful send sets the reminder's timer on the survey, `reminder_after_seconds` after it (0:
reminders are off; delivery/jobs.py, storage/timers.py); an answer, a cancel or an erasure takes
it off. When due, the reminder goes only if the survey is still `sent` (no response, not withdrawn to
another state), not expired, and its contact is not in the suppression ledger (the same check a
send makes). It is the same survey sent again with reminder wording and a new token of its own,
through the same send path as the survey (delivery/sending.py, send_once), and it goes at most once: a
`reminder` once-only step on the survey item, given up (never repeated) if a worker died inside
it, like the send, and within the channel's sending rate (delivery/send_rate.py). The survey
records `reminded_at`.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from chalicelib.contacts import suppression_for_survey
from chalicelib.delivery import send_rate
from chalicelib.delivery.jobs import SendReminder
from chalicelib.delivery.sending import ProviderError, send_once, sms_window_delay
from chalicelib.platform import clock, jobs
from chalicelib.platform.settings import get_settings
from chalicelib.storage import timers
from chalicelib.storage.steps import StepInterrupted
from chalicelib.surveys import SurveyRepository, SurveyStatus, survey_key

log = logging.getLogger(__name__)


def handle_reminder(job: SendReminder) -> str:
    """Run one reminder job; returns what happened (for logs and tests)."""
    surveys, settings = SurveyRepository(), get_settings()
    survey = surveys.get(job.survey_id)
    if survey is None:
        log.error("reminder job for unknown survey %s dropped", job.survey_id)
        return "unknown survey"
    if not settings.reminder_after_seconds:
        return "reminders are off"
    if survey.reminded_at is not None:
        return "already reminded"
    if survey.erased_at is not None:
        return "no reminder: the customer's data was erased"
    if survey.status is not SurveyStatus.SENT or survey.score is not None or survey.sent_at is None:
        return f"no reminder: {survey.status.value}"
    now = clock.now()
    if now >= survey.expires_at:
        return "no reminder: expired"
    # A job queued before timers (a hop of the old chain) waits for its time as a timer now.
    if timers.wait_until(job, survey.sent_at + timedelta(seconds=settings.reminder_after_seconds), now,
                         survey_key(survey.survey_id)):
        return "not due yet"
    wait = sms_window_delay(survey, now, settings)  # SMS quiet hours, as for the survey
    if timers.wait_until(job, now + timedelta(seconds=wait), now, survey_key(survey.survey_id)):
        return "deferred: quiet hours"
    entry = suppression_for_survey(survey.customer, survey.channel)
    if entry is not None:
        log.info("survey %s: no reminder, contact suppressed (%s)", survey.survey_id, entry.reason.value)
        return "no reminder: suppressed"
    try:
        result = send_once(survey, settings, "reminder", reminder=True, booked=job.send_slot,
                           complete=lambda message_id: surveys.mark_reminded(survey.survey_id, clock.now(), message_id))
    except send_rate.Deferred as deferred:  # the channel's sending rate, as for the survey
        deferred.requeue(job)
        return "deferred: send rate"
    except StepInterrupted:
        log.warning("survey %s: an earlier reminder attempt stopped midway; not resent", survey.survey_id)
        return "no reminder: interrupted"
    except ProviderError as error:
        if not error.transient or job.attempt + 1 >= settings.max_send_attempts:
            log.warning("survey %s: reminder not sent: %s", survey.survey_id, error)
            return "no reminder: provider error"
        jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1, "send_slot": None}),
                     jobs.backoff_seconds(job.attempt))
        return "retrying"
    return "already reminded" if result is None else "reminded"

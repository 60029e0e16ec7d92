"""Sending surveys: the send job, its retries, and what makes a failure final.

A survey is sent at most once. The send is a once-only step on the survey item: a crash in the
middle of a send leaves a lease behind, and the next delivery of the job marks the survey failed
("outcome unknown") instead of risking a second message. Throttling and transient errors release
the lease and retry with exponential backoff; after `max_send_attempts`, or on a permanent error,
the survey ends `failed` with the reason. Every send attempt reserves a moment of its channel's
sending rate (delivery/send_rate.py); a moment well ahead is waited for on the queue, unsent.

Send eligibility right before the send: the survey is still scheduled and due, inside SMS quiet
hours (delivery/quiet_hours.py), and its contact is not in the suppression ledger (contacts/ledger.py).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from chalicelib.contacts import SmsRecords, count_suppressed, describe_suppression, suppression_for_survey
from chalicelib.delivery import email, quiet_hours, send_rate, sms
from chalicelib.delivery.jobs import SendSlot, SendSurvey, reminder_timer
from chalicelib.events import survey_sent
from chalicelib.insight import sent_changes
from chalicelib.platform import clock, jobs, telemetry
from chalicelib.platform.settings import Settings, get_settings
from chalicelib.storage import timers
from chalicelib.storage.steps import StepInterrupted, run_once
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import Channel, Survey, SurveyRepository, SurveyStatus, survey_key, tokens

log = logging.getLogger(__name__)

SEND_LEASE_SECONDS = 300
_TRANSIENT_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "LimitExceededException", "SendingPausedException", "ServiceUnavailable", "ServiceUnavailableException",
    "InternalFailure", "InternalError", "InternalServerError", "RequestTimeout", "RequestTimeoutException",
    "KMSThrottlingException",
}


class ProviderError(Exception):
    """The email or SMS provider did not take the message; `transient` says if a retry may help."""

    def __init__(self, cause: Exception):
        super().__init__(_describe(cause))
        self.transient = is_transient(cause)


def is_transient(error: Exception) -> bool:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in _TRANSIENT_CODES
    return isinstance(error, (BotoConnectionError, BotoCoreError, TimeoutError, ConnectionError))


def handle_send(job: SendSurvey) -> str:
    """Run one send job; returns what happened (for logs and tests)."""
    surveys, settings = SurveyRepository(), get_settings()
    survey = surveys.get(job.survey_id)
    if survey is None:
        log.error("send job for unknown survey %s dropped", job.survey_id)
        return "unknown survey"
    if survey.status is not SurveyStatus.SCHEDULED:
        return f"already {survey.status.value}"
    now = clock.now()
    if survey.erased_at is not None:  # erased while a send held its lease: nothing is sent to them now
        try:
            surveys.mark_suppressed(survey.survey_id, "erased", now)
        except ConditionFailed:
            return "erased; being sent elsewhere"
        return "suppressed: erased"
    if timers.wait_until(job, survey.send_at, now, survey_key(survey.survey_id)):
        return "not due yet"
    if now >= survey.expires_at:
        surveys.mark_failed(survey.survey_id, "the response window ended before the survey could be sent")
        log.warning("survey %s failed: the response window ended before it could be sent", survey.survey_id)
        telemetry.count("SurveysFailed", reason="expired")
        return "failed: expired"
    # SMS quiet hours: wait for the next allowed instant, never drop.
    wait = sms_window_delay(survey, now, settings)
    if timers.wait_until(job, now + timedelta(seconds=wait), now, survey_key(survey.survey_id)):
        return "deferred: quiet hours"
    # The ledger again, right before the send: the contact may have opted out since acceptance.
    entry = suppression_for_survey(survey.customer, survey.channel)
    if entry is not None:
        try:
            surveys.mark_suppressed(survey.survey_id, describe_suppression(entry), now)
        except ConditionFailed:
            return "suppressed meanwhile or being sent elsewhere"
        count_suppressed(entry.reason.value)
        log.info("survey %s suppressed at send: %s", survey.survey_id, entry.reason.value)
        return "suppressed"
    try:
        sent = send_once(survey, settings, "send", lambda message_id: _sent(survey, clock.now(), message_id),
                         booked=job.send_slot)
    except send_rate.Deferred as deferred:
        deferred.requeue(job)
        return "deferred: send rate"
    except StepInterrupted:
        _fail(surveys, survey.survey_id, "an earlier send attempt stopped midway; not resent to avoid a duplicate")
        return "failed: interrupted"
    except ProviderError as error:
        if not error.transient:
            _fail(surveys, survey.survey_id, f"the {survey.channel.value} provider refused it: {error}")
            return "failed: refused"
        surveys.count_send_attempt(survey.survey_id, f"attempt {job.attempt + 1}: {error}")
        if job.attempt + 1 >= settings.max_send_attempts:
            _fail(surveys, survey.survey_id, f"gave up after {job.attempt + 1} attempts: {error}")
            return "failed: retries exhausted"
        # The moment was used: the retry reserves a fresh one.
        jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1, "send_slot": None}),
                     jobs.backoff_seconds(job.attempt))
        return "retrying"
    if sent is None:
        return "already sent"
    log.info("survey %s sent", survey.survey_id, extra={"channel": survey.channel.value, "attempt": job.attempt})
    telemetry.count("SurveysSent", channel=survey.channel.value)
    return "sent"


def mark_sent(survey: Survey, at: datetime, message_id: str, repository: Optional[SurveyRepository] = None) -> None:
    """`survey` (as the send read it) went out at `at`: the report counters count the send, and the
    timer of its one reminder is set (delivery/reminders.py decides at its time), in the same write."""
    (repository or SurveyRepository()).mark_sent(survey.survey_id, at, message_id, sent_changes(survey, at),
                                                 reminder_timer(survey.survey_id, at))


def _sent(survey: Survey, at: datetime, message_id: str) -> None:
    """The send's step completes: marked sent, then its event queued (only the step's first completion
    gets here, so one event per survey)."""
    mark_sent(survey, at, message_id)
    survey_sent(survey, at)


def sms_window_delay(survey: Survey, now: datetime, settings: Settings | None = None) -> float:
    """Seconds until an SMS to this survey's customer may go out (0: now; always 0 for email).

    The one quiet-hours check of every SMS send path (surveys, reminders): the customer's time
    zone, else the stage's `default_timezone`; the window is `sms_quiet_start`-`sms_quiet_end`.
    """
    settings = settings or get_settings()
    if survey.channel is not Channel.SMS or not settings.sms_quiet_hours_enabled:
        return 0
    tz = survey.customer.timezone or settings.default_timezone
    allowed = quiet_hours.next_allowed(now, tz, clock.parse_hhmm(settings.sms_quiet_start),
                                       clock.parse_hhmm(settings.sms_quiet_end))
    return max(0.0, (allowed - now).total_seconds())


def send_once(survey: Survey, settings: Settings, step: str, complete: Callable[[str], None],
              reminder: bool = False, booked: Optional[SendSlot] = None) -> Optional[str]:
    """The one way a survey message goes out: at most once, as the survey item's step `step`,
    within the channel's sending rate. Call it after every check that could stop the send, so that
    a moment of the rate is reserved only for a send about to happen.

    `booked`: the moment the job reserved when it was last deferred. Returns the provider's message
    id, or None if the step was already done. Raises send_rate.Deferred when the moment is not near
    (nothing was sent: re-queue the job with the exception's booking), StepInterrupted when an
    earlier attempt died midway (not resent) and ProviderError.
    """
    slot = send_rate.take_slot(survey.channel, settings, booked)
    if slot.defer:
        raise send_rate.Deferred(slot.defer, slot.booking)
    # This message's token; its hash makes it valid in the same write that takes the step's lease.
    issued = tokens.issue(survey.survey_id)
    return run_once(survey_key(survey.survey_id), step,
                    lambda: _send(survey, settings, issued.token, reminder=reminder, slot=slot),
                    lease_seconds=SEND_LEASE_SECONDS, if_interrupted="give_up", complete_with=complete,
                    with_claim=SurveyRepository.token_hash_added(issued.secret_hash))


def _send(survey: Survey, settings: Settings, token: str, reminder: bool = False,
          slot: Optional[send_rate.Slot] = None) -> str:
    """Send the message with `token` (already valid); returns the provider's message id.
    `reminder`: the survey's one reminder (same survey, its own token, reminder wording); `slot`:
    its moment in the sending rate, waited for right before the provider call."""
    if survey.channel is Channel.SMS:
        # An SMS reply with a score answers the survey most recently texted to the number; noted
        # before the text goes, since a quick customer can answer before the send call returns.
        SmsRecords().note_latest(survey.customer.phone, survey.survey_id, clock.now())
    channel = email if survey.channel is Channel.EMAIL else sms
    try:
        deliver = channel.prepare(survey, settings, token, reminder=reminder)  # built before the wait
    except ValueError as error:  # the message cannot be built (an SMS link too long for one segment)
        raise ProviderError(error) from error
    if slot is not None:
        send_rate.wait_for(slot, retake=lambda: send_rate.take_slot(survey.channel, settings))
    try:
        return deliver()
    except (ClientError, BotoCoreError, OSError) as error:
        raise ProviderError(error) from error


def _fail(surveys: SurveyRepository, survey_id: str, reason: str) -> None:
    log.warning("survey %s failed: %s", survey_id, reason)
    try:
        surveys.mark_failed(survey_id, reason)
    except ConditionFailed:
        return  # already sent or failed by another delivery of the job (which counted it)
    telemetry.count("SurveysFailed")


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code')}: {details.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"

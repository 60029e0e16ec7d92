"""An interaction ended: decide whether its customer may be surveyed, store the survey once, queue
its send; and cancel it while it has not gone.

Send eligibility at acceptance, in this order: the suppression ledger (contacts/ledger.py), an
open recovery follow-up of the customer, then the throttle window (one survey per contact per
`throttle_days`, stamped in the survey's own transaction: surveys/repository.py). A customer who
must not be surveyed still gets a survey, stored as `suppressed` with the reason, so a repeat of
the interaction answers the same; nothing is queued. Before each send, delivery checks the
ledger again (delivery/sending.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from chalicelib.contacts import OPEN_FOLLOWUP, THROTTLED, count_suppressed, describe_suppression, suppression_for_survey
from chalicelib.delivery import SendSurvey
from chalicelib.followups import has_open_followup
from chalicelib.platform import clock, jobs, telemetry
from chalicelib.platform.errors import Conflict
from chalicelib.platform.fields import IDENTIFIER_RE
from chalicelib.platform.settings import get_settings
from chalicelib.storage import timers
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import tokens
from chalicelib.surveys.model import InteractionIn, Survey, SurveyStatus
from chalicelib.surveys.repository import DuplicateInteraction, SurveyRepository, Throttled
from chalicelib.surveys.views import iso_or_none, survey_view

log = logging.getLogger(__name__)

CANCELLED = "cancelled"  # the suppressed_reason of a cancelled interaction's survey


@dataclass(frozen=True)
class Accepted:
    survey: Survey
    created: bool

    def view(self) -> dict:
        """The answer to POST /v1/interactions."""
        if self.survey.status is SurveyStatus.SUPPRESSED:
            return {"survey_id": self.survey.survey_id, "status": SurveyStatus.SUPPRESSED.value,
                    "reason": self.survey.suppressed_reason}
        return {"survey_id": self.survey.survey_id, "status": self.survey.public_status(clock.now()).value,
                "send_at": clock.iso(self.survey.send_at)}


class CannotCancel(Conflict):
    """The survey went (or is going) out already, or failed: there is nothing left to cancel."""

    def __init__(self, survey: Survey, reason: str):
        super().__init__(reason, extra={"survey": survey_view(survey)})
        self.survey = survey


def accept_interaction(request: InteractionIn, request_base_url: str) -> Accepted:
    """Create the interaction's survey (once) and queue its delivery."""
    repository, settings, now = SurveyRepository(), get_settings(), clock.now()
    send_at = max(request.send_at or now + timedelta(seconds=settings.send_delay_seconds), now)
    survey = Survey(
        survey_id=tokens.new_survey_id(), interaction_id=request.interaction_id, kind=request.survey,
        channel=request.channel, status=SurveyStatus.SCHEDULED,
        customer=request.customer, agent=request.agent, team=request.team, properties=request.properties,
        base_url=settings.public_url or request_base_url, created_at=now, occurred_at=request.occurred_at,
        send_at=send_at, expires_at=send_at + timedelta(days=settings.response_window_days),
        ticket=request.ticket, ask_resolved=request.ask_resolved,
    )
    telemetry.correlate(survey.survey_id)
    try:
        suppressed = _suppression(survey)
        if suppressed is not None:
            return _accept_suppressed(survey, *suppressed, repository)
        window_start = now - timedelta(days=settings.throttle_days) if settings.throttle_days else None
        try:
            repository.create(survey, throttle_since=window_start, contacts=survey.customer.contacts(),
                              timer=_send_timer(survey, now))
        except Throttled as throttled:
            days = settings.throttle_days
            reason = f"surveyed within the last {days} day{'s' if days != 1 else ''}: {throttled}"
            return _accept_suppressed(survey, THROTTLED, reason, repository)
    except DuplicateInteraction as duplicate:
        existing = repository.get(duplicate.survey_id)
        telemetry.correlate(existing.survey_id)
        log.info("interaction %s repeated: survey %s is %s", request.interaction_id, existing.survey_id,
                 existing.status.value)
        if existing.status is SurveyStatus.SCHEDULED:
            # The first request may have died before queueing; the send job is idempotent.
            _queue_send(existing, now)
        return Accepted(existing, created=False)
    _queue_send(survey, now)
    log.info("survey %s accepted for interaction %s", survey.survey_id, survey.interaction_id,
             extra={"channel": survey.channel.value, "survey": survey.kind.value, "send_at": clock.iso(survey.send_at)})
    telemetry.count("SurveysAccepted")
    return Accepted(survey, created=True)


def _suppression(survey: Survey) -> Optional[tuple[str, str]]:
    """(counter, reason) when the ledger or an open follow-up stops surveying this customer."""
    entry = suppression_for_survey(survey.customer, survey.channel)
    if entry is not None:
        return entry.reason.value, describe_suppression(entry)
    if has_open_followup(survey.customer.id):
        return OPEN_FOLLOWUP, "open follow-up"
    return None


def _accept_suppressed(survey: Survey, counter: str, reason: str, repository: SurveyRepository) -> Accepted:
    """Store the interaction's survey as suppressed (no throttle stamp, nothing queued) and count it.
    Raises DuplicateInteraction if the interaction already has a survey."""
    suppressed = survey.model_copy(update={"status": SurveyStatus.SUPPRESSED, "suppressed_reason": reason})
    repository.create(suppressed)
    count_suppressed(counter)
    log.info("survey %s of interaction %s suppressed: %s", survey.survey_id, survey.interaction_id, counter)
    return Accepted(suppressed, created=False)


def cancel_interaction(interaction_id: str, by: str) -> Optional[Survey]:
    """Cancel an interaction's survey before it goes: it becomes `suppressed`, reason "cancelled".

    Returns the survey (also when it was cancelled or suppressed already: idempotent), or None for
    an unknown interaction (a malformed id is never looked up). Raises CannotCancel when the survey
    was sent (a message cannot be unsent), failed, or is being sent right now: the write is
    conditional on status `scheduled` and no live send lease, and the send's own writes require
    `scheduled`, so a send and a cancel never both happen; a cancel that loses the race is refused.
    """
    repository = SurveyRepository()
    known = IDENTIFIER_RE.fullmatch(interaction_id)
    survey_id = repository.survey_id_for_interaction(interaction_id) if known else None
    survey = repository.get(survey_id) if survey_id else None
    if survey is None:
        return None
    if survey.status is SurveyStatus.SCHEDULED:
        try:
            repository.mark_cancelled(survey.survey_id, by, clock.now())
            log.info("survey %s of interaction %s cancelled by %s", survey.survey_id, interaction_id, by)
            return repository.get(survey.survey_id)
        except ConditionFailed:
            survey = repository.get(survey.survey_id)
            if survey.status is SurveyStatus.SCHEDULED:
                raise CannotCancel(survey, "the survey is being sent right now and cannot be cancelled") from None
    if survey.status is SurveyStatus.SUPPRESSED:
        return survey  # never sent: cancelled already, or suppressed for another reason
    if survey.status is SurveyStatus.FAILED:
        raise CannotCancel(survey, f"the survey was never sent (failed: {survey.failure_reason}); nothing to cancel")
    raise CannotCancel(survey, f"the survey was already sent at {iso_or_none(survey.sent_at)}; "
                               "a sent survey cannot be unsent")


def _send_timer(survey: Survey, now: datetime) -> Optional[dict]:
    """A send planned beyond a queue delay waits as a timer on the survey, written with it."""
    return timers.timer(SendSurvey(survey_id=survey.survey_id), survey.send_at) \
        if timers.beyond_queue(survey.send_at, now) else None


def _queue_send(survey: Survey, now: datetime) -> None:
    """Queue the send, delayed until `send_at`, unless it waits as a timer (_send_timer)."""
    if not timers.beyond_queue(survey.send_at, now):
        jobs.enqueue(SendSurvey(survey_id=survey.survey_id), max(0.0, (survey.send_at - now).total_seconds()))

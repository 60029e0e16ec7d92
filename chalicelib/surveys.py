"""The survey lifecycle: accept an interaction, serve its pages, count its one response."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from chalicelib import clock, jobs, scanners, scoring, suppressions, telemetry, tokens
from chalicelib.config import get_settings
from chalicelib.models import (
    HandleResponse, InteractionIn, OpenVerdict, ResponseForm, SendSurvey, Survey, SurveyOpen, SurveyStatus,
)
from chalicelib.storage import ConditionFailed, DuplicateInteraction, Store, Throttled, get_store

log = logging.getLogger(__name__)


class SurveyNotFound(Exception):
    """Unknown, forged or truncated token: the page reveals nothing more."""


class SurveyExpired(Exception):
    def __init__(self, survey: Survey):
        super().__init__(survey.survey_id)
        self.survey = survey


class InvalidScore(ValueError):
    def __init__(self, survey: Survey, score: int):
        low, high = scoring.scale(survey.kind)[0], scoring.scale(survey.kind)[-1]
        super().__init__(f"score must be between {low} and {high} for a {survey.kind.value} survey")
        self.survey, self.low, self.high = survey, low, high


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


def accept_interaction(request: InteractionIn, request_base_url: str, store: Optional[Store] = None) -> Accepted:
    """Create the interaction's survey (once) and queue its delivery.

    A customer who must not be surveyed (suppressed in the ledger, an open recovery follow-up, or
    surveyed within the throttle window) gets a survey stored as `suppressed` with the reason, so
    a repeat of the interaction answers the same; nothing is queued.
    """
    store = store or get_store()
    settings = get_settings()
    now = clock.now()
    send_at = request.send_at or now + timedelta(seconds=settings.send_delay_seconds)
    survey = Survey(
        survey_id=tokens.new_survey_id(), interaction_id=request.interaction_id, kind=request.survey,
        channel=request.channel, status=SurveyStatus.SCHEDULED,
        customer=request.customer, agent=request.agent, team=request.team, properties=request.properties,
        base_url=settings.public_url or request_base_url, created_at=now, occurred_at=request.occurred_at,
        send_at=max(send_at, now), expires_at=max(send_at, now) + timedelta(days=settings.response_window_days),
    )
    telemetry.correlate(survey.survey_id)
    try:
        suppressed = _suppression(survey, store)
        if suppressed is not None:
            return _accept_suppressed(survey, *suppressed, store)
        window_start = now - timedelta(days=settings.throttle_days) if settings.throttle_days else None
        try:
            store.create_survey(survey, throttle_since=window_start, contacts=suppressions.contacts_of(survey.customer))
        except Throttled as throttled:
            days = settings.throttle_days
            reason = f"surveyed within the last {days} day{'s' if days != 1 else ''}: {throttled}"
            return _accept_suppressed(survey, suppressions.THROTTLED, reason, store)
    except DuplicateInteraction as duplicate:
        existing = store.get_survey(duplicate.survey_id)
        telemetry.correlate(existing.survey_id)
        log.info("interaction %s repeated: survey %s is %s", request.interaction_id, existing.survey_id,
                 existing.status.value)
        if existing.status is SurveyStatus.SCHEDULED:
            # The first request may have died before queueing; the send job is idempotent.
            jobs.enqueue(SendSurvey(survey_id=existing.survey_id), _seconds_until(existing.send_at, now))
        return Accepted(existing, created=False)
    jobs.enqueue(SendSurvey(survey_id=survey.survey_id), _seconds_until(survey.send_at, now))
    log.info("survey %s accepted for interaction %s", survey.survey_id, survey.interaction_id,
             extra={"channel": survey.channel.value, "survey": survey.kind.value, "send_at": clock.iso(survey.send_at)})
    telemetry.count("SurveysAccepted")
    return Accepted(survey, created=True)


def _suppression(survey: Survey, store: Store) -> Optional[tuple[str, str]]:
    """(counter, reason) when the ledger or an open follow-up stops surveying this customer."""
    entry = suppressions.suppression_for_survey(survey.customer, survey.channel, store)
    if entry is not None:
        return entry.reason.value, suppressions.describe(entry)
    if store.has_open_followup(survey.customer.id):
        return suppressions.OPEN_FOLLOWUP, "open follow-up"
    return None


def _accept_suppressed(survey: Survey, counter: str, reason: str, store: Store) -> Accepted:
    """Store the interaction's survey as suppressed (no throttle stamp, nothing queued) and count it.
    Raises DuplicateInteraction if the interaction already has a survey."""
    suppressed = survey.model_copy(update={"status": SurveyStatus.SUPPRESSED, "suppressed_reason": reason})
    store.create_survey(suppressed)
    suppressions.count(counter, store)
    log.info("survey %s of interaction %s suppressed: %s", survey.survey_id, survey.interaction_id, counter)
    return Accepted(suppressed, created=False)


def survey_view(survey: Survey) -> dict:
    """The survey as GET /v1/surveys/{id} shows it."""
    at = clock.now()
    return {
        "survey_id": survey.survey_id, "interaction_id": survey.interaction_id, "survey": survey.kind.value,
        "channel": survey.channel.value, "status": survey.public_status(at).value,
        "score": survey.score, "comment": survey.comment,
        "detractor": scoring.is_detractor(survey.kind, survey.score) if survey.score is not None else None,
        "customer_id": survey.customer.id,
        "agent": survey.agent.model_dump(exclude_none=True) if survey.agent else None, "team": survey.team,
        "created_at": clock.iso(survey.created_at), "send_at": clock.iso(survey.send_at),
        "sent_at": _iso_or_none(survey.sent_at), "responded_at": _iso_or_none(survey.responded_at),
        "response_updated_at": _iso_or_none(survey.response_updated_at),
        "expires_at": clock.iso(survey.expires_at), "failure_reason": survey.failure_reason,
        "suppressed_reason": survey.suppressed_reason,
        # A re-survey after a resolved follow-up: which one, and the "issue resolved?" answer.
        "followup_id": survey.followup_id, "resolved": survey.resolved,
        # The one reminder; a cancelled interaction's survey is suppressed with reason "cancelled".
        "reminded_at": _iso_or_none(survey.reminded_at),
        "cancelled_at": _iso_or_none(survey.cancelled_at), "cancelled_by": survey.cancelled_by,
        # The customer's personal data was erased (DELETE /v1/customers/{id}); score and times stay.
        "erased_at": _iso_or_none(survey.erased_at),
    }


CANCELLED = "cancelled"  # the suppressed_reason of a cancelled interaction's survey


class CannotCancel(Exception):
    """The survey went (or is going) out already, or failed: there is nothing left to cancel."""

    def __init__(self, survey: Survey, reason: str):
        super().__init__(reason)
        self.survey = survey


def cancel_interaction(interaction_id: str, by: str, store: Optional[Store] = None) -> Optional[Survey]:
    """Cancel an interaction's survey before it goes: it becomes `suppressed`, reason "cancelled".

    Returns the survey (also when it was cancelled or suppressed already: idempotent), or None for
    an unknown interaction. Raises CannotCancel when the survey was sent (a message cannot be
    unsent), failed, or is being sent right now: the write is conditional on status `scheduled`
    and no live send lease, and the send's own writes require `scheduled`, so a send and a cancel
    never both happen; a cancel that loses the race is refused.
    """
    store = store or get_store()
    survey_id = store.survey_id_for_interaction(interaction_id)
    survey = store.get_survey(survey_id) if survey_id else None
    if survey is None:
        return None
    if survey.status is SurveyStatus.SCHEDULED:
        now = clock.now()
        try:
            store.mark_cancelled(survey.survey_id, by, now)
            log.info("survey %s of interaction %s cancelled by %s", survey.survey_id, interaction_id, by)
            return store.get_survey(survey.survey_id)
        except ConditionFailed:
            survey = store.get_survey(survey.survey_id)
            if survey.status is SurveyStatus.SCHEDULED:
                raise CannotCancel(survey, "the survey is being sent right now and cannot be cancelled")
    if survey.status is SurveyStatus.SUPPRESSED:
        return survey  # never sent: cancelled already, or suppressed for another reason
    if survey.status is SurveyStatus.FAILED:
        raise CannotCancel(survey, f"the survey was never sent (failed: {survey.failure_reason}); nothing to cancel")
    raise CannotCancel(survey, f"the survey was already sent at {_iso_or_none(survey.sent_at)}; "
                               "a sent survey cannot be unsent")


def open_view(survey_open: SurveyOpen) -> dict:
    return {"open_id": survey_open.open_id, "at": clock.iso(survey_open.at), "method": survey_open.method,
            "score": None if survey_open.score == scanners.HONEYPOT else survey_open.score,
            "honeypot": survey_open.score == scanners.HONEYPOT, "user_agent": survey_open.user_agent,
            "verdict": survey_open.verdict.value, "reason": survey_open.reason,
            "confirmed_at": _iso_or_none(survey_open.confirmed_at)}


# --- pages ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageView:
    survey: Survey
    open_id: str
    score: Optional[int]
    token: str


def view_page(token: str, score: Optional[int], method: str, user_agent: str,
              store: Optional[Store] = None) -> PageView:
    """Someone fetched a survey link: keep the evidence and count no response (a GET never
    responds); the first view not judged automated counts the survey as opened (report counters)."""
    store = store or get_store()
    survey = _survey_for_token(token, store)
    telemetry.correlate(survey.survey_id)
    now = clock.now()
    if now >= survey.expires_at:
        raise SurveyExpired(survey)
    if score is not None and score != scanners.HONEYPOT and not scoring.is_valid_score(survey.kind, score):
        raise InvalidScore(survey, score)
    first_look = scanners.judge_fetch(method, user_agent)
    if score == scanners.HONEYPOT:
        first_look = scanners.Judgement(True, "fetched the hidden link that people never see")
    survey_open = SurveyOpen(
        open_id=secrets.token_urlsafe(12), survey_id=survey.survey_id, at=now, method=method.upper(),
        score=score, user_agent=user_agent[:512],
        verdict=OpenVerdict.AUTOMATED if first_look.automated else OpenVerdict.PENDING, reason=first_look.reason,
    )
    store.add_open(survey_open, survey=survey)
    if first_look.automated:
        telemetry.count("AutomatedOpens")
    return PageView(survey=survey, open_id=survey_open.open_id, score=score, token=token)


@dataclass(frozen=True)
class ResponseOutcome:
    survey: Survey
    counted: bool
    reason: Optional[str] = None


def respond(token: str, form: ResponseForm, user_agent: str, explicit: bool,
            store: Optional[Store] = None) -> ResponseOutcome:
    """A survey page confirms a score (by itself after a dwell, or by the person's submit).

    Costs one Query (survey and recent page views) and one transaction (response and evidence).
    """
    store = store or get_store()
    survey_id = _survey_id_for_token(token)
    for attempt in range(3):
        survey, recent = store.get_survey_with_opens(survey_id)
        _check_token(survey, token)
        telemetry.correlate(survey_id)
        try:
            return _respond(store, survey, recent, form, user_agent, explicit)
        except ConditionFailed:
            if attempt == 2 or clock.now() >= survey.expires_at:
                raise
            # Another click changed the response between our read and write: judge again.
    raise AssertionError("unreachable")


SMS_USER_AGENT = "sms"  # the evidence of an SMS reply: method "SMS", this user agent


def respond_by_sms(survey_id: str, score: int, comment: Optional[str] = None,
                   store: Optional[Store] = None) -> ResponseOutcome:
    """A customer texted a score back: an explicit answer, counted by the same rules as a click.

    The reply is kept as a page view with method "SMS" (audit), the last choice counts, and a
    new detractor queues the same follow-up decision (HandleResponse) as a click does.
    Raises SurveyNotFound, SurveyExpired or InvalidScore (a score outside the survey's scale).
    """
    store = store or get_store()
    form = ResponseForm(score=score, comment=comment, open_id=secrets.token_urlsafe(12))
    for attempt in range(3):
        survey, recent = store.get_survey_with_opens(survey_id)
        if survey is None:
            raise SurveyNotFound()
        telemetry.correlate(survey_id)
        try:
            return _respond(store, survey, recent, form, SMS_USER_AGENT, explicit=True, method="SMS")
        except ConditionFailed:
            if attempt == 2 or clock.now() >= survey.expires_at:
                raise
    raise AssertionError("unreachable")


def _respond(store: Store, survey: Survey, recent: list[SurveyOpen], form: ResponseForm, user_agent: str,
             explicit: bool, method: str = "POST") -> ResponseOutcome:
    now = clock.now()
    if now >= survey.expires_at:
        raise SurveyExpired(survey)
    if not scoring.is_valid_score(survey.kind, form.score):
        raise InvalidScore(survey, form.score)
    view = next((o for o in recent if o.open_id == form.open_id), None)
    if view is None:
        # A post without a page view we know (no-JS client with a stale page, or a forged form):
        # judge it as a fresh view of this score made now.
        view = SurveyOpen(open_id=form.open_id or secrets.token_urlsafe(12), survey_id=survey.survey_id, at=now,
                          method=method, score=form.score, user_agent=user_agent[:512])
        store.add_open(view)
    judged_view = view.model_copy(update={"score": form.score if view.score is None else view.score})
    # The page waits `confirm_dwell_ms` of visibility; allow a fifth of it for timer granularity.
    min_visible = timedelta(milliseconds=get_settings().confirm_dwell_ms * 0.8)
    judgement = scanners.judge_confirmation(judged_view, recent, user_agent, now, explicit, min_visible)
    if judgement.automated:
        if view.verdict is not OpenVerdict.AUTOMATED:  # a view judged at its fetch was counted then
            telemetry.count("AutomatedOpens")
        log.info("survey %s: confirmation judged automated: %s", survey.survey_id, judgement.reason)
        evidence = view.model_copy(update={"verdict": OpenVerdict.AUTOMATED, "reason": judgement.reason})
        if judgement.sweep and survey.score is not None:
            if survey.followup_id is not None:  # a re-survey: its follow-up forgets the outcome too
                jobs.enqueue(HandleResponse(survey_id=survey.survey_id,
                                            expected_version=survey.response_version + 1), 0)
            store.withdraw_response(survey, evidence, now)
            log.warning("survey %s: response withdrawn, %s", survey.survey_id, judgement.reason)
        else:
            store.set_open_verdict(evidence)
        return ResponseOutcome(survey, counted=False, reason=judgement.reason)
    resolved = form.resolved if survey.followup_id is not None else None  # only re-surveys ask it
    if (survey.score == form.score and form.comment in (None, survey.comment)
            and resolved in (None, survey.resolved) and view.verdict is OpenVerdict.COUNTED):
        return ResponseOutcome(survey, counted=True)  # a repeated confirmation: nothing changes
    newly_detractor = scoring.is_detractor(survey.kind, form.score) and not scoring.is_detractor(survey.kind, survey.score)
    if survey.followup_id is not None:
        # A re-survey: every counted change updates its follow-up's outcome (no alert, no wait).
        jobs.enqueue(HandleResponse(survey_id=survey.survey_id, expected_version=survey.response_version + 1), 0)
    elif newly_detractor:
        # Queue the follow-up decision before writing: if the write then fails the job finds no
        # newer response and does nothing, while the reverse order could lose an alert.
        jobs.enqueue(HandleResponse(survey_id=survey.survey_id, expected_version=survey.response_version + 1),
                     get_settings().comment_wait_seconds)
    evidence = view.model_copy(update={"verdict": OpenVerdict.COUNTED, "reason": None, "confirmed_at": now})
    version = store.record_response(survey, evidence, form.score, form.comment, now, resolved)
    # A changed score is the same response; only a survey's first counts (as the reports count it).
    first = survey.responded_at is None
    log.info("survey %s: response recorded", survey.survey_id,
             extra={"score": form.score, "first": first, "detractor": newly_detractor})
    if first:
        telemetry.count("Responses")
    updated = survey.model_copy(update={
        "score": form.score, "comment": form.comment if form.comment is not None else survey.comment,
        "resolved": resolved if resolved is not None else survey.resolved,
        "status": SurveyStatus.RESPONDED, "responded_at": survey.responded_at or now,
        "response_updated_at": now, "response_version": version})
    return ResponseOutcome(updated, counted=True)


def _survey_id_for_token(token: str) -> str:
    try:
        return tokens.survey_id_of(token)
    except tokens.InvalidToken as error:
        raise SurveyNotFound() from error


def _check_token(survey: Optional[Survey], token: str) -> Survey:
    if survey is None or not tokens.matches(token, survey.secret_hashes):
        raise SurveyNotFound()
    return survey


def _survey_for_token(token: str, store: Store) -> Survey:
    return _check_token(store.get_survey(_survey_id_for_token(token)), token)


def survey_for_token(token: str, store: Optional[Store] = None) -> Survey:
    """The survey a token belongs to, expired or not (an unsubscribe link works forever).

    Raises SurveyNotFound for an unknown, forged or malformed token.
    """
    return _survey_for_token(token, store or get_store())


def _seconds_until(at: datetime, now: datetime) -> float:
    return max(0.0, (at - now).total_seconds())


def _iso_or_none(value: Optional[datetime]) -> Optional[str]:
    return clock.iso(value) if value else None

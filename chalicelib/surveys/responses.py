"""A customer answers: page views kept as evidence, confirmations judged, one response counted.

A GET of a survey link never responds: it keeps the page view (the first one by a person counts
the survey as opened in the report counters). The landing page confirms its score after being
visible for a while, or the person submits the form; either is judged against the survey's
recent page views (surveys/scanners.py) before it counts. The last choice of a person counts, a
response is never counted twice, and a sweep found later withdraws what it had counted. A new
detractor queues the follow-up decision (followups/detractors.py) after the comment wait.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from chalicelib.delivery import reminder_timer
from chalicelib.events import response_changed, response_withdrawn
from chalicelib.followups import HandleResponse, ShareKudos, is_praise_to_share
from chalicelib.insight import Why, opened_changes, opens_now, response_changes
from chalicelib.integrations import queue_writeback
from chalicelib.platform import clock, jobs, telemetry
from chalicelib.platform.errors import Expired, InvalidInput, NotFound
from chalicelib.platform.settings import get_settings
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import scanners, scoring, tokens
from chalicelib.surveys.model import OpenVerdict, ResponseForm, Survey, SurveyOpen, SurveyStatus
from chalicelib.surveys.repository import SurveyRepository
from chalicelib.why import check_reasons, queue_retag, stage_reasons, tag_comment

log = logging.getLogger(__name__)

SMS_USER_AGENT = "sms"  # the evidence of an SMS reply: method "SMS", this user agent


class SurveyNotFound(NotFound):
    """Unknown, forged or truncated token: the page reveals nothing more."""

    def __init__(self):
        super().__init__("no such survey link")


class SurveyExpired(Expired):
    def __init__(self, survey: Survey):
        super().__init__("this survey has closed")
        self.survey = survey


class InvalidScore(InvalidInput):
    def __init__(self, survey: Survey, score: int):
        low, high = scoring.scale(survey.kind)[0], scoring.scale(survey.kind)[-1]
        message = f"score must be between {low} and {high} for a {survey.kind.value} survey"
        super().__init__(message, [{"field": "score", "message": message}])
        self.survey, self.low, self.high = survey, low, high


@dataclass(frozen=True)
class PageView:
    survey: Survey
    open_id: str
    score: Optional[int]
    token: str


@dataclass(frozen=True)
class ResponseOutcome:
    survey: Survey
    counted: bool
    reason: Optional[str] = None


def view_page(token: str, score: Optional[int], method: str, user_agent: str) -> PageView:
    """Someone fetched a survey link: keep the evidence and count no response (a GET never
    responds); the first view not judged automated counts the survey as opened (report counters)."""
    repository = SurveyRepository()
    survey = _check_token(repository.get(_survey_id_for_token(token)), token)
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
    keep_view(survey, survey_open, repository)
    if first_look.automated:
        telemetry.count("AutomatedOpens")
    return PageView(survey=survey, open_id=survey_open.open_id, score=score, token=token)


def respond(token: str, form: ResponseForm, user_agent: str, explicit: bool) -> ResponseOutcome:
    """A survey page confirms a score (by itself after a dwell, or by the person's submit).

    Costs one Query (survey and recent page views) and one transaction (response and evidence).
    """
    survey_id = _survey_id_for_token(token)
    return _respond_fresh(survey_id, form, user_agent, explicit, token=token)


def respond_by_sms(survey_id: str, score: int, comment: Optional[str] = None,
                   reasons: Optional[list[str]] = None) -> ResponseOutcome:
    """A customer texted a score back (or, after a low one, its reasons by number: `reasons`, keys
    of the stage's reasons): an explicit answer, counted by the same rules as a click.

    The reply is kept as a page view with method "SMS" (audit), the last choice counts, and a
    new detractor queues the same follow-up decision (HandleResponse) as a click does.
    Raises SurveyNotFound, SurveyExpired or InvalidScore (a score outside the survey's scale).
    """
    form = ResponseForm(score=score, comment=comment, open_id=secrets.token_urlsafe(12), reason=reasons)
    return _respond_fresh(survey_id, form, SMS_USER_AGENT, True, method="SMS")


def _respond_fresh(survey_id: str, form: ResponseForm, user_agent: str, explicit: bool,
                   token: Optional[str] = None, method: str = "POST") -> ResponseOutcome:
    """Judge and count on a fresh read; another click that changed the response between our read
    and write makes us read and judge again (at most three times)."""
    repository = SurveyRepository()
    for attempt in range(3):
        survey, recent = repository.get_with_opens(survey_id)
        if token is not None:
            _check_token(survey, token)
        elif survey is None:
            raise SurveyNotFound()
        telemetry.correlate(survey_id)
        try:
            return _respond(repository, survey, recent, form, user_agent, explicit, method)
        except ConditionFailed:
            if attempt == 2 or clock.now() >= survey.expires_at:
                raise
    raise AssertionError("unreachable")


def _respond(repository: SurveyRepository, survey: Survey, recent: list[SurveyOpen], form: ResponseForm,
             user_agent: str, explicit: bool, method: str) -> ResponseOutcome:
    now = clock.now()
    if now >= survey.expires_at:
        raise SurveyExpired(survey)
    if not scoring.is_valid_score(survey.kind, form.score):
        raise InvalidScore(survey, form.score)
    reasons = check_reasons(form.reason, stage_reasons())  # None: the post did not carry the field
    view = next((o for o in recent if o.open_id == form.open_id), None)
    if view is None:
        # A post without a page view we know (no-JS client with a stale page, or a forged form):
        # judge it as a fresh view of this score made now.
        view = SurveyOpen(open_id=form.open_id or secrets.token_urlsafe(12), survey_id=survey.survey_id, at=now,
                          method=method, score=form.score, user_agent=user_agent[:512])
        repository.add_open(view)
    judged_view = view.model_copy(update={"score": form.score if view.score is None else view.score})
    # The page waits `confirm_dwell_ms` of visibility; allow a fifth of it for timer granularity.
    min_visible = timedelta(milliseconds=get_settings().confirm_dwell_ms * 0.8)
    judgement = scanners.judge_confirmation(judged_view, recent, user_agent, now, explicit, min_visible)
    if judgement.automated:
        return _refuse(repository, survey, view, judgement, now)
    resolved = form.resolved if survey.asks_resolved(get_settings().ask_resolved) else None
    if (survey.score == form.score and form.comment in (None, survey.comment) and reasons in (None, survey.reasons)
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
    comment = form.comment if form.comment is not None else survey.comment
    if is_praise_to_share(survey, form.score, comment):
        # Shared once the survey is quiet, with the words it has then (followups/kudos.py).
        jobs.enqueue(ShareKudos(survey_id=survey.survey_id, expected_version=survey.response_version + 1),
                     get_settings().comment_wait_seconds)
    if survey.ticket is not None:
        # Queued before the write, like the decision above; the job waits for this version.
        queue_writeback(survey.survey_id, f"r{survey.response_version + 1}")
    evidence = view.model_copy(update={"verdict": OpenVerdict.COUNTED, "reason": None, "confirmed_at": now})
    why = why_after(survey, form.comment, resolved, reasons)
    version = count_response(survey, evidence, form.score, form.comment, now, resolved, repository, reasons, why)
    if form.comment and form.comment != survey.comment:
        queue_retag(survey.survey_id, version)  # the stage's model, if on, refines the keyword themes
    response_changed(survey, version, form.score, form.comment, resolved,
                     scoring.is_detractor(survey.kind, form.score), now, why)
    # A changed score is the same response; only a survey's first counts (as the reports count it).
    first = survey.responded_at is None
    log.info("survey %s: response recorded", survey.survey_id,
             extra={"score": form.score, "first": first, "detractor": newly_detractor})
    if first:
        telemetry.count("Responses")
    updated = survey.model_copy(update={
        "score": form.score, "comment": form.comment if form.comment is not None else survey.comment,
        "resolved": why.resolved, "reasons": list(why.reasons), "themes": list(why.themes),
        "status": SurveyStatus.RESPONDED, "responded_at": survey.responded_at or now,
        "response_updated_at": now, "response_version": version})
    return ResponseOutcome(updated, counted=True)


def _refuse(repository: SurveyRepository, survey: Survey, view: SurveyOpen, judgement: scanners.Judgement,
            now) -> ResponseOutcome:
    """A confirmation judged automated: keep the verdict as evidence; a sweep also withdraws the
    response it had counted (and its report counts)."""
    if view.verdict is not OpenVerdict.AUTOMATED:  # a view judged at its fetch was counted then
        telemetry.count("AutomatedOpens")
    log.info("survey %s: confirmation judged automated: %s", survey.survey_id, judgement.reason)
    evidence = view.model_copy(update={"verdict": OpenVerdict.AUTOMATED, "reason": judgement.reason})
    if judgement.sweep and survey.score is not None:
        # The decision job sees the withdrawal: a re-survey's follow-up forgets the outcome, an
        # alert that went out for the sweep is taken back (followups/detractors.py).
        jobs.enqueue(HandleResponse(survey_id=survey.survey_id, expected_version=survey.response_version + 1), 0)
        if survey.ticket is not None:
            queue_writeback(survey.survey_id, f"r{survey.response_version + 1}")
        withdraw_response(survey, evidence, now, repository)
        response_withdrawn(survey, survey.response_version + 1, judgement.reason, now)
        log.warning("survey %s: response withdrawn, %s", survey.survey_id, judgement.reason)
    else:
        repository.set_open_verdict(evidence)
    return ResponseOutcome(survey, counted=False, reason=judgement.reason)


def keep_view(survey: Survey, view: SurveyOpen, repository: Optional[SurveyRepository] = None) -> None:
    """Keep a page view of `survey` (as read); its first by a person counts it as opened in the
    report counters, in the same write."""
    (repository or SurveyRepository()).add_open(view, opened_changes(survey) if opens_now(survey, view) else ())


def count_response(survey: Survey, evidence: Optional[SurveyOpen], score: int, comment: Optional[str], at: datetime,
                   resolved: Optional[bool] = None, repository: Optional[SurveyRepository] = None,
                   reasons: Optional[list[str]] = None, why: Optional[Why] = None) -> int:
    """Record `score` as `survey`'s response (as read: the write is conditional on it), with its
    comment, answer to "resolved?" and reasons where given (None: unchanged), the comment's themes,
    and the report counters it moves, in one transaction; returns the new response version."""
    first_open = opens_now(survey)
    why = why or why_after(survey, comment, resolved, reasons)
    counters = response_changes(survey, survey.score, score, first_open=first_open,
                                old_why=Why.of(survey), new_why=why)
    return (repository or SurveyRepository()).record_response(
        survey, evidence, score, comment, at, why.resolved, counters, first_open=first_open,
        reasons=list(why.reasons), themes=list(why.themes))


def why_after(survey: Survey, comment: Optional[str], resolved: Optional[bool],
              reasons: Optional[list[str]]) -> Why:
    """What the response says besides its score once this answer counts: a new comment's themes
    (found by the keyword tagger, why/themes.py), and whatever was not given as it was."""
    themes = tag_comment(comment, survey.customer.locale) if comment is not None else survey.themes
    return Why(tuple(reasons if reasons is not None else survey.reasons), tuple(themes),
               resolved if resolved is not None else survey.resolved)


def withdraw_response(survey: Survey, evidence: SurveyOpen, at: datetime,
                      repository: Optional[SurveyRepository] = None) -> None:
    """Uncount `survey`'s response (a scanner sweep's) and its report counts, in one transaction; the
    reminder the response had stopped is due again."""
    timer = reminder_timer(survey.survey_id, survey.sent_at) if survey.sent_at and not survey.reminded_at else None
    changes = response_changes(survey, survey.score, None, old_why=Why.of(survey))
    (repository or SurveyRepository()).withdraw_response(survey, evidence, at, changes, timer)


def survey_for_token(token: str) -> Survey:
    """The survey a token belongs to, expired or not (an unsubscribe link works forever).

    Raises SurveyNotFound for an unknown, forged or malformed token.
    """
    return _check_token(SurveyRepository().get(_survey_id_for_token(token)), token)


def _survey_id_for_token(token: str) -> str:
    try:
        return tokens.survey_id_of(token)
    except tokens.InvalidToken as error:
        raise SurveyNotFound() from error


def _check_token(survey: Optional[Survey], token: str) -> Survey:
    if survey is None or not tokens.matches(token, survey.secret_hashes):
        raise SurveyNotFound()
    return survey

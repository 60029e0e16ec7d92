"""Did the recovery work? The re-survey after a resolved follow-up, its outcome, and the stats.

    follow-up resolved ──its timer (resurvey_delay_seconds later)──▶ SendResurvey ──▶ re-survey
    re-survey response ──HandleResponse──▶ follow-up records resurvey_score, recovered, resurvey_resolved

A re-survey is an ordinary Survey (same customer, channel, scale, agent and team as the one that
opened the follow-up) carrying `followup_id`, so delivery, tokens, pages and scanner checks are
the survey machinery's. Its interaction id is derived from the follow-up ("resurvey:<id>"), so
however often the job is delivered, the one-survey-per-interaction rule (surveys/repository.py) makes one.
A re-survey response never opens a follow-up or alerts: it only records the outcome.
"""
from __future__ import annotations

import logging
import statistics
from datetime import datetime, timedelta
from typing import Callable, Iterable, Optional

from chalicelib.delivery import SendSurvey
from chalicelib.followups.jobs import SendResurvey
from chalicelib.followups.model import FollowUp, FollowUpEvent, FollowUpStatus
from chalicelib.followups.repository import FollowUpRepository
from chalicelib.platform import clock, jobs
from chalicelib.platform.errors import bad_field
from chalicelib.platform.settings import get_settings
from chalicelib.platform.validation import instant
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import DuplicateInteraction, Survey, SurveyRepository, SurveyStatus, scoring, tokens

log = logging.getLogger(__name__)

_SAVE_ATTEMPTS = 5


def resurvey_interaction_id(followup_id: str) -> str:
    return f"resurvey:{followup_id}"


# --- the re-survey -------------------------------------------------------------------------

def resurvey_due(resolved_at: datetime) -> Optional[datetime]:
    """When the re-survey of a follow-up resolved at `resolved_at` goes, or None when re-surveys are
    off. The follow-up carries it as its timer (followups/repository.py) until the re-survey is made."""
    settings = get_settings()
    return resolved_at + timedelta(seconds=settings.resurvey_delay_seconds) if settings.resurvey_enabled else None


def handle_resurvey(job: SendResurvey) -> str:
    """Make the follow-up's one re-survey once it is due, and queue its delivery."""
    followups, surveys, settings = FollowUpRepository(), SurveyRepository(), get_settings()
    followup = followups.get(job.followup_id)
    if followup is None:
        log.error("re-survey job for unknown follow-up %s dropped", job.followup_id)
        return "unknown follow-up"
    if not settings.resurvey_enabled:
        return "re-surveys are off"
    if followup.status is not FollowUpStatus.RESOLVED or followup.closed_at is None:
        return f"not resolved anymore ({followup.status.value})"
    now = clock.now()
    due = followup.resurvey_due_at or resurvey_due(followup.closed_at)
    if due > now:
        if followup.resurvey_due_at is None:  # resolved before timers: its queued hop becomes the timer
            _update_followup(followups, followup.followup_id, lambda current: current.model_copy(
                update={"resurvey_due_at": due, "version": current.version + 1})
                if current.resurvey_due_at is None and current.status is FollowUpStatus.RESOLVED else None)
        return "not due yet"
    original = surveys.get(followup.survey_id)
    if original is None:
        log.error("follow-up %s: its survey %s is gone; no re-survey", followup.followup_id, followup.survey_id)
        return "original survey gone"
    if original.erased_at is not None:  # nothing left to reach them by, and they asked to be forgotten
        return "customer erased"
    survey = Survey(
        survey_id=tokens.new_survey_id(), interaction_id=resurvey_interaction_id(followup.followup_id),
        kind=original.kind, channel=original.channel, status=SurveyStatus.SCHEDULED,
        customer=original.customer, agent=original.agent, team=original.team, properties=original.properties,
        base_url=original.base_url, created_at=now, occurred_at=followup.closed_at, send_at=now,
        expires_at=now + timedelta(days=settings.response_window_days), followup_id=followup.followup_id,
    )
    try:
        surveys.create(survey)
        outcome = "re-survey created"
    except DuplicateInteraction as duplicate:
        # A redelivered job: the re-survey exists. Its send job is idempotent, so queue it again
        # in case the first delivery died between creating and queueing.
        survey = surveys.get(duplicate.survey_id)
        outcome = "re-survey already made"
    if survey.status is SurveyStatus.SCHEDULED:
        jobs.enqueue(SendSurvey(survey_id=survey.survey_id), 0)

    def note_resurvey(current: FollowUp) -> Optional[FollowUp]:
        if current.resurvey_id == survey.survey_id:
            return None
        event = FollowUpEvent(at=clock.now(), by="closeloop", action="resurvey",
                              note=f"re-survey {survey.survey_id} by {survey.channel.value}")
        return current.model_copy(update={"resurvey_id": survey.survey_id, "version": current.version + 1,
                                          "history": [*current.history, event]})

    _update_followup(followups, followup.followup_id, note_resurvey)
    return outcome


def record_outcome(survey_id: str) -> str:
    """A re-survey's response was counted, changed or withdrawn: the follow-up shows it as it is now.

    Reads the survey afresh, so the last response wins and a replayed job changes nothing.
    """
    followups, surveys = FollowUpRepository(), SurveyRepository()
    for _ in range(_SAVE_ATTEMPTS):
        survey = surveys.get(survey_id)
        if survey is None or survey.followup_id is None:
            return "not a re-survey"
        followup = followups.get(survey.followup_id)
        if followup is None:
            log.error("re-survey %s answered for unknown follow-up %s", survey_id, survey.followup_id)
            return "unknown follow-up"
        score = survey.score
        outcome = {"resurvey_id": survey.survey_id, "resurvey_score": score,
                   "recovered": None if score is None else not scoring.is_detractor(survey.kind, score),
                   "resurvey_resolved": survey.resolved if score is not None else None}
        if all(getattr(followup, name) == value for name, value in outcome.items()):
            return "unchanged"
        event = FollowUpEvent(at=clock.now(), by="customer", action="resurveyed", note=_outcome_note(survey))
        updated = followup.model_copy(update={**outcome, "version": followup.version + 1,
                                              "history": [*followup.history, event]})
        try:
            followups.save(updated, followup.version)
            return "recovered" if updated.recovered else "recorded"
        except ConditionFailed:
            continue  # a lead changed the follow-up meanwhile: read both again
    raise ConditionFailed(f"follow-up of re-survey {survey_id} kept changing")


def _outcome_note(survey: Survey) -> str:
    if survey.score is None:
        return "re-survey response withdrawn (automated link check)"
    verdict = "still a detractor" if scoring.is_detractor(survey.kind, survey.score) else "recovered"
    note = f"re-survey {survey.kind.value.upper()} {survey.score}: {verdict}"
    if survey.resolved is not None:
        note += f"; issue resolved: {'yes' if survey.resolved else 'no'}"
    return note


def _update_followup(followups: FollowUpRepository, followup_id: str,
                     change: Callable[[FollowUp], Optional[FollowUp]]) -> None:
    """Apply `change` (None: nothing to do) with optimistic concurrency, re-reading on a lost race."""
    for _ in range(_SAVE_ATTEMPTS):
        current = followups.get(followup_id)
        updated = change(current) if current is not None else None
        if updated is None:
            return
        try:
            followups.save(updated, current.version)
            return
        except ConditionFailed:
            continue
    raise ConditionFailed(f"follow-up {followup_id} kept changing")


# --- stats ---------------------------------------------------------------------------------

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)


def stats_window(params: Optional[dict], now: Optional[datetime] = None) -> tuple[datetime, datetime]:
    """[from, to) from the query: ISO 8601 datetimes with a zone, or dates (midnight UTC).

    Default: the 30 days up to now. Raises InvalidInput (400, naming the field).
    """
    params, now = params or {}, now or clock.now()
    start_text, end_text = params.get("from"), params.get("to")
    end = instant("to", end_text) if end_text else now
    start = instant("from", start_text) if start_text else end - DEFAULT_WINDOW
    if start >= end:
        raise bad_field("from", f"must be earlier than to ({clock.iso(end)})")
    if end - start > MAX_WINDOW:
        field = "to" if end_text else "from"
        raise bad_field(field, f"the range from..to may span at most {MAX_WINDOW.days} days")
    return start, end


def followup_stats(start: datetime, end: datetime, now: Optional[datetime] = None) -> dict:
    """Counts, medians, overdue and recovery of the follow-ups opened in [start, end)."""
    return summarize(list(FollowUpRepository().opened_between(start, end)), start, end, now or clock.now())


def summarize(followups: list[FollowUp], start: datetime, end: datetime, now: datetime) -> dict:
    by_status = {status.value: 0 for status in FollowUpStatus}
    for followup in followups:
        by_status[followup.status.value] += 1
    resolved = [f for f in followups if f.status is FollowUpStatus.RESOLVED]
    resurveyed = [f for f in resolved if f.resurvey_score is not None]
    recovered = [f for f in resurveyed if f.recovered]
    return {
        "from": clock.iso(start), "to": clock.iso(end), "total": len(followups), "by_status": by_status,
        "median_time_to_first_contact_seconds": _median_seconds(
            (f.first_contact_at - f.opened_at for f in followups if f.first_contact_at is not None)),
        "median_time_to_resolution_seconds": _median_seconds(
            (f.closed_at - f.opened_at for f in resolved if f.closed_at is not None)),
        "overdue": sum(1 for f in followups if f.is_overdue(now)),
        "recovery": {"resolved": len(resolved), "resurveyed": len(resurveyed), "recovered": len(recovered),
                     "rate": round(len(recovered) / len(resurveyed), 4) if resurveyed else None},
    }


def _median_seconds(durations: Iterable[timedelta]) -> Optional[float]:
    seconds = [d.total_seconds() for d in durations]
    return round(statistics.median(seconds), 3) if seconds else None

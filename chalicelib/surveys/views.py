"""Surveys as the admin API shows them: GET /v1/surveys/{id} and the audit trail of its page views."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings
from chalicelib.surveys import scoring
from chalicelib.surveys.model import Survey, SurveyOpen
from chalicelib.surveys.scanners import HONEYPOT


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
        "sent_at": iso_or_none(survey.sent_at), "responded_at": iso_or_none(survey.responded_at),
        "response_updated_at": iso_or_none(survey.response_updated_at),
        "expires_at": clock.iso(survey.expires_at), "failure_reason": survey.failure_reason,
        "suppressed_reason": survey.suppressed_reason,
        # A re-survey after a resolved follow-up: which one. "Was your issue resolved?": whether the
        # page asks it, and the answer (true, false, or null: not answered).
        "followup_id": survey.followup_id, "ask_resolved": survey.asks_resolved(get_settings().ask_resolved),
        "resolved": survey.resolved,
        # Why (chalicelib/why/): the reasons the customer ticked and the themes of the comment (keys).
        "reasons": survey.reasons, "themes": survey.themes,
        # The one reminder; a cancelled interaction's survey is suppressed with reason "cancelled".
        "reminded_at": iso_or_none(survey.reminded_at),
        "cancelled_at": iso_or_none(survey.cancelled_at), "cancelled_by": survey.cancelled_by,
        # The customer's personal data was erased (DELETE /v1/customers/{id}); score and times stay.
        "erased_at": iso_or_none(survey.erased_at),
        # The ticket its result is written back to, and the last write-back that failed, if any.
        "ticket": survey.ticket.model_dump(mode="json") if survey.ticket else None,
        "writeback_error": survey.writeback_error,
    }


def open_view(survey_open: SurveyOpen) -> dict:
    return {"open_id": survey_open.open_id, "at": clock.iso(survey_open.at), "method": survey_open.method,
            "score": None if survey_open.score == HONEYPOT else survey_open.score,
            "honeypot": survey_open.score == HONEYPOT, "user_agent": survey_open.user_agent,
            "verdict": survey_open.verdict.value, "reason": survey_open.reason,
            "confirmed_at": iso_or_none(survey_open.confirmed_at)}


def iso_or_none(value: Optional[datetime]) -> Optional[str]:
    return clock.iso(value) if value else None

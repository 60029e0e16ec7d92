"""Follow-ups as the follow-ups API shows them: listed, in detail with their survey's response."""
from __future__ import annotations

from datetime import datetime

from chalicelib.followups.model import FollowUp, FollowUpDetail, FollowUpQuery, FollowUpView, SurveyResponseView
from chalicelib.followups.owners import names_of
from chalicelib.followups.repository import FollowUpRepository
from chalicelib.platform.validation import decode_cursor, encode_cursor
from chalicelib.surveys import SurveyRepository


def view(followup: FollowUp, at: datetime) -> dict:
    """A follow-up as the API lists it; `overdue` as of `at`."""
    fields = followup.model_dump(include=set(FollowUpView.model_fields) - {"overdue"})
    return FollowUpView(**fields, overdue=followup.is_overdue(at)).model_dump(mode="json")


def detail_view(followup: FollowUp, at: datetime) -> dict:
    """One follow-up with its history, oldest first, and its survey's response as it is now."""
    survey = SurveyRepository().get(followup.survey_id)
    response = SurveyResponseView(survey_id=survey.survey_id, status=survey.public_status(at), score=survey.score,
                                  comment=survey.comment, reasons=survey.reasons, themes=survey.themes,
                                  resolved=survey.resolved, responded_at=survey.responded_at) if survey else None
    fields = followup.model_dump(include=set(FollowUpView.model_fields) - {"overdue"})
    return FollowUpDetail(**fields, overdue=followup.is_overdue(at), history=followup.history,
                          survey=response, writeback_error=survey.writeback_error if survey else None
                          ).model_dump(mode="json")


def list_view(query: FollowUpQuery, at: datetime) -> dict:
    """One page of GET /v1/followups, newest first; `next_cursor` is null on the last page."""
    start = decode_cursor(query.cursor, FollowUpRepository.is_listing_key) if query.cursor else None
    items, next_key = FollowUpRepository().list(
        status=query.status, owner=names_of(query.owner) if query.owner else None, team=query.team,
        overdue_at=at if query.overdue is not None else None, overdue=bool(query.overdue),
        limit=query.limit, start_key=start)
    return {"followups": [view(f, at) for f in items], "next_cursor": encode_cursor(next_key) if next_key else None}

"""The customer's pages: a survey's links (/s/, the honeypot /h/) and the email opt-out (/u/).

Public, protected by the survey's unguessable token. A GET or HEAD of a survey link keeps the
evidence and never counts a response (surveys/responses.py); the landing page confirms its score
by itself once it has been seen for a moment, and its form posts the person's score and comment.
A problem with the link answers as a page (not found, expired, a bad score), in the customer's
language where the survey is known; the landing page's own confirmation answers JSON.
"""
from __future__ import annotations

import re
from typing import Optional

from chalice import Response

import chalicelib.contacts as contacts
import chalicelib.surveys as surveys
import chalicelib.why as why
from chalicelib.platform import edge
from chalicelib.platform.errors import InvalidInput, Problem
from chalicelib.platform.validation import validate

PAGE_FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "application/json"]


def _error_page(problem: Problem) -> Response:
    """A survey link's problem as a page."""
    accept_language = survey_pages.current_request.headers.get("accept-language")
    if isinstance(problem, surveys.SurveyExpired):
        return edge.html(surveys.pages.expired(problem.survey))
    if isinstance(problem, surveys.InvalidScore):
        return edge.html(surveys.pages.bad_score(problem))
    if isinstance(problem, InvalidInput):  # a form we cannot read: the field's error, as the API words it
        first = problem.fields[0] if problem.fields else None
        return edge.html(surveys.pages.bad_form(accept_language, f"{first['field']}: {first['message']}" if first
                                        else problem.message))
    return edge.html(surveys.pages.not_found(accept_language))


survey_pages = edge.Routes(__name__, answer=_error_page)


@survey_pages.route("/s/{token}", methods=["GET", "HEAD"])
def choose_score(token):
    return _show(token, None)


@survey_pages.route("/s/{token}/{score}", methods=["GET", "HEAD"])
def one_click(token, score):
    return _show(token, score)


@survey_pages.route("/h/{token}", methods=["GET", "HEAD"])
def honeypot(token):
    return _show(token, None, honeypot=True)


@survey_pages.route("/s/{token}/{score}", methods=["POST"], answer=edge.json_error)
def confirm_score(token, score):
    """The landing page confirms its score by itself once it has been visible for a moment (JSON)."""
    request = survey_pages.current_request
    form = validate(surveys.ResponseForm, {**edge.json_object(request), "score": _score(score)})
    outcome = surveys.respond(token, form, request.headers.get("user-agent", ""), explicit=False)
    return Response(status_code=200, body={"recorded": outcome.counted,
                                           "score": outcome.survey.score if outcome.counted else None})


@survey_pages.route("/s/{token}", methods=["POST"], content_types=PAGE_FORM_TYPES)
def submit_response(token):
    """The page's form: a score (possibly changed), a comment, reasons and "resolved?", submitted by
    the person. Reasons it cannot take show the same form again, with what the person entered."""
    request = survey_pages.current_request
    form = edge.form_body(request, surveys.ResponseForm)
    try:
        outcome = surveys.respond(token, form, request.headers.get("user-agent", ""), explicit=True)
    except why.ReasonProblem:  # raised before anything is written
        return edge.html(surveys.pages.form_again(surveys.survey_for_token(token), token, form))
    if outcome.counted and form.step == "score":  # a tap on the score-choice page: now the comment and reasons
        return edge.html(surveys.pages.landing(outcome.survey, token, form.open_id or "", outcome.survey.score,
                                               saved=True))
    return edge.html(surveys.pages.thanks(outcome.survey, token, outcome.counted))


def _show(token: str, score_text: Optional[str], honeypot: bool = False) -> Response:
    """GET/HEAD of a survey link: serve the page and keep the evidence; never count a response."""
    request = survey_pages.current_request
    score = surveys.scanners.HONEYPOT if honeypot else _score(score_text) if score_text is not None else None
    view = surveys.view_page(token, score, request.method, request.headers.get("user-agent", ""))
    if request.method == "HEAD" or score == surveys.scanners.HONEYPOT:
        return edge.empty_html()
    if score is None:
        return edge.html(surveys.pages.choose(view.survey, token, view.open_id))
    return edge.html(surveys.pages.landing(view.survey, token, view.open_id, score))


def _score(text: str) -> int:
    """A score in a link's path; any other text names no survey link (404)."""
    # ASCII digits only: str.isdigit() also accepts "²" or "--1", which int() then refuses.
    if re.fullmatch(r"[0-9]{1,3}", text):
        return int(text)
    raise surveys.SurveyNotFound()


# --- email opt-out (RFC 8058; contacts/unsubscribe.py) -------------------------------------------

@survey_pages.route("/u/{token}", methods=["GET", "HEAD"])
def unsubscribe_page(token):
    """A confirmation page with a button: a visit (or a mail scanner's fetch) unsubscribes nobody."""
    survey = _email_survey(token)
    response = edge.html(contacts.unsubscribe.confirmation_page(survey, done=False))
    if survey_pages.current_request.method == "HEAD":
        response.body = ""
    return response


@survey_pages.route("/u/{token}", methods=["POST"], content_types=PAGE_FORM_TYPES)
def unsubscribe_now(token):
    """One-click unsubscribe (a mail client's POST of List-Unsubscribe=One-Click, or the page's
    button): the body is not needed; RFC 8058's field, the page's form or nothing mean the same."""
    return edge.html(contacts.unsubscribe.unsubscribe(_email_survey(token)))


def _email_survey(token: str):
    survey = contacts.unsubscribe.email_survey(token)
    if survey is None:
        raise surveys.SurveyNotFound()
    return survey

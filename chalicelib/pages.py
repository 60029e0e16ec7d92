"""The public survey pages (score choice, one-click landing, thank-you, expired, not found)
and the handling of their requests.

Pages carry a strict Content-Security-Policy (no third-party anything, one inline script by
nonce), never leak the token in a Referer, and are never cached or indexed.
"""
from __future__ import annotations

import re
import secrets
from typing import Optional

from chalice import Response

from chalicelib import edge, i18n, links, scoring, surveys
from chalicelib.config import get_settings
from chalicelib.delivery.content import first_name, translator_for
from chalicelib.models import ResponseForm, Survey
from chalicelib.rendering import render
from chalicelib.scanners import HONEYPOT


def _headers(nonce: str, language: str = i18n.SOURCE_LANGUAGE) -> dict:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Language": language,
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; connect-src 'self'; "
            "form-action 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
        "X-Content-Type-Options": "nosniff",
    }


def html(template: str, status: int = 200, language: str = i18n.SOURCE_LANGUAGE, **context) -> Response:
    """Any HTML page of the app (survey pages, sign-in, dashboard) under the strict headers, with a
    fresh nonce for its inline style and script."""
    nonce = secrets.token_urlsafe(16)
    body = render(template, nonce=nonce, company=get_settings().company_name, **context)
    return Response(status_code=status, body=body, headers=_headers(nonce, language))


def page(template: str, _: i18n.Translator, status: int = 200, **context) -> Response:
    """A page in the language `_` speaks (the survey's customer's, or the browser's)."""
    return html(f"pages/{template}", status, _.language, _=_, lang=_.language, **context)


def survey_page(template: str, survey: Survey, status: int = 200, **context) -> Response:
    return page(template, translator_for(survey, get_settings()), status, **context)


def browser_page(template: str, request, status: int = 200, **context) -> Response:
    """A page with no survey behind it: in the browser's language (Accept-Language)."""
    header = request.headers.get("accept-language") if request is not None else None
    return page(template, i18n.from_accept_language(header, get_settings().default_language), status, **context)


def _scale_page(template: str, survey: Survey, token: str, chosen: Optional[int] = None, **context) -> Response:
    """A page showing the survey's scale, in its customer's language; `chosen` is the score picked."""
    settings = get_settings()
    _ = translator_for(survey, settings)
    low, high = scoring.endpoint_labels(survey.kind, _)
    return page(
        template, _, kind=survey.kind.value,
        question=scoring.question(survey.kind, settings.company_name, _),
        scores=[{"score": s, "label": scoring.score_label(survey.kind, s, _)} for s in scoring.scale(survey.kind)],
        low_label=low, high_label=high, chosen=chosen,
        chosen_label=scoring.score_label(survey.kind, chosen, _) if chosen is not None else None,
        form_url=links.choose_url(survey.base_url, token),
        customer_name=first_name(survey.customer.name),
        agent_name=first_name(survey.agent.name) if survey.agent else None,
        # A re-survey after a resolved follow-up also asks "Was your issue resolved?".
        resurvey=survey.followup_id is not None, resolved=survey.resolved, **context)


def choose(survey: Survey, token: str, open_id: str) -> Response:
    return _scale_page("choose.html", survey, token, open_id=open_id)


def landing(survey: Survey, token: str, open_id: str, score: int) -> Response:
    return _scale_page("landing.html", survey, token, chosen=score, open_id=open_id,
                       confirm_url=links.score_url(survey.base_url, token, score),
                       dwell_ms=get_settings().confirm_dwell_ms, comment=survey.comment or "")


def thanks(survey: Survey, token: str, counted: bool, reason: Optional[str] = None) -> Response:
    return _scale_page("thanks.html", survey, token, chosen=survey.score, counted=counted, score=survey.score,
                       comment=survey.comment)


def expired(survey: Survey) -> Response:
    return survey_page("expired.html", survey, status=410)


def not_found(request) -> Response:
    return browser_page("not_found.html", request, status=404)


def bad_score(error: surveys.InvalidScore) -> Response:
    _ = translator_for(error.survey, get_settings())
    message = _("Scores on this survey go from {low} to {high}.", low=error.low, high=error.high)
    return survey_page("bad_request.html", error.survey, status=400, message=message)


def bad_form(request, message: str) -> Response:
    """A form we cannot read (a forged or truncated post): the field's error, as the API words it."""
    return browser_page("bad_request.html", request, status=400, message=message)


# --- request handling for the page routes --------------------------------------------------

def show(request, token: str, score_text: Optional[str], honeypot: bool = False) -> Response:
    """GET/HEAD of a survey link: serve the page and keep the evidence; never count a response."""
    score = HONEYPOT if honeypot else _parse_score(score_text)
    if score is _NOT_A_SCORE:
        return not_found(request)
    try:
        view = surveys.view_page(token, score, request.method, request.headers.get("user-agent", ""))
    except _SURVEY_ERRORS as error:
        return _error_page(request, error)
    if request.method == "HEAD" or score == HONEYPOT:
        return Response(status_code=200, body="", headers=_headers(secrets.token_urlsafe(8)))
    if score is None:
        return choose(view.survey, token, view.open_id)
    return landing(view.survey, token, view.open_id, score)


def confirm(request, token: str, score_text: str) -> Response:
    """The landing page's own confirmation of its score (JSON)."""
    score = _parse_score(score_text)
    if score is None or score is _NOT_A_SCORE:
        return edge.InputError(404, "not_found", "no such survey link").response()
    try:
        form = edge.validate(ResponseForm, {**edge.json_object(request), "score": score})
        outcome = surveys.respond(token, form, request.headers.get("user-agent", ""), explicit=False)
    except edge.InputError as error:
        return error.response()
    except _SURVEY_ERRORS as error:
        return _error_json(error)
    return Response(status_code=200, body={"recorded": outcome.counted,
                                           "score": outcome.survey.score if outcome.counted else None})


def submit(request, token: str) -> Response:
    """The page's form, submitted by the person: score and comment."""
    try:
        form = edge.form_body(request, ResponseForm)
        outcome = surveys.respond(token, form, request.headers.get("user-agent", ""), explicit=True)
    except edge.InputError as error:
        return bad_form(request, error.fields[0]["field"] + ": " + error.fields[0]["message"] if error.fields
                        else error.message)
    except _SURVEY_ERRORS as error:
        return _error_page(request, error)
    return thanks(outcome.survey, token, outcome.counted)


_NOT_A_SCORE = object()


def _parse_score(text: Optional[str]):
    if text is None:
        return None
    # ASCII digits only: str.isdigit() also accepts "²" or "--1", which int() then refuses.
    if re.fullmatch(r"[0-9]{1,3}", text):
        return int(text)
    return _NOT_A_SCORE


_SURVEY_ERRORS = (surveys.SurveyNotFound, surveys.SurveyExpired, surveys.InvalidScore)


def _error_page(request, error: Exception) -> Response:
    if isinstance(error, surveys.SurveyExpired):
        return expired(error.survey)
    if isinstance(error, surveys.InvalidScore):
        return bad_score(error)
    return not_found(request)


def _error_json(error: Exception) -> Response:
    if isinstance(error, surveys.SurveyExpired):
        return edge.InputError(410, "expired", "this survey has closed").response()
    if isinstance(error, surveys.InvalidScore):
        return edge.InputError(400, "validation_error", str(error), [{"field": "score", "message": str(error)}]).response()
    return edge.InputError(404, "not_found", "no such survey link").response()

